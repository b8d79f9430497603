// Fuzz target for the gperftools legacy CPU profile reader: parsing must
// never crash, and whatever parses must be a valid profile with
// non-negative totals.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "profile/gperftools.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stackhouse::profile;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  bool looks = LooksLikeGperftoolsCpu(input);
  auto p = ParseGperftoolsCpu(input);
  if (!p.ok()) return 0;
  if (!looks) std::abort();
  if (!p->Validate().ok()) std::abort();
  for (size_t t = 0; t < p->num_types(); ++t) {
    if (p->Total(t) < 0) std::abort();
  }
  return 0;
}
