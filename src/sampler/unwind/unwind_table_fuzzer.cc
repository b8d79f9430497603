// Fuzzes UnwindTable::FromMemory (the untrusted-bytes path used for the vDSO)
// and lookups in whatever table it builds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sampler/unwind/unwind_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using stackhouse::sampler::unwind::UnwindTable;
  auto table = UnwindTable::FromMemory(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!table.ok()) return 0;
  const UnwindTable& t = **table;
  volatile int found = 0;
  for (uint64_t vaddr :
       {uint64_t{0}, t.base(), t.base() + 1, t.base() + 0x100, t.base() - 1, ~uint64_t{0}}) {
    found = found + (t.Find(vaddr) != nullptr);
  }
  for (size_t i = 0; i < t.rows(); i += 1 + t.rows() / 16) {
    found = found + (t.Find(t.RowVaddr(t.row(i))) != nullptr);
  }
  return 0;
}
