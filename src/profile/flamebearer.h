// Pyroscope's flamebearer JSON ("single" format), the body of
// GET /pyroscope/render and of the UI's JSON export:
//
//   {"version":1,
//    "flamebearer":{"names":[...],"levels":[[...],...],"numTicks":N,"maxSelf":M},
//    "metadata":{"format":"single","spyName":..,"sampleRate":..,"units":..,"name":..}}
//
// names[] is the symbol table (names[0] == "total", the root; each distinct
// name once). levels[d] holds the bars of depth d ordered by x, 4 ints each:
// [x delta, total, self, name index]. A node's children are laid out left to
// right in FlameTree::SortedChildren order starting at the node's own x, so
// its self value is the gap on its right. The x offset is delta-encoded
// against the end (x + total) of the previous bar of the same level; the
// first bar of a level is relative to 0.
//
// Pure functions; thread-safe.
#ifndef STACKHOUSE_PROFILE_FLAMEBEARER_H_
#define STACKHOUSE_PROFILE_FLAMEBEARER_H_

#include <cstdint>
#include <string>

#include "profile/flame_tree.h"
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

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_FLAMEBEARER_H_
