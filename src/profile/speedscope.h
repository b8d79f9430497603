// The speedscope JSON file format (https://www.speedscope.app/file-format-schema.json):
// frames shared in "shared.frames", and a list of "sampled" profiles (stacks
// of frame indexes, root first, with weights) or "evented" profiles (open and
// close events at times).
//
// Reading maps every frame to a Function (name, "file", start line "line")
// and a Location with one Line ("line", "col"). Units become one sample type
// per kind, in order of first appearance: time units -> wall/nanoseconds
// (converted, rounded to the nearest integer), "bytes" -> space/bytes, "none"
// -> samples/count; a sample has zeros in the columns of the other kinds.
// When the file holds more than one profile, every sample gets the string
// label "thread" = the name of its speedscope profile ("profile <index>" if
// it has none). Evented profiles are replayed: the time between consecutive
// events is self time of the frame on top of the stack; frames still open at
// the end close at "endValue". Zero weights add no sample. The kind of the
// profile at "activeProfileIndex" (default 0) becomes default_sample_type.
// Malformed input gets an InvalidArgumentError naming the JSON path at fault
// (e.g. "speedscope: profiles[2].samples[17]: frame index 99 out of range (12
// frames)"); syntax errors name the 0-based byte offset.
//
// Writing emits one "sampled" profile per sample type (see WriteSpeedscope).
// Negative values (diff profiles) are written as they are, although the
// reader rejects negative weights.
//
// Thread-safe (pure functions).
#ifndef STACKHOUSE_PROFILE_SPEEDSCOPE_H_
#define STACKHOUSE_PROFILE_SPEEDSCOPE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::profile {

struct SpeedscopeOptions {
  // Larger inputs get a ResourceExhaustedError before parsing. The JSON
  // document tree takes several times the input size in memory.
  size_t max_input_bytes = size_t{512} << 20;
  // Deepest stack accepted (sampled stacks and evented open frames);
  // deeper ones get a ResourceExhaustedError. So does a result whose stacks
  // hold more than 16 frames per input byte plus 16M in total (evented
  // profiles can describe far more frames than they take bytes).
  size_t max_frames_per_stack = 10000;
};

StatusOr<Profile> ParseSpeedscope(std::string_view json, const SpeedscopeOptions& options = {});

// Writes every sample type of the profile as one "sampled" speedscope profile
// each (frames shared in "shared.frames", stacks root first, weights = values;
// samples with zero value skipped); activeProfileIndex =
// profile.DefaultSampleTypeIndex(). Units: "nanoseconds" and "bytes" are kept,
// every other unit is written as "none". Each profile is named after its
// sample type; startValue is 0 and endValue the sum of its weights. Frames are
// the names of FrameNames (inline frames expanded) with "file" and "line" (the
// function's start line) when the function has them. Deterministic.
std::string WriteSpeedscope(const Profile& profile, std::string_view name = "stackhouse");

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_SPEEDSCOPE_H_
