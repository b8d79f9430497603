// Profile type ids in Pyroscope's form
//   name:sample_type:sample_unit:period_type:period_unit
// e.g. "process_cpu:cpu:nanoseconds:cpu:nanoseconds", and the rules that derive
// the name (Pyroscope's __name__) from a pprof profile's sample types.
// Thread-safe (pure functions).
#ifndef STACKHOUSE_PROFILE_PROFILE_TYPE_H_
#define STACKHOUSE_PROFILE_PROFILE_TYPE_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::profile {

struct ProfileType {
  std::string name;  // e.g. "process_cpu", "memory", "mutex", "block", "goroutines", "wall"
  std::string sample_type;
  std::string sample_unit;
  std::string period_type;
  std::string period_unit;

  std::string Id() const;
  // Parses "name:type:unit:period_type:period_unit" (an optional sixth part,
  // e.g. ":delta", is accepted and ignored).
  static StatusOr<ProfileType> Parse(std::string_view id);
  bool operator==(const ProfileType&) const = default;
};

// The profile name Pyroscope derives from a profile's sample types:
//   a "wall" type -> "wall"; "cpu" (or "samples" with a cpu period) ->
//   "process_cpu"; alloc_*/inuse_* -> "memory"; "goroutine(s)" ->
//   "goroutines"; contentions/delay -> "block" when the waits are blocking
//   operations (channel receive/send, select, Lock, Wait) and nothing is an
//   Unlock, else "mutex". Otherwise the first sample type's name.
std::string DeriveProfileName(const Profile& profile);

// One profile type per sample type of the profile, named `name` (derived
// when empty).
std::vector<ProfileType> ProfileTypesOf(const Profile& profile, std::string_view name = "");

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_PROFILE_TYPE_H_
