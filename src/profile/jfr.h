// Java Flight Recorder (.jfr, format 2.x as written by OpenJDK 11+ and
// async-profiler): the chunk header, the metadata, the constant pools and
// the events, parsed by our own code, and the profiles Pyroscope's Java
// users know made from them:
//
//   event                                   __name__     sample types (period type)
//   jdk.ExecutionSample                      process_cpu  cpu/nanoseconds (cpu/nanoseconds)
//   jdk.ObjectAllocationSample               process_cpu  alloc_samples/count, alloc_size/bytes (cpu/nanoseconds)
//   jdk.ObjectAllocationInNewTLAB            memory       alloc_in_new_tlab_objects/count, alloc_in_new_tlab_bytes/bytes (space/bytes)
//   jdk.ObjectAllocationOutsideTLAB          memory       alloc_outside_tlab_objects/count, alloc_outside_tlab_bytes/bytes (space/bytes)
//   jdk.JavaMonitorEnter, jdk.ThreadPark     process_cpu  lock_count/count, lock_time/nanoseconds (cpu/nanoseconds)
//
// Frames are "package.Class.method" with line numbers. The CPU period is the
// recording's jdk.ExecutionSample period (jdk.ActiveSetting), else the
// caller's sample rate, else 10 ms. Events that carry async-profiler's
// contextId get the labels of that context from a LabelsSnapshot.
#ifndef STACKHOUSE_PROFILE_JFR_H_
#define STACKHOUSE_PROFILE_JFR_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::profile {

// "FLR\0" at the start.
bool LooksLikeJfr(std::string_view data);

// Pyroscope's LabelsSnapshot (the multipart `labels` field): context id ->
// label name -> value.
using JfrContexts = std::map<int64_t, std::vector<std::pair<std::string, std::string>>>;
StatusOr<JfrContexts> ParseLabelsSnapshot(std::string_view protobuf);

struct JfrOptions {
  int64_t sample_rate_hz = 0;  // CPU period when the recording does not say (0 = 10 ms)
  const JfrContexts* contexts = nullptr;
  size_t max_events = size_t{1} << 24;  // events decoded, over all chunks
};

struct JfrProfile {
  std::string name;  // __name__: process_cpu or memory
  Profile profile;
};

struct JfrRecording {
  std::vector<JfrProfile> profiles;             // one per event kind present
  std::map<std::string, int64_t> event_counts;  // by event type name, as `jfr summary` counts
  int64_t start_nanos = 0;
  int64_t duration_nanos = 0;
  int chunks = 0;
};

// Parses every chunk. Malformed input gives kInvalidArgument naming the
// byte offset.
StatusOr<JfrRecording> ParseJfr(std::string_view data, const JfrOptions& options = {});

// All profiles of a recording as one pprof with all their sample types
// (for tools: `stackhouse convert app.jfr`, `stackhouse top app.jfr`).
StatusOr<Profile> JfrToProfile(std::string_view data, const JfrOptions& options = {});

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_JFR_H_
