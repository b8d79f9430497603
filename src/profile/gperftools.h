// Reader for the legacy binary CPU profile of gperftools' libprofiler (the
// CPUPROFILE=... output that google-pprof and `go tool pprof` read).
//
// The file is a sequence of machine words (32- or 64-bit, little- or
// big-endian; detected from the header):
//   header   0, 3, 0, sampling period in microseconds, 0
//   records  count, depth, pc[0] .. pc[depth-1]      (pc[0] is the leaf)
//   trailer  0, 1, 0
// followed by the text of /proc/self/maps of the profiled process.
//
// The result has sample types samples/count and cpu/nanoseconds (count and
// count * period), period type cpu/nanoseconds, one mapping per executable
// line of the maps text and one location per distinct address, without
// lines: the profile holds no symbols. Like `go tool pprof`, every pc except
// the leaf is a return address and is lowered by 1 so that it lands inside
// the call instruction, a pc[1] equal to pc[0] (the signal context's pc
// repeated by the unwinder) is dropped, and drop_frames names libprofiler's
// handler frames. Unlike it, no frame is removed because most samples share
// it (its guess at a signal-handler frame; libprofiler 2.x already skips
// those), and mappings are kept as in the maps text. Records with equal
// stacks are merged.
//
// Errors are InvalidArgumentError naming the byte offset at fault. Memory is
// bounded by a small multiple of the input size. Thread-safe (pure functions).
#ifndef STACKHOUSE_PROFILE_GPERFTOOLS_H_
#define STACKHOUSE_PROFILE_GPERFTOOLS_H_

#include <cstddef>
#include <string_view>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::profile {

// Stacks deeper than this are rejected (libprofiler records at most 254).
inline constexpr size_t kGperftoolsMaxDepth = 1024;

// True if `data` starts with a legacy CPU profile header (any word size and
// byte order). Cheap; for format auto-detection.
bool LooksLikeGperftoolsCpu(std::string_view data);

StatusOr<Profile> ParseGperftoolsCpu(std::string_view data);

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_GPERFTOOLS_H_
