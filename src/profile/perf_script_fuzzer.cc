// Fuzz target for the perf script reader: parsing must never crash, and
// whatever parses (with either option setting) must be a valid profile.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "profile/perf_script.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stackhouse::profile;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)LooksLikePerfScript(text);
  PerfScriptOptions opts;
  opts.comm_as_root = size % 2 == 1;
  opts.max_frames = 256;
  auto p = ParsePerfScript(text, opts);
  if (!p.ok()) return 0;
  if (!p->Validate().ok()) std::abort();
  for (size_t t = 0; t < p->num_types(); ++t) {
    if (p->Total(t) < 0) std::abort();
  }
  return 0;
}
