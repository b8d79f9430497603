// A small command-line flag parser for the stackhouse subcommands:
// --name value, --name=value, short aliases (-o value), boolean switches, and
// positional arguments. Unknown flags are errors. Not thread-safe.
#ifndef STACKHOUSE_CLI_FLAGS_H_
#define STACKHOUSE_CLI_FLAGS_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace stackhouse::cli {

class Flags {
 public:
  // Declares a flag that takes a value. `aliases` are other spellings
  // ("-o"). `help` is shown by Usage().
  void Value(const std::string& name, const std::string& default_value, const std::string& help,
             std::vector<std::string> aliases = {});
  // Declares a boolean switch.
  void Switch(const std::string& name, const std::string& help,
              std::vector<std::string> aliases = {});

  // Parses argv[first..argc). "-" alone is a positional argument.
  Status Parse(int argc, char** argv, int first);

  const std::string& Get(const std::string& name) const;
  bool IsSet(const std::string& name) const;  // given on the command line
  bool On(const std::string& name) const;     // a switch that was given
  const std::vector<std::string>& positional() const { return positional_; }
  bool help() const { return help_; }

  // The option list for --help.
  std::string Usage() const;

 private:
  struct Def {
    std::string name;
    bool takes_value;
    std::string default_value;
    std::string help;
    std::vector<std::string> aliases;
  };
  const Def* Find(const std::string& spelling) const;

  std::vector<Def> defs_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

}  // namespace stackhouse::cli

#endif  // STACKHOUSE_CLI_FLAGS_H_
