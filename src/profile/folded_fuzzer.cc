// Fuzz target for the folded parser: never crash; whatever parses must write
// back to folded text that parses to the same total.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "profile/folded.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace stackhouse::profile;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  FoldedOptions o;
  o.max_frames = 256;
  auto p = ParseFolded(text, o);
  if (p.ok()) {
    if (!p->Validate().ok()) std::abort();
    auto q = ParseFolded(WriteFolded(*p, 0), o);
    if (!q.ok() || q->Total(0) != p->Total(0)) std::abort();
  }
  auto l = ParseLines(text, o);
  if (l.ok() && !l->Validate().ok()) std::abort();
  return 0;
}
