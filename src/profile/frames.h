// FrameNames names every frame of every location of a profile, with inlined
// frames expanded, and gives equal names one dense id. Views that work on
// function names (folded stacks, flame graphs, top tables) start from it.
// Immutable after construction; thread-safe for reads.
#ifndef STACKHOUSE_PROFILE_FRAMES_H_
#define STACKHOUSE_PROFILE_FRAMES_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "profile/profile.h"

namespace stackhouse::profile {

class FrameNames {
 public:
  explicit FrameNames(const Profile& profile);

  // Frame name ids of location `location`, leaf first: the innermost inlined
  // function first, its callers after. Never empty.
  std::span<const uint32_t> frames(uint32_t location) const {
    return {frames_.data() + begin_[location], begin_[location + 1] - begin_[location]};
  }
  const std::string& name(uint32_t id) const { return names_[id]; }
  size_t num_names() const { return names_.size(); }

  // Appends the frame ids of sample `i` root first (the order of folded
  // stacks and flame graphs) to *out, after clearing it.
  void SampleFramesRootFirst(const Profile& profile, size_t i, std::vector<uint32_t>* out) const;

 private:
  std::vector<std::string> names_;
  std::vector<uint32_t> frames_;
  std::vector<uint32_t> begin_;  // locations + 1 entries
};

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_FRAMES_H_
