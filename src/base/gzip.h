// gzip compression (ISA-L, libdeflate) and decompression (libdeflate, zlib),
// with an explicit output limit on decompression so that a "gzip bomb" is an
// error, not an out-of-memory.
// Thread-safe (no shared state).
#ifndef STACKHOUSE_BASE_GZIP_H_
#define STACKHOUSE_BASE_GZIP_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stackhouse {

// True if `data` starts with the gzip magic bytes 1f 8b.
bool IsGzip(std::string_view data);

// Decompresses gzip data (several concatenated members are allowed). Fails
// with kResourceExhausted if the output would exceed `max_output` bytes and
// with kInvalidArgument (naming the compressed offset) on corrupt data.
StatusOr<std::string> Gunzip(std::string_view data, size_t max_output);

// Compresses to gzip. level: 1 (fastest) .. 9 (smallest). Inputs of 1 MiB or
// more at levels 1-3 use ISA-L's igzip (its levels 1-3, about twice as fast),
// the rest libdeflate. With threads > 1,
// inputs of many megabytes are compressed in up to `threads` pieces in
// parallel, written as consecutive gzip members (any gzip reader, including
// ours, zlib's, Go's and gunzip, reads them as one stream).
std::string Gzip(std::string_view data, int level = 6, int threads = 1);

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_GZIP_H_
