// Operations on profiles: deduplicate, merge, scale, select a sample type,
// and normalize to a canonical form. All are pure functions over values and
// thread-safe.
#ifndef STACKHOUSE_PROFILE_OPS_H_
#define STACKHOUSE_PROFILE_OPS_H_

#include <span>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::profile {

struct CompactOptions {
  // Sum samples with equal stacks and equal labels (in equal order).
  bool merge_samples = true;
  // Leave out samples whose values are all zero (as go tool pprof does).
  bool drop_zero_samples = false;
};

// Deduplicates strings, functions, mappings and locations, merges samples
// (see options) and drops symbols nothing refers to. First-seen order is
// kept; ids become index + 1.
Profile Compact(const Profile& profile, const CompactOptions& options = {});

// OK when `b` can be merged into `a`: equal sample types (type and unit, in
// order) and equal period types unless one of them is unset.
Status CheckCompatible(const Profile& a, const Profile& b);

// Merges compatible profiles into one: symbols deduplicated, equal samples
// summed. Metadata comes from the first profile; time is the earliest start
// and duration spans to the latest end; comments are concatenated without
// repeats.
StatusOr<Profile> Merge(std::span<const Profile* const> profiles);

// The change from `prev` to `cur` of cumulative columns (e.g. Go's mutex
// and block profiles, or a heap profile's alloc_* columns): those columns
// become cur - prev for samples with the same stack and labels; other
// columns keep cur's values. A negative change (the process restarted)
// keeps cur's value. Samples that end up all zero are dropped. The two
// must have the same sample types.
StatusOr<Profile> DeltaProfile(const Profile& prev, const Profile& cur, std::span<const int> cumulative_columns);

// Multiplies the values of column `type_index` (or all columns when -1) by
// factor, rounding to the nearest integer.
void Scale(Profile* profile, double factor, int type_index = -1);

// A profile with only sample type `type_index`, samples whose value is zero
// dropped, compacted.
StatusOr<Profile> SelectSampleType(const Profile& profile, int type_index);

// The canonical form: compacted with zero samples dropped, then strings,
// functions, mappings, locations and samples sorted by content (labels sorted
// within each sample, equal samples merged), ids = index + 1. Two profiles
// with the same meaning normalize to equal values.
Profile Normalize(const Profile& profile);

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_OPS_H_
