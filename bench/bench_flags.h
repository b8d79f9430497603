// `--name value` command-line flags of the benchmark programs.
#ifndef STACKHOUSE_BENCH_BENCH_FLAGS_H_
#define STACKHOUSE_BENCH_BENCH_FLAGS_H_

#include <cstring>
#include <string>

namespace stackhouse::bench {

// The value after `name` in argv, or `def`.
inline std::string Flag(int argc, char** argv, const char* name, const char* def) {
  for (int i = 0; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return def;
}

}  // namespace stackhouse::bench

#endif  // STACKHOUSE_BENCH_BENCH_FLAGS_H_
