#include "cli/flags.h"

#include "base/strings.h"

namespace stackhouse::cli {

void Flags::Value(const std::string& name, const std::string& default_value,
                  const std::string& help, std::vector<std::string> aliases) {
  defs_.push_back({name, true, default_value, help, std::move(aliases)});
}

void Flags::Switch(const std::string& name, const std::string& help,
                   std::vector<std::string> aliases) {
  defs_.push_back({name, false, "", help, std::move(aliases)});
}

const Flags::Def* Flags::Find(const std::string& spelling) const {
  for (const Def& d : defs_) {
    if (spelling == "--" + d.name) return &d;
    for (const std::string& a : d.aliases) {
      if (spelling == a) return &d;
    }
  }
  return nullptr;
}

Status Flags::Parse(int argc, char** argv, int first) {
  bool only_positional = false;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (only_positional || arg == "-" || arg.empty() || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    std::string value;
    bool has_value = false;
    size_t eq = arg.find('=');
    if (arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const Def* d = Find(arg);
    if (d == nullptr) return InvalidArgumentError(StrCat("unknown flag ", arg));
    if (!d->takes_value) {
      if (has_value) return InvalidArgumentError(StrCat("flag ", arg, " takes no value"));
      values_[d->name] = "true";
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) return InvalidArgumentError(StrCat("flag ", arg, " needs a value"));
      value = argv[++i];
    }
    values_[d->name] = value;
  }
  return OkStatus();
}

const std::string& Flags::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second;
  for (const Def& d : defs_) {
    if (d.name == name) return d.default_value;
  }
  static const std::string kEmpty;
  return kEmpty;
}

bool Flags::IsSet(const std::string& name) const { return values_.count(name) > 0; }
bool Flags::On(const std::string& name) const { return IsSet(name) && Get(name) == "true"; }

std::string Flags::Usage() const {
  std::string out;
  for (const Def& d : defs_) {
    std::string spelling = "  --" + d.name;
    for (const std::string& a : d.aliases) spelling += ", " + a;
    if (d.takes_value) spelling += " VALUE";
    out += spelling;
    if (spelling.size() < 28) {
      out.append(28 - spelling.size(), ' ');
    } else {
      out += "\n" + std::string(28, ' ');
    }
    out += d.help;
    if (d.takes_value && !d.default_value.empty()) out += " (default " + d.default_value + ")";
    out += '\n';
  }
  out += "  --help, -h                Show this help\n";
  return out;
}

}  // namespace stackhouse::cli
