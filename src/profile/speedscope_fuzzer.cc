// Fuzz target for the speedscope reader: parsing must never crash, and
// whatever parses must write and parse again with equal totals per sample
// type (the writer emits one profile per sample type in order, so the kinds
// come back in the same columns).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "profile/speedscope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stackhouse::profile;
  SpeedscopeOptions opts;
  opts.max_input_bytes = size_t{1} << 20;
  auto p = ParseSpeedscope(std::string_view(reinterpret_cast<const char*>(data), size), opts);
  if (!p.ok()) return 0;
  if (!p->Validate().ok()) std::abort();
  std::string written = WriteSpeedscope(*p);
  auto q = ParseSpeedscope(written);
  if (!q.ok() || q->num_types() != p->num_types() ||
      q->DefaultSampleTypeIndex() != p->DefaultSampleTypeIndex()) {
    std::abort();
  }
  for (size_t t = 0; t < p->num_types(); ++t) {
    if (q->str(q->sample_types[t].type) != p->str(p->sample_types[t].type) ||
        q->str(q->sample_types[t].unit) != p->str(p->sample_types[t].unit)) {
      std::abort();
    }
    if (q->Total(t) != p->Total(t)) std::abort();
  }
  return 0;
}
