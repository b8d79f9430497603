// Fuzz target for /ingest parsing: parameters from the first lines of the
// input, then the body; every outcome must be a clean result or error.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "ingest/pyroscope_ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stackhouse;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ingest::IngestInput input;
  std::string* fields[] = {&input.name, &input.format, &input.from, &input.sample_rate,
                           &input.content_type};
  for (std::string* f : fields) {
    size_t nl = in.find('\n');
    if (nl == std::string_view::npos) break;
    *f = std::string(in.substr(0, nl));
    in.remove_prefix(nl + 1);
  }
  input.body = in;
  input.now_nanos = 1704067200000000000;
  ingest::IngestLimits limits;
  limits.max_decompressed_bytes = 4 << 20;
  auto r = ingest::ParseIngest(input, limits);
  if (r.ok() && !r->profile.Validate().ok()) __builtin_trap();
  return 0;
}
