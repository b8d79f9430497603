// Fuzzes the JFR parser (recordings and LabelsSnapshots come from clients).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "profile/jfr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  stackhouse::profile::JfrOptions o;
  o.max_events = 100000;
  auto r = stackhouse::profile::ParseJfr(in, o);
  if (r.ok()) {
    for (const auto& p : r->profiles) {
      if (!p.profile.Validate().ok()) __builtin_trap();
    }
  }
  (void)stackhouse::profile::ParseLabelsSnapshot(in);
  return 0;
}
