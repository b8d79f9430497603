// Helpers for tests: where the shared test data and our goldens live, and
// reading them. Tests only.
#ifndef STACKHOUSE_BASE_TESTING_TESTING_H_
#define STACKHOUSE_BASE_TESTING_TESTING_H_

#include <string>
#include <vector>

namespace stackhouse::testing {

// ../shared (STACKHOUSE_SHARED_DIR).
std::string SharedDir();
// ../shared/testdata/<name>.
std::string SharedTestdata(const std::string& name);
// <repo>/testdata/<name> (STACKHOUSE_TESTDATA_DIR).
std::string OwnTestdata(const std::string& name);
// build/bin/<name> (STACKHOUSE_BIN_DIR).
std::string BinPath(const std::string& name);
// Reads a file or aborts the test binary with a message.
std::string ReadOrDie(const std::string& path);
// A fresh empty directory under $TMPDIR, removed by the OS eventually.
std::string MakeTempDir();

struct CommandResult {
  int exit_code = -1;  // -1 if killed by a signal
  std::string out;
  std::string err;
};
// Runs argv[0] with arguments, feeding `stdin_data`, and captures output.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_data = "");

}  // namespace stackhouse::testing

#endif  // STACKHOUSE_BASE_TESTING_TESTING_H_
