// pprof (profile.proto) codec: decodes straight from protobuf wire bytes into
// the Profile model and encodes back, covering every field of profile.proto
// (labels with units, mapping flags, inline lines with columns, drop/keep
// frames, comments, default_sample_type, doc_url). Unknown fields are skipped.
//
// Decoding reads gzip-compressed or raw bytes; memory use is bounded by a
// small multiple of the decompressed size, which is itself limited.
// Thread-safe (no shared state).
#ifndef STACKHOUSE_PROFILE_PPROF_H_
#define STACKHOUSE_PROFILE_PPROF_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::profile {

struct PprofDecodeOptions {
  // Upper bound on the decompressed protobuf size.
  size_t max_decompressed_bytes = size_t{1} << 30;
  // Threads that decode the samples of a big profile, each given at least
  // min_part_bytes of them (tests and fuzzers make that small).
  int threads = 1;
  size_t min_part_bytes = size_t{4} << 20;
};

// Decodes a pprof profile, gunzipping first if the data starts with the gzip
// magic. Errors name the byte offset (in the decompressed protobuf) and the
// field at fault.
StatusOr<Profile> DecodePprof(std::string_view data, const PprofDecodeOptions& options = {});

// Encodes to uncompressed protobuf bytes.
std::string EncodePprof(const Profile& profile);
// Encodes and gzips (pprof's on-disk form). level 1..9; threads > 1 lets big
// outputs be compressed in parallel (see Gzip).
std::string EncodePprofGzip(const Profile& profile, int level = 1, int threads = 1);
// The same, handing the gzip stream to `sink` in pieces, in order, as they
// are ready (big profiles are compressed in several members); stops at the
// sink's first error and returns it.
Status EncodePprofGzipTo(const Profile& profile, int level, int threads,
                         const std::function<Status(std::string_view)>& sink);

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_PPROF_H_
