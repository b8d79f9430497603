// Fuzz target for the multipart/form-data parser: any body and boundary
// must parse or fail cleanly, and parts must lie inside the body.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first line is the Content-Type, the rest the body.
  size_t nl = in.find('\n');
  std::string_view ct = nl == std::string_view::npos ? in : in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  std::string boundary = stackhouse::ingest::MultipartBoundary(ct);
  auto parts = stackhouse::ingest::ParseMultipart(body, boundary.empty() ? "b" : boundary);
  if (parts.ok()) {
    for (const auto& p : *parts) {
      if (p.data.data() < body.data() || p.data.data() + p.data.size() > body.data() + body.size()) {
        std::abort();
      }
    }
  }
  return 0;
}
