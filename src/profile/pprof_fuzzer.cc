// Fuzz target for the pprof decoder: decoding must never crash; decoding on
// several threads (parts of a few bytes) must give exactly what one thread
// gives, profile or error; and whatever decodes must re-encode and decode
// again to an equal profile.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "profile/pprof.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stackhouse::profile;
  PprofDecodeOptions opts;
  opts.max_decompressed_bytes = 64 << 20;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = DecodePprof(in, opts);
  PprofDecodeOptions parts = opts;
  parts.threads = 3;
  parts.min_part_bytes = 8;
  auto pp = DecodePprof(in, parts);
  if (p.ok() != pp.ok()) std::abort();
  if (!p.ok()) {
    if (p.status().ToString() != pp.status().ToString()) std::abort();
    return 0;
  }
  if (!(*p == *pp)) std::abort();
  std::string again = EncodePprof(*p);
  auto q = DecodePprof(again, opts);
  if (!q.ok() || !(*q == *p)) std::abort();
  return 0;
}
