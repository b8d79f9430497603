#include "profile/flame_truncate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "profile/flame_tree.h"
#include "profile/flamebearer.h"

namespace stackhouse::profile {
namespace {

constexpr uint32_t kNone = FlameTree::kNone;

void Add(FlameTree* tree, const std::vector<std::string>& stack, int64_t value) {
  std::vector<uint32_t> ids;
  for (const std::string& s : stack) ids.push_back(tree->NameId(s));
  tree->AddStack(ids, value);
}

// Deterministic pseudo-random numbers (splitmix64), the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t s_;
};

// Root-first paths of all nodes, names joined by '/'.
std::vector<std::string> Paths(const FlameTree& t) {
  std::vector<std::string> paths(t.nodes().size());
  for (uint32_t i = 1; i < t.nodes().size(); ++i) {
    paths[i] = paths[t.node(i).parent] + "/" + t.node_name(i);
  }
  return paths;
}

std::vector<uint32_t> Children(const FlameTree& t, uint32_t i) {
  std::vector<uint32_t> out;
  for (uint32_t c = t.node(i).first_child; c != kNone; c = t.node(c).next_sibling) out.push_back(c);
  return out;
}

// Every node's total is its self plus its children's totals.
void ExpectConsistent(const FlameTree& t) {
  std::vector<int64_t> sum(t.nodes().size(), 0);
  for (uint32_t i = 0; i < t.nodes().size(); ++i) sum[i] += t.node(i).self;
  for (uint32_t i = t.nodes().size(); i-- > 1;) sum[t.node(i).parent] += sum[i];
  for (uint32_t i = 0; i < t.nodes().size(); ++i) {
    ASSERT_EQ(sum[i], t.node(i).total) << "node " << i;
  }
}

// Checks everything TruncateFlameTree promises about `out`, the truncation
// of `in` (whose paths are unique) at max_nodes.
void CheckTruncation(const FlameTree& in, const FlameTree& out, size_t max_nodes,
                     const TruncationReport& r) {
  const size_t n_in = in.nodes().size(), n_out = out.nodes().size();
  EXPECT_EQ(out.total(), in.total());
  ExpectConsistent(out);
  EXPECT_EQ(r.kept_nodes + r.folded_nodes, n_in);
  EXPECT_EQ(r.kept_nodes + r.other_nodes, n_out);
  if (max_nodes == 0 || n_in <= max_nodes) {
    EXPECT_EQ(n_out, n_in);
    EXPECT_EQ(r.folded_nodes, 0u);
    return;
  }
  const size_t limit = std::max<size_t>(max_nodes, 2);
  EXPECT_LE(n_out, limit);
  EXPECT_GE(n_out, limit - 1) << "budget left unused";

  std::vector<std::string> in_paths = Paths(in), out_paths = Paths(out);
  std::map<std::string, uint32_t> in_by_path;
  for (uint32_t i = 0; i < n_in; ++i) in_by_path[in_paths[i]] = i;
  // out node -> in node, kNone for the synthetic "other" nodes (the last
  // other_nodes nodes).
  std::vector<uint32_t> source(n_out, kNone);
  int64_t folded_value = 0;
  for (uint32_t i = 0; i < n_out; ++i) {
    if (i >= r.kept_nodes) {
      EXPECT_EQ(out.node_name(i), "other");
      EXPECT_EQ(out.node(i).first_child, kNone);
      EXPECT_EQ(out.node(i).self, out.node(i).total);
      EXPECT_LT(out.node(i).parent, r.kept_nodes);
      folded_value += out.node(i).total;
      continue;
    }
    auto it = in_by_path.find(out_paths[i]);
    ASSERT_NE(it, in_by_path.end()) << out_paths[i];
    source[i] = it->second;
    EXPECT_EQ(out.node(i).total, in.node(it->second).total) << out_paths[i];
    EXPECT_EQ(out.node(i).self, in.node(it->second).self) << out_paths[i];
  }
  EXPECT_EQ(folded_value, r.folded_value);
  // Per kept parent: one "other" iff children were dropped, holding their sum.
  for (uint32_t i = 0; i < r.kept_nodes; ++i) {
    std::vector<uint32_t> kids = Children(out, i);
    int64_t dropped = 0;
    size_t kept_kids = 0, others = 0;
    int64_t other_total = 0;
    for (uint32_t c : kids) {
      if (source[c] == kNone) {
        ++others;
        other_total = out.node(c).total;
      } else {
        ++kept_kids;
        EXPECT_EQ(in.node(source[c]).parent, source[i]);
      }
    }
    std::vector<uint32_t> in_kids = Children(in, source[i]);
    size_t dropped_count = 0;
    for (uint32_t c : in_kids) {
      bool kept = std::any_of(kids.begin(), kids.end(), [&](uint32_t k) { return source[k] == c; });
      if (!kept) {
        dropped += in.node(c).total;
        ++dropped_count;
      }
    }
    EXPECT_EQ(kept_kids + dropped_count, in_kids.size());
    EXPECT_EQ(others, dropped_count > 0 ? 1u : 0u) << out_paths[i];
    EXPECT_EQ(other_total, dropped) << out_paths[i];
  }
}

// A readable form of a small tree: "path=total/self" per node, in path order.
std::string Describe(const FlameTree& t) {
  std::vector<std::string> paths = Paths(t), lines;
  for (uint32_t i = 0; i < t.nodes().size(); ++i) {
    lines.push_back((i == 0 ? "" : paths[i]) + "=" + std::to_string(t.node(i).total) + "/" +
                    std::to_string(t.node(i).self));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += l + " ";
  return out;
}

TEST(FlameTruncateTest, NoTruncationWhenItFits) {
  FlameTree tree;
  Add(&tree, {"main", "foo"}, 3);
  Add(&tree, {"main", "bar"}, 2);
  Add(&tree, {"init"}, 1);
  tree.NameId("unused");
  for (size_t max : {size_t{0}, size_t{5}, size_t{6}, size_t{1000}}) {
    TruncationReport r;
    FlameTree out = TruncateFlameTree(tree, max, &r);
    EXPECT_EQ(r.kept_nodes, 5u);
    EXPECT_EQ(r.folded_nodes, 0u);
    EXPECT_EQ(r.folded_value, 0);
    EXPECT_EQ(r.other_nodes, 0u);
    ASSERT_EQ(out.nodes().size(), tree.nodes().size());
    for (uint32_t i = 0; i < tree.nodes().size(); ++i) {
      EXPECT_EQ(out.node_name(i), tree.node_name(i));
      EXPECT_EQ(out.node(i).parent, tree.node(i).parent);
      EXPECT_EQ(out.node(i).total, tree.node(i).total);
      EXPECT_EQ(out.node(i).self, tree.node(i).self);
    }
    EXPECT_EQ(WriteFlamebearer(out, {}), WriteFlamebearer(tree, {}));
  }
}

TEST(FlameTruncateTest, HeavyDeepBeatsLightShallow) {
  // x (60) has two children of 30; y (40) is a chain of 40s four deep.
  FlameTree tree;
  Add(&tree, {"x", "x1"}, 30);
  Add(&tree, {"x", "x2"}, 30);
  Add(&tree, {"y", "y1", "y2", "y3"}, 40);
  TruncationReport r;
  FlameTree out = TruncateFlameTree(tree, 6, &r);
  CheckTruncation(tree, out, 6, r);
  // y1 (40, depth 2) is kept before x1 and x2 (30, depth 2); y2 no longer
  // fits with the "other" it needs.
  EXPECT_EQ(Describe(out), "/x/other=60/60 /x=60/0 /y/y1/other=40/40 /y/y1=40/0 /y=40/0 =100/0 ");
  EXPECT_EQ(r.kept_nodes, 4u);
  EXPECT_EQ(r.folded_nodes, 4u);
  EXPECT_EQ(r.folded_value, 100);
  EXPECT_EQ(r.other_nodes, 2u);

  // One more node: y2 and its only child y3 (which replaces y2's "other").
  out = TruncateFlameTree(tree, 7, &r);
  CheckTruncation(tree, out, 7, r);
  EXPECT_EQ(Describe(out),
            "/x/other=60/60 /x=60/0 /y/y1/y2/y3=40/40 /y/y1/y2=40/0 /y/y1=40/0 /y=40/0 =100/0 ");

  // The smallest cut: the root and one "other" (max_nodes 1 acts as 2).
  for (size_t max : {size_t{1}, size_t{2}}) {
    out = TruncateFlameTree(tree, max, &r);
    CheckTruncation(tree, out, max, r);
    EXPECT_EQ(Describe(out), "/other=100/100 =100/0 ");
  }
}

TEST(FlameTruncateTest, PerParentOtherAndExistingOtherKeptApart) {
  FlameTree tree;
  Add(&tree, {"a"}, 10);
  Add(&tree, {"other"}, 5);  // a real frame called "other"
  Add(&tree, {"b"}, 1);
  Add(&tree, {"c"}, 1);
  TruncationReport r;
  FlameTree out = TruncateFlameTree(tree, 4, &r);
  ASSERT_EQ(out.nodes().size(), 4u);
  EXPECT_EQ(r.kept_nodes, 3u);
  EXPECT_EQ(r.other_nodes, 1u);
  EXPECT_EQ(r.folded_value, 2);
  // Node 2 is the real "other" (kept), node 3 the synthetic one.
  EXPECT_EQ(out.node_name(2), "other");
  EXPECT_EQ(out.node(2).total, 5);
  EXPECT_EQ(out.node_name(3), "other");
  EXPECT_EQ(out.node(3).total, 2);
  EXPECT_EQ(out.node(2).parent, 0u);
  EXPECT_EQ(out.node(3).parent, 0u);
  EXPECT_EQ(out.total(), 17);
  ExpectConsistent(out);
}

TEST(FlameTruncateTest, TiesAreBrokenByNameNotBuildOrder) {
  FlameTree tree;
  for (const char* name : {"d", "c", "b", "a"}) Add(&tree, {name}, 1);
  FlameTree out = TruncateFlameTree(tree, 3);
  EXPECT_EQ(Describe(out), "/a=1/1 /other=3/3 =4/0 ");

  // Same totals and names under different parents: x and y tie (x wins by
  // name), so x/f is kept before y/f, whatever the build order.
  auto build = [](bool reverse) {
    FlameTree t;
    std::vector<std::pair<std::vector<std::string>, int64_t>> stacks = {
        {{"x", "f"}, 5}, {{"y", "f"}, 5}, {{"x", "g", "h"}, 1}, {{"y", "g", "h"}, 1}};
    if (reverse) std::reverse(stacks.begin(), stacks.end());
    for (const auto& [s, v] : stacks) Add(&t, s, v);
    return t;
  };
  FlameTree a = TruncateFlameTree(build(false), 6);
  FlameTree b = TruncateFlameTree(build(true), 6);
  EXPECT_EQ(Describe(a), "/x/f=5/5 /x/other=1/1 /x=6/0 /y/other=6/6 /y=6/0 =12/0 ");
  EXPECT_EQ(Describe(a), Describe(b));
  EXPECT_EQ(WriteFlamebearer(a, {}), WriteFlamebearer(b, {}));
}

TEST(FlameTruncateTest, RandomTreesAllBudgets) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    Rng rng(seed);
    FlameTree tree;
    std::vector<std::pair<std::vector<std::string>, int64_t>> stacks;
    const int num_stacks = 5 + static_cast<int>(rng.Below(60));
    for (int s = 0; s < num_stacks; ++s) {
      std::vector<std::string> stack;
      const int depth = 1 + static_cast<int>(rng.Below(7));
      for (int d = 0; d < depth; ++d) stack.push_back(std::string(1, 'a' + rng.Below(4)));
      // Small values make many ties.
      stacks.push_back({stack, 1 + static_cast<int64_t>(rng.Below(seed % 2 ? 4 : 1000))});
    }
    for (const auto& [s, v] : stacks) Add(&tree, s, v);
    FlameTree reversed;
    for (auto it = stacks.rbegin(); it != stacks.rend(); ++it)
      Add(&reversed, it->first, it->second);

    const size_t n = tree.nodes().size();
    for (size_t max = 0; max <= n + 1; ++max) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " max " + std::to_string(max));
      TruncationReport r;
      FlameTree out = TruncateFlameTree(tree, max, &r);
      CheckTruncation(tree, out, max, r);
      // Deterministic, and independent of the build order.
      EXPECT_EQ(Describe(out), Describe(TruncateFlameTree(tree, max)));
      EXPECT_EQ(Describe(out), Describe(TruncateFlameTree(reversed, max)));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(FlameTruncateTest, DeepChainDoesNotRecurse) {
  FlameTree tree;
  std::vector<uint32_t> stack;
  for (int i = 0; i < 200000; ++i) stack.push_back(tree.NameId(i % 2 ? "a" : "b"));
  tree.AddStack(stack, 7);
  ASSERT_EQ(tree.nodes().size(), 200001u);

  TruncationReport r;
  FlameTree out = TruncateFlameTree(tree, 8192, &r);
  ASSERT_EQ(out.nodes().size(), 8192u);
  EXPECT_EQ(r.kept_nodes, 8191u);  // the root and 8190 frames
  EXPECT_EQ(r.folded_nodes, 200001u - 8191u);
  EXPECT_EQ(r.folded_value, 7);
  EXPECT_EQ(r.other_nodes, 1u);
  EXPECT_EQ(out.MaxDepth(), 8191u);
  for (const FlameTree::Node& n : out.nodes()) EXPECT_EQ(n.total, 7);
  EXPECT_EQ(out.node_name(8191), "other");
  EXPECT_EQ(out.node(8191).self, 7);
  ExpectConsistent(out);

  out = TruncateFlameTree(tree, 150000, &r);
  EXPECT_EQ(out.nodes().size(), 150000u);
  EXPECT_EQ(out.MaxDepth(), 149999u);
  EXPECT_EQ(out.total(), 7);

  out = TruncateFlameTree(tree, 200001, &r);
  EXPECT_EQ(out.nodes().size(), 200001u);
  EXPECT_EQ(r.folded_nodes, 0u);
}

// A tree of about `n` nodes shaped like a big service profile: bushy near
// the root, long chains below, heavy-tailed self values, 50k names.
FlameTree BigTree(size_t n, uint64_t seed) {
  Rng rng(seed);
  FlameTree tree;
  tree.Reserve(n);
  std::vector<uint32_t> names;
  for (int i = 0; i < 50000; ++i) names.push_back(tree.NameId("fn" + std::to_string(i)));
  for (size_t i = 1; i < n; ++i) {
    uint32_t parent = rng.Below(2)
                          ? static_cast<uint32_t>(rng.Below(i))
                          : static_cast<uint32_t>(i - 1 - rng.Below(std::min<size_t>(i, 16)));
    uint32_t node = tree.AppendChild(parent, names[rng.Below(names.size())]);
    uint64_t r = rng.Next();
    tree.AddSelf(node,
                 r % 1000 == 0 ? static_cast<int64_t>(r % 1000000) : static_cast<int64_t>(r % 10));
  }
  tree.FinishTotals();
  return tree;
}

// The worst case for the heap: the root has all the other nodes as children.
FlameTree FlatTree(size_t n) {
  FlameTree tree;
  tree.Reserve(n);
  for (size_t i = 1; i < n; ++i) {
    tree.AddSelf(tree.AppendChild(0, tree.NameId("fn" + std::to_string(i))), 1 + i % 97);
  }
  tree.FinishTotals();
  return tree;
}

// Correctness on big trees (timing belongs in benchmarks, not tests).
void CheckTruncation(const FlameTree& tree) {
  for (size_t max : {size_t{8192}, size_t{100000}}) {
    TruncationReport r;
    FlameTree out = TruncateFlameTree(tree, max, &r);
    EXPECT_LE(out.nodes().size(), max);
    EXPECT_GE(out.nodes().size(), max - 1);
    EXPECT_EQ(out.total(), tree.total());
    EXPECT_EQ(r.kept_nodes + r.folded_nodes, tree.nodes().size());
    ExpectConsistent(out);
  }
}

TEST(FlameTruncateTest, MillionNodeTrees) {
  FlameTree tree = BigTree(1000000, 42);
  ASSERT_EQ(tree.nodes().size(), 1000000u);
  CheckTruncation(tree);
  CheckTruncation(FlatTree(1000000));

  // The diff writer on two such trees (merge, truncation by share, JSON).
  FlameTree other = BigTree(1000000, 43);
  for (size_t max : {size_t{8192}, size_t{100000}}) {
    TruncationReport r;
    std::string json = WriteFlamebearerDiff(tree, other, {}, max, &r);
    EXPECT_LE(r.kept_nodes + r.other_nodes, max);
    EXPECT_GE(r.kept_nodes + r.other_nodes, max - 1);
    EXPECT_NE(json.find("\"format\":\"double\""), std::string::npos);
  }
}

}  // namespace
}  // namespace stackhouse::profile
