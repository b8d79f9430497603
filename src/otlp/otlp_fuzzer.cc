// Fuzzes the OTLP/HTTP body parser and the OTLP -> profile conversion
// (untrusted bytes from any client). The first byte picks the encoding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "otlp/otlp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const char* type = data[0] & 1 ? "application/json" : "application/x-protobuf";
  const char* encoding = data[0] & 2 ? "gzip" : "";
  auto req = stackhouse::otlp::ParseRequest(body, type, encoding, 8 << 20);
  if (!req.ok()) return 0;
  auto result = stackhouse::otlp::FromOtlp(*req);
  for (const auto& d : result.profiles) {
    if (!d.profile.Validate().ok()) __builtin_trap();  // conversions must give valid profiles
  }
  return 0;
}
