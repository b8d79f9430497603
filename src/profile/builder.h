// ProfileBuilder builds a Profile while deduplicating strings, functions,
// mappings, locations and (optionally) samples with equal stacks and labels.
// Text codecs (folded, perf script, speedscope) and the profile operations
// (merge, compact, normalize) are written on top of it. Not thread-safe.
#ifndef STACKHOUSE_PROFILE_BUILDER_H_
#define STACKHOUSE_PROFILE_BUILDER_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "profile/profile.h"

namespace stackhouse::profile {

class ProfileBuilder {
 public:
  ProfileBuilder();

  // The profile under construction. Set metadata (sample types, period, ...)
  // directly, using String() for the string indexes.
  Profile& profile() { return p_; }

  int64_t String(std::string_view s);
  // Returns a 1-based function index.
  uint32_t Function(int64_t name, int64_t system_name, int64_t filename, int64_t start_line);
  uint32_t Function(std::string_view name) { return Function(String(name), 0, 0, 0); }
  // Returns a 1-based mapping index; `m` holds builder string indexes. An id
  // of 0 is replaced by index + 1.
  uint32_t Mapping(const profile::Mapping& m);
  // Returns a 0-based location index. `lines` hold builder function indexes.
  uint32_t Location(uint32_t mapping, uint64_t address, std::span<const Line> lines,
                    bool is_folded = false);
  // The location of a plain symbol name: one line, no mapping, no address.
  uint32_t FrameLocation(std::string_view name);
  uint32_t FrameLocationForString(int64_t name);

  // Adds a sample, summing its values into an earlier sample with the same
  // stack and labels when there is one. `values` has num_types() entries.
  void AddSample(std::span<const uint32_t> stack, std::span<const int64_t> values,
                 std::span<const Label> labels = {});
  // Adds a sample without looking for an equal one.
  void AppendSample(std::span<const uint32_t> stack, std::span<const int64_t> values,
                    std::span<const Label> labels = {}) {
    p_.AddSample(stack, values, labels);
  }

  // Hands over the profile; the builder is empty afterwards.
  Profile Finish();

 private:
  Profile p_;
  HashIndex strings_;
  HashIndex functions_;
  HashIndex mappings_;
  HashIndex locations_;
  HashIndex samples_;
  std::vector<uint32_t> frame_location_by_string_;
};

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_BUILDER_H_
