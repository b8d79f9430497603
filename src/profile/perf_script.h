// Reader for the text that `perf script` prints by default for samples
// recorded with call graphs (`perf record -g`):
//
//   comm  pid[/tid] [cpu]  time: [period] event[:modifiers]:
//   \t<hex addr> <sym>[+0x<off>] (<dso>)        one line per frame, leaf first
//   <blank line>
//
// comm may contain spaces; the period is absent unless perf recorded it
// (then each sample counts 1 and the period is 1). A sample recorded
// without a call chain carries its one frame on the header line after the
// event. The result has sample types samples/count and cpu/nanoseconds for
// cpu-clock and task-clock, events/count for every other event (the event
// name is kept in a comment); the second value is the period. The period
// type is the second type and the period the most common one. There is a
// mapping per dso and a location per (dso, address) with one line naming
// the function (sym without "+0x..."); "[unknown]" symbols get a location
// without lines and the "[unknown]" dso no mapping. Every sample has the
// string label "comm" and the numeric label "tid", plus "pid" when the
// header shows pid/tid (a single number is the tid, as in perf).
//
// Samples of more than one event, header lines of another shape and frame
// lines without a "(dso)" are errors naming the line. Thread-safe (pure
// functions).
#ifndef STACKHOUSE_PROFILE_PERF_SCRIPT_H_
#define STACKHOUSE_PROFILE_PERF_SCRIPT_H_

#include <cstddef>
#include <string_view>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::profile {

struct PerfScriptOptions {
  // Adds the comm as the outermost frame of each sample (a location without
  // mapping whose function is named like the comm), as stackcollapse-perf.pl
  // does.
  bool comm_as_root = false;
  // Limits for untrusted input.
  size_t max_line_bytes = 1 << 16;
  size_t max_frames = 4096;
};

// True if the first non-blank line is a sample header and the next line a
// tab-indented frame line. For format auto-detection.
bool LooksLikePerfScript(std::string_view text);

StatusOr<Profile> ParsePerfScript(std::string_view text, const PerfScriptOptions& options = {});

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_PERF_SCRIPT_H_
