// Truncation of flame graphs to a node budget that keeps their shape.
//
// Pyroscope cuts a flame graph at maxNodes by a global value threshold and
// folds everything below it into "other" nodes; the user complaint (a big
// "other" that hides who is behind it) is about not seeing where the detail
// went. TruncateFlameTree keeps the heaviest nodes (a node only with its
// parent) and folds, under every kept parent that lost children, exactly the
// dropped children into one child named "other". Every kept node keeps its
// total and self, so the picture keeps its proportions, and each "other"
// says how much was cut at that place.
//
// Pure functions; thread-safe. Iterative (trees can be 100k+ deep).
#ifndef STACKHOUSE_PROFILE_FLAME_TRUNCATE_H_
#define STACKHOUSE_PROFILE_FLAME_TRUNCATE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "profile/flame_tree.h"

namespace stackhouse::profile {

// What a truncation did.
struct TruncationReport {
  size_t kept_nodes = 0;     // input nodes kept, the root included
  size_t folded_nodes = 0;   // input nodes folded into "other" nodes
  int64_t folded_value = 0;  // sum of the "other" nodes' totals
  size_t other_nodes = 0;    // "other" nodes added
};

// The name of the nodes that stand for folded children (as in Pyroscope).
inline constexpr char kOtherName[] = "other";

// Returns a tree with at most max_nodes nodes, the root and the "other" nodes
// included (max_nodes 0 = no limit; the smallest cut tree is the root and one
// "other", so max_nodes 1 acts as 2). When the tree has more nodes than that,
// the result has max_nodes or max_nodes - 1 nodes.
//
// Nodes are kept heaviest first by total (ties: by name bytewise, then by the
// order in which their parents were kept, so the result does not depend on
// the order the tree was built in), a node only if its parent is kept and
// only if the budget still holds the "other" nodes the cut needs. Under every
// kept node that lost children, one new child named "other" has as total and
// self the sum of the dropped children's totals. A node of the input already
// named "other" is kept apart from the synthetic one (two sibling nodes with
// the same name; Child() on the result is then ambiguous for "other").
//
// The result's nodes are in keep order (root first, parents before
// children), then the "other" nodes. When nothing needs cutting the tree is
// returned unchanged (a copy). O(n + k log n) for k candidates looked at.
FlameTree TruncateFlameTree(const FlameTree& tree, size_t max_nodes,
                            TruncationReport* report = nullptr);

namespace truncate_internal {

// The kept set of a truncation, for tree types other than FlameTree (the
// diff writer uses it). Node 0 is the root.
struct KeptSet {
  struct Entry {
    uint32_t node;    // input node
    uint32_t parent;  // index of the parent's entry (0 for the root itself)
  };
  std::vector<Entry> entries;              // root first; parents before children
  std::vector<uint32_t> dropped_children;  // per entry: children not kept
  std::vector<uint8_t> kept;               // per input node: 1 if kept (2: looked at and folded; 0)
  size_t other_nodes = 0;                  // entries with dropped children
};

// Chooses the kept set as TruncateFlameTree documents it. for_each_child(i,
// fn) calls fn(child) for each child of node i; weight(i) is the node's
// weight (any totally ordered type, heavier first); compare_names(a, b) is
// < 0, 0 or > 0 as a's name sorts before, like or after b's. Requires
// num_nodes > max(max_nodes, 2).
template <typename ForEachChild, typename Weight, typename CompareNames>
KeptSet ChooseKept(size_t num_nodes, size_t max_nodes, ForEachChild&& for_each_child,
                   Weight&& weight, CompareNames&& compare_names) {
  max_nodes = std::max<size_t>(max_nodes, 2);
  using W = decltype(weight(0u));
  struct Candidate {
    W weight;  // held here so that heap operations do not touch the tree
    uint32_t node;
    uint32_t parent;  // entry index of the parent
  };
  // Heap order: the top is the candidate to keep first.
  auto later = [&](const Candidate& a, const Candidate& b) {
    if (a.weight != b.weight) return a.weight < b.weight;
    int c = compare_names(a.node, b.node);
    if (c != 0) return c > 0;
    if (a.parent != b.parent) return a.parent > b.parent;
    return a.node > b.node;
  };
  enum : uint8_t { kUndecided = 0, kKept = 1, kFolded = 2 };

  KeptSet out;
  out.kept.assign(num_nodes, kUndecided);
  std::vector<Candidate> heap;
  std::vector<uint32_t> kids;
  auto keep = [&](uint32_t node, uint32_t parent) {
    const uint32_t entry = static_cast<uint32_t>(out.entries.size());
    out.entries.push_back({node, parent});
    out.kept[node] = kKept;
    out.dropped_children.push_back(static_cast<uint32_t>(kids.size()));
    const bool rebuild = kids.size() > heap.size();  // then make_heap is cheaper
    for (uint32_t k : kids) {
      heap.push_back({weight(k), k, entry});
      if (!rebuild) std::push_heap(heap.begin(), heap.end(), later);
    }
    if (rebuild) std::make_heap(heap.begin(), heap.end(), later);
  };

  kids.clear();
  for_each_child(0u, [&](uint32_t c) { kids.push_back(c); });
  keep(0, 0);
  // Nodes of the result if we stopped now: the kept ones plus one "other"
  // under each kept node with children not kept.
  size_t count = 1 + (kids.empty() ? 0 : 1);
  while (!heap.empty() && count < max_nodes) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate c = heap.back();
    heap.pop_back();
    kids.clear();
    for_each_child(c.node, [&](uint32_t k) { kids.push_back(k); });
    // Keeping c adds c, an "other" under it if it has children, and removes
    // the parent's "other" if c was the last child it lacked.
    const size_t add = 1 + (kids.empty() ? 0 : 1);
    const size_t remove = out.dropped_children[c.parent] == 1 ? 1 : 0;
    if (count + add - remove > max_nodes) {  // folded, with its subtree
      out.kept[c.node] = kFolded;
      continue;
    }
    count = count + add - remove;
    --out.dropped_children[c.parent];
    keep(c.node, c.parent);
  }
  // The budget is full: the only candidates that still fit are leaves that
  // are the last child their parent lacks (they replace its "other"). Each
  // such keep leaves the others' eligibility as it was, so one pass over the
  // kept nodes finds the same set as popping the rest of the heap would.
  const size_t kept_before = out.entries.size();
  kids.clear();
  for (uint32_t e = 0; e < kept_before; ++e) {
    if (out.dropped_children[e] != 1) continue;
    uint32_t last = 0;
    for_each_child(out.entries[e].node, [&](uint32_t k) {
      if (out.kept[k] != kKept) last = k;
    });
    if (out.kept[last] != kUndecided) continue;  // folded earlier
    bool leaf = true;
    for_each_child(last, [&](uint32_t) { leaf = false; });
    if (!leaf) continue;
    out.dropped_children[e] = 0;
    keep(last, e);
  }
  for (uint32_t d : out.dropped_children) out.other_nodes += d > 0 ? 1 : 0;
  return out;
}

}  // namespace truncate_internal
}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_FLAME_TRUNCATE_H_
