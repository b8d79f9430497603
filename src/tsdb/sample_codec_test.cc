#include "tsdb/sample_codec.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace stackhouse::tsdb {
namespace {

// SortAndMerge against a map: values summed per node, zero sums dropped,
// nodes ascending; for few values (a comparison sort), for many values over
// few nodes (summed in an array) and for many values over sparse nodes (a
// radix sort).
TEST(SortAndMergeTest, SumsPerNodeInNodeOrderDroppingZeros) {
  std::mt19937 rng(7);
  struct Case {
    size_t values;
    uint32_t nodes;
  };
  // (100 over 70 nodes: sorted by bytes, the high ones all 0 and skipped;
  // 3000 over 4 G: every byte.)
  for (Case c : {Case{0, 1}, Case{5, 3}, Case{100, 70}, Case{300, 50}, Case{5000, 9000},
                 Case{5000, 4'000'000}, Case{3000, 4'000'000'000u}}) {
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

// NodeSums against a map, for a few touched nodes of many (sorted) and most
// of them (scanned), with sums that return to 0 and leave it again.
TEST(NodeSumsTest, NonZeroSumsInNodeOrderWhateverTheShare) {
  std::mt19937 rng(11);
  NodeSums sums;
  for (uint32_t touched : {3u, 900u}) {
    const uint32_t nodes = 1000;
    sums.Reset(nodes);
    std::map<uint32_t, int64_t> want;
    std::vector<NodeValue> batch;
    for (int round = 0; round < 4; ++round) {
      batch.clear();
      for (uint32_t i = 0; i < touched; ++i) {
        NodeValue nv{static_cast<uint32_t>(rng() % nodes), static_cast<int64_t>(rng() % 5) - 2};
        batch.push_back(nv);
        want[nv.node] += nv.value;
      }
      sums.Add(batch);
    }
    std::vector<NodeValue> got;
    sums.Values(&got);
    std::vector<std::pair<uint32_t, int64_t>> g, w;
    for (const NodeValue& nv : got) g.push_back({nv.node, nv.value});
    for (const auto& [node, value] : want) {
      if (value != 0) w.push_back({node, value});
    }
    EXPECT_EQ(g, w) << touched << " values per round";
  }
}

}  // namespace
}  // namespace stackhouse::tsdb
