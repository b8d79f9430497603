// Reads the ground truth in the sidecar `.txt` files of ../shared/testdata:
// per sample type totals ("total samples/count = 514") and the independent
// decoder's top functions by flat value ("top 5 by flat cpu/nanoseconds:").
// Tests only.
#ifndef STACKHOUSE_PROFILE_TESTING_GROUND_TRUTH_H_
#define STACKHOUSE_PROFILE_TESTING_GROUND_TRUTH_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace stackhouse::profile::testing {

struct GroundTruth {
  // "samples/count" -> total.
  std::map<std::string, int64_t> totals;
  // "samples/count" -> [(flat value, function name)], most first.
  std::map<std::string, std::vector<std::pair<int64_t, std::string>>> top_flat;
};

GroundTruth ReadGroundTruth(const std::string& sidecar_path);

// The pprof files of ../shared/testdata that have ground truth.
std::vector<std::string> PprofTestdataNames();

}  // namespace stackhouse::profile::testing

#endif  // STACKHOUSE_PROFILE_TESTING_GROUND_TRUTH_H_
