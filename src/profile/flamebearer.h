// Pyroscope's flamebearer JSON ("single" format), the body of
// GET /pyroscope/render and of the UI's JSON export:
//
//   {"version":1,
//    "flamebearer":{"names":[...],"levels":[[...],...],"numTicks":N,"maxSelf":M},
//    "metadata":{"format":"single","spyName":..,"sampleRate":..,"units":..,"name":..}}
//
// names[] is the symbol table (names[0] == "total", the root; each distinct
// name once). levels[d] holds the bars of depth d ordered by x, 4 ints each:
// [x delta, total, self, name index]. A node's self value comes first from
// its x (as in Pyroscope's writer), then its children left to right in
// FlameTree::SortedChildren order. The x offset is delta-encoded
// against the end (x + total) of the previous bar of the same level; the
// first bar of a level is relative to 0. (Pyroscope puts the self value on
// the left, before the children; clients only use x and width, and the
// golden output keeps ours.) The "double" (diff) format is described below.
//
// Pure functions; thread-safe.
#ifndef STACKHOUSE_PROFILE_FLAMEBEARER_H_
#define STACKHOUSE_PROFILE_FLAMEBEARER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <vector>

#include "profile/flame_tree.h"
#include "profile/flame_truncate.h"
#include "profile/profile.h"

namespace stackhouse::profile {

struct FlamebearerMetadata {
  std::string name;      // e.g. the sample type "cpu"
  std::string spy_name;  // e.g. "gospy"; "" is written as "unknown"
  // "samples", "objects", "bytes", "goroutines", "lock_samples",
  // "lock_nanoseconds" or "".
  std::string units;
  int64_t sample_rate = 100;
};

// Pyroscope's metadata for sample type `type_index` of a profile:
//   cpu/wall (any non-lock time) in nanoseconds -> "samples", sample_rate 1e9
//     (so that value / sampleRate is seconds in Pyroscope's UI);
//   delay / lock / mutex / block time in nanoseconds -> "lock_nanoseconds";
//   contentions (lock/mutex/block counts)            -> "lock_samples";
//   bytes                                            -> "bytes";
//   *objects*, alloc/inuse counts                    -> "objects";
//   goroutine(s)                                     -> "goroutines";
//   "samples" / other counts -> "samples" with sample_rate 1e9 / period when
//     the period type is in nanoseconds, else 100.
// Anything else gets units "" and sample_rate 100. spy_name is left empty.
FlamebearerMetadata FlamebearerMetadataFor(const Profile& profile, int type_index);

// Writes the flamebearer JSON of a tree. Iterative (no recursion), one output
// allocation in the common case; linear in the tree size plus the sorting of
// sibling lists.
std::string WriteFlamebearer(const FlameTree& tree, const FlamebearerMetadata& meta);

// The numbers of a flamebearer, for writers other than JSON (the Connect
// API's FlameGraph message): names with names[0] == "total", and per level
// 4 ints per bar ("single") or 7 ("double"), x offsets delta-encoded.
struct FlamebearerData {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> levels;
  int64_t num_ticks = 0;
  int64_t max_self = 0;
  int64_t left_ticks = 0, right_ticks = 0;  // "double" only
};
FlamebearerData ComputeFlamebearer(const FlameTree& tree);

// The JSON object of `data` ("single" or "double" format; report may be null).
std::string FlamebearerJson(const FlamebearerData& data, std::string_view format,
                            const FlamebearerMetadata& meta, const TruncationReport* report);

// Stackhouse's compact form of the same response (`format=binary` on
// /pyroscope/render; layout in docs/server.md): "SHFB", version 1, a uint32
// LE length and the JSON response with empty "levels", then a uvarint unit
// that divides every value (all ints of a bar but the last, the name index),
// and the levels as uvarint count + zigzag varints of value/unit (name
// indexes as they are). `stride` is 4 ("single") or 7 ("double"). About a
// tenth of the JSON's size and cheap to decode.
std::string FlamebearerBinary(std::string_view json, const FlamebearerData& data,
                              size_t stride = 4);

// The same, followed (when `report` is not null) by a top-level object that
// Pyroscope clients ignore, saying what TruncateFlameTree cut:
//   ...,"truncation":{"keptNodes":K,"foldedNodes":F,"foldedValue":V,"otherNodes":O}}
// With a null report the output is the two-argument one, byte for byte.
std::string WriteFlamebearer(const FlameTree& tree, const FlamebearerMetadata& meta,
                             const TruncationReport* report);

// ---- The "double" format (diff), the body of /pyroscope/render-diff ----
//
//   {"version":1,
//    "flamebearer":{"names":[...],"levels":[[...],...],"numTicks":N,"maxSelf":M},
//    "metadata":{"format":"double","spyName":..,"sampleRate":..,"units":..,"name":..},
//    "leftTicks":L,"rightTicks":R}
//
// The two trees are merged by name path (left = baseline, right =
// comparison). Each bar has 7 ints: [left x delta, left total, left self,
// right x delta, right total, right self, name index]. Each side is laid out
// in its own coordinates, as in Pyroscope's NewFlamegraphDiff
// (pkg/model/flamegraph_diff.go): a node's self comes first from its x, then
// its children in name order (bytewise), then a synthetic "other" if the
// node lost children to truncation. Both sides use the same order, so the
// UI's bar is at x = left x + right x with width left total + right total
// (numTicks = L + R wide). Left x deltas are against the end (x + total) of
// the previous bar of the level on the left side, right ones likewise on the
// right. maxSelf is the largest left or right self of any bar. Values are
// expected to be non-negative (Pyroscope rejects negative trees).

// A node of the union of two trees. A node present on one side only has
// zeros for the other.
struct DiffNode {
  uint32_t name = 0;                   // index into DiffTree::names
  uint32_t parent = FlameTree::kNone;  // kNone for the root
  int64_t left_total = 0;
  int64_t left_self = 0;
  int64_t right_total = 0;
  int64_t right_self = 0;
};

struct DiffTree {
  std::vector<std::string> names;  // names[0] == "total"; may hold unused names
  // Breadth first: nodes[0] is the root, the children of a node are
  // contiguous and sorted by name bytewise (after TruncateDiffTree, with
  // the synthetic "other" last), and a level's nodes are in x order. The
  // writer relies on this.
  std::vector<DiffNode> nodes;
  // nodes.size() + 1 entries: the children of i are
  // [first_child[i], first_child[i + 1]).
  std::vector<uint32_t> first_child;

  int64_t left_total() const { return nodes[0].left_total; }
  int64_t right_total() const { return nodes[0].right_total; }
};

// The union of two trees by name path. Iterative; O(n log n) for the sorting
// of names and sibling lists. Siblings of one side with the same name (a real
// and a synthetic "other" of an already truncated tree) are paired with the
// other side's in node order; diff untruncated trees and let
// TruncateDiffTree cut the union instead.
DiffTree MergeFlameTrees(const FlameTree& left, const FlameTree& right);

// TruncateFlameTree for a diff tree: nodes are kept by max(left share, right
// share) of their side's total (ties by name), and under every kept node
// that lost children one "other" has the dropped children's left and right
// totals as totals and selfs. Every kept node keeps its four values. Returns
// the tree unchanged when max_nodes is 0 or not below its size. The report's
// folded_value is left + right folded.
DiffTree TruncateDiffTree(const DiffTree& tree, size_t max_nodes,
                          TruncationReport* report = nullptr);

// Writes a diff tree (report as in WriteFlamebearer; may be null).
FlamebearerData ComputeFlamebearerDiff(const DiffTree& tree);
std::string WriteFlamebearerDiff(const DiffTree& tree, const FlamebearerMetadata& meta,
                                 const TruncationReport* report = nullptr);

// Merges, truncates at max_nodes (0 = no limit) and writes. When max_nodes
// is not 0 the JSON carries the "truncation" object (also when nothing was
// cut), and `report` (if not null) receives it.
std::string WriteFlamebearerDiff(const FlameTree& left, const FlameTree& right,
                                 const FlamebearerMetadata& meta, size_t max_nodes = 0,
                                 TruncationReport* report = nullptr);

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_FLAMEBEARER_H_
