// The registry of profile formats: names, auto-detection, and reading or
// writing any of them through one call. Tools (stackhouse convert/top) and
// the server's ingest use it. Thread-safe (pure functions).
#ifndef STACKHOUSE_PROFILE_FORMATS_H_
#define STACKHOUSE_PROFILE_FORMATS_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::profile {

enum class Format {
  kPprof,
  kGperftools,   // legacy binary CPU profile, read only
  kFolded,
  kLines,        // folded without values, read only
  kPerfScript,   // read only
  kSpeedscope,
  kFlamebearer,  // write only
  kSvg,          // write only
  kJfr,          // Java Flight Recorder, read only (all event kinds as sample types)
};

std::string_view FormatName(Format format);
// Accepts the names above and aliases ("collapsed", "perf", "legacy", ...).
std::optional<Format> ParseFormatName(std::string_view name);
// The format a file name's extension suggests (".pb.gz" -> pprof, ".svg",
// ".folded", ".speedscope.json", ...), if any.
std::optional<Format> FormatFromFileName(std::string_view path);
bool CanRead(Format format);
bool CanWrite(Format format);

// Detects the format of (possibly gzip-compressed) input.
StatusOr<Format> DetectFormat(std::string_view data);

struct ReadOptions {
  // For perf script input: make the process name the root frame.
  bool perf_comm_as_root = false;
  // Upper bound on decompressed input.
  size_t max_decompressed_bytes = size_t{1} << 30;
  // Threads for decoders that can use several (pprof) on big inputs.
  int threads = 1;
};

// Reads a profile in `format`, or in the detected format when absent.
// gzip-compressed input is accepted for every format.
StatusOr<Profile> ReadProfile(std::string_view data, std::optional<Format> format,
                              const ReadOptions& options = {});

struct WriteOptions {
  // Sample type for single-type outputs (folded, flamebearer, svg); -1 means
  // the profile's default.
  int type_index = -1;
  // pprof: gzip level 1..9, or 0 for uncompressed protobuf.
  int gzip_level = 1;
  // pprof: threads that may compress a big output in parallel.
  int gzip_threads = 1;
  std::string title = "Flame Graph";
};

StatusOr<std::string> WriteProfile(const Profile& profile, Format format,
                                   const WriteOptions& options = {});

// Like WriteProfile, handing the output to `sink` in pieces as they are
// ready (gzipped pprof of big profiles comes in several pieces).
Status WriteProfileTo(const Profile& profile, Format format, const WriteOptions& options,
                      const std::function<Status(std::string_view)>& sink);

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_FORMATS_H_
