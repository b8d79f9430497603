#include "tsdb/sample_codec.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace stackhouse::tsdb {
namespace {

// SortAndMerge against a map: values summed per node, zero sums dropped,
// nodes ascending; for few values, for many values over few nodes (summed
// in an array) and for many values over sparse nodes (sorted).
TEST(SortAndMergeTest, SumsPerNodeInNodeOrderDroppingZeros) {
  std::mt19937 rng(7);
  struct Case {
    size_t values;
    uint32_t nodes;
  };
  for (Case c : {Case{0, 1}, Case{5, 3}, Case{300, 50}, Case{5000, 9000}, Case{5000, 4'000'000}}) {
    std::vector<NodeValue> v;
    std::map<uint32_t, int64_t> want;
    for (size_t i = 0; i < c.values; ++i) {
      NodeValue nv{static_cast<uint32_t>(rng() % c.nodes), static_cast<int64_t>(rng() % 7) - 3};
      v.push_back(nv);
      want[nv.node] += nv.value;
    }
    SortAndMerge(&v);
    std::vector<std::pair<uint32_t, int64_t>> got, expected;
    for (const NodeValue& nv : v) got.push_back({nv.node, nv.value});
    for (const auto& [node, value] : want) {
      if (value != 0) expected.push_back({node, value});
    }
    EXPECT_EQ(got, expected) << c.values << " values over " << c.nodes << " nodes";
  }
}

}  // namespace
}  // namespace stackhouse::tsdb
