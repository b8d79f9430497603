// A deterministic generator of realistic CPU profiles for benchmarks: many
// services, a profile every 10 s each, values jittered, and a stack set
// that changes slowly. Function names are seeded from the real profiles in
// ../shared/testdata (Go runtime and std, Node, C++ and C programs) and
// extended with synthetic packages; stacks are random walks over a call
// graph with Zipf-popular callees, so popular paths share prefixes, as in
// real programs.
#ifndef STACKHOUSE_BENCH_PROFILE_GEN_H_
#define STACKHOUSE_BENCH_PROFILE_GEN_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "profile/profile.h"

namespace stackhouse::bench {

struct GenOptions {
  int functions = 2000;         // per service
  int live_stacks = 3000;       // popular stacks at any time
  int min_depth = 20, max_depth = 39;
  int ticks_per_profile = 1100; // ~500 distinct samples per profile
  int drift_every = 12;         // profiles between replacing one stack (1%/h at 10 s)
  uint64_t seed = 1;
};

// The options of service number `s` in the ingest benchmark's mix: busier
// services have more functions and distinct stacks (gzipped pprof of ~5 to
// ~20 KB).
GenOptions IngestServiceOptions(int s);

// Function names from the profiles in `testdata_dir` (pprof, folded, perf
// script files).
std::vector<std::string> TestdataFunctionNames(const std::string& testdata_dir);

class ServiceGenerator {
 public:
  ServiceGenerator(std::string service, const std::vector<std::string>& seed_names,
                   const GenOptions& options);

  const std::string& service() const { return service_; }
  // The next profile (10 s of CPU samples at 100 Hz), at `time_nanos`.
  profile::Profile Next(int64_t time_nanos);
  // One profile holding `n` distinct stacks (each with a small value).
  profile::Profile UniqueStacks(size_t n, int64_t time_nanos);

 private:
  std::vector<uint32_t> RandomStack();
  profile::Profile Template() const;

  std::string service_;
  GenOptions opt_;
  std::mt19937_64 rng_;
  profile::Profile symbols_;                  // strings, functions, one location per function
  std::vector<std::vector<uint32_t>> callees_;  // call graph over locations
  std::vector<uint32_t> roots_;
  std::vector<std::vector<uint32_t>> stacks_;   // leaf first
  std::vector<double> cumulative_;              // Zipf weights, cumulative
  uint64_t generated_ = 0;
};

}  // namespace stackhouse::bench

#endif  // STACKHOUSE_BENCH_PROFILE_GEN_H_
