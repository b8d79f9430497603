// Fuzz target for the pprof decoder: decoding must never crash, and whatever
// decodes must re-encode and decode again to an equal profile.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "profile/pprof.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stackhouse::profile;
  PprofDecodeOptions opts;
  opts.max_decompressed_bytes = 64 << 20;
  auto p = DecodePprof(std::string_view(reinterpret_cast<const char*>(data), size), opts);
  if (!p.ok()) return 0;
  std::string again = EncodePprof(*p);
  auto q = DecodePprof(again, opts);
  if (!q.ok() || !(*q == *p)) std::abort();
  return 0;
}
