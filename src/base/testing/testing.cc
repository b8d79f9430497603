#include "base/testing/testing.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace stackhouse::testing {

static std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string SharedDir() { return Env("STACKHOUSE_SHARED_DIR", "../shared"); }
std::string SharedTestdata(const std::string& name) { return SharedDir() + "/testdata/" + name; }
std::string OwnTestdata(const std::string& name) {
  return Env("STACKHOUSE_TESTDATA_DIR", "testdata") + "/" + name;
}
std::string BinPath(const std::string& name) {
  return Env("STACKHOUSE_BIN_DIR", "build/bin") + "/" + name;
}

std::string ReadOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read test file %s\n", path.c_str());
    std::abort();
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string MakeTempDir() {
  std::string tmpl = Env("TMPDIR", "/tmp") + "/stackhouse_test_XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return tmpl;
}

}  // namespace stackhouse::testing
