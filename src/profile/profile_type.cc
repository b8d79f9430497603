#include "profile/profile_type.h"

#include "base/strings.h"
#include "profile/frames.h"

namespace stackhouse::profile {

std::string ProfileType::Id() const {
  return StrCat(name, ":", sample_type, ":", sample_unit, ":", period_type, ":", period_unit);
}

StatusOr<ProfileType> ProfileType::Parse(std::string_view id) {
  std::vector<std::string_view> parts = Split(id, ':');
  if (parts.size() != 5 && parts.size() != 6) {
    return InvalidArgumentError(
        StrCat("profile type ", Quote(id),
               " must have the form name:sample_type:sample_unit:period_type:period_unit"));
  }
  if (parts[0].empty() || parts[1].empty()) {
    return InvalidArgumentError(StrCat("profile type ", Quote(id), " has an empty name or type"));
  }
  return ProfileType{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                     std::string(parts[3]), std::string(parts[4])};
}

namespace {

bool IsBlockingWait(std::string_view name) {
  for (std::string_view s : {"chanrecv", "chansend", "selectgo", "Lock", "Wait", "Sleep"}) {
    if (name.find(s) != std::string_view::npos) return true;
  }
  return false;
}

// Distinguishes Go block profiles from mutex profiles, which share their
// sample types, by the leaf frames: mutex profiles attribute contention to
// Unlock, block profiles to the blocking operation.
std::string ContentionName(const Profile& p) {
  FrameNames names(p);
  bool unlock = false, blocking = false;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    auto stack = p.sample_stack(i);
    if (stack.empty()) continue;
    const std::string& leaf = names.name(names.frames(stack[0])[0]);
    if (leaf.find("Unlock") != std::string::npos) {
      unlock = true;
    } else if (IsBlockingWait(leaf)) {
      blocking = true;
    }
  }
  return blocking && !unlock ? "block" : "mutex";
}

}  // namespace

std::string DeriveProfileName(const Profile& p) {
  bool cpu = false, memory = false, goroutine = false, contention = false;
  for (const ValueType& vt : p.sample_types) {
    std::string_view t = p.str(vt.type);
    if (t == "wall") return "wall";
    if (t == "off_cpu") return "off_cpu";
    if (t == "cpu") cpu = true;
    if (t == "samples" && p.str(p.period_type.type) == "cpu") cpu = true;
    if (t.starts_with("alloc_") || t.starts_with("inuse_")) memory = true;
    if (t == "goroutine" || t == "goroutines") goroutine = true;
    if (t == "contentions" || t == "delay") contention = true;
  }
  if (cpu) return "process_cpu";
  if (memory) return "memory";
  if (goroutine) return "goroutines";
  if (contention) return ContentionName(p);
  if (!p.sample_types.empty()) return std::string(p.str(p.sample_types[0].type));
  return "unknown";
}

std::vector<ProfileType> ProfileTypesOf(const Profile& p, std::string_view name) {
  std::string n = name.empty() ? DeriveProfileName(p) : std::string(name);
  std::vector<ProfileType> out;
  for (const ValueType& vt : p.sample_types) {
    out.push_back({n, std::string(p.str(vt.type)), std::string(p.str(vt.unit)),
                   std::string(p.str(p.period_type.type)), std::string(p.str(p.period_type.unit))});
  }
  return out;
}

}  // namespace stackhouse::profile
