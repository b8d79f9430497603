// scripts/bench otlp, part: how fast a JFR recording is parsed into profiles
// (../shared/testdata/java.jfr, repeated). Prints one JSON line.
//
//   jfr_benchmark FILE [SECONDS]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "base/file.h"
#include "profile/jfr.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: jfr_benchmark FILE [SECONDS]\n");
    return 2;
  }
  auto data = stackhouse::ReadFile(argv[1]);
  if (!data.ok()) {
    std::fprintf(stderr, "%s\n", data.status().ToString().c_str());
    return 1;
  }
  double seconds = argc > 2 ? std::atof(argv[2]) : 5;
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  size_t bytes = 0, runs = 0, samples = 0;
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    auto r = stackhouse::profile::ParseJfr(*data);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    for (const auto& p : r->profiles) samples += p.profile.samples.size();
    bytes += data->size();
    ++runs;
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"jfr_parse_mb_s\":%.1f,\"runs\":%zu,\"file_bytes\":%zu,\"samples_per_run\":%zu}\n",
              bytes / secs / 1e6, runs, data->size(), runs ? samples / runs : 0);
  return 0;
}
