// Fuzzes UnwindTable::FromMemory (the untrusted-bytes path used for the vDSO)
// and lookups in whatever table it builds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sampler/unwind/unwind_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using stackhouse::sampler::unwind::CfaRule;
  using stackhouse::sampler::unwind::UnwindRow;
  using stackhouse::sampler::unwind::UnwindTable;
  auto table = UnwindTable::FromMemory(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!table.ok()) return 0;
  const UnwindTable& t = **table;
  // Find searches one page's rows: it must agree with a search of them all.
  auto whole = [&](uint64_t vaddr) -> const UnwindRow* {
    if (vaddr < t.base() || vaddr - t.base() > 0xffffffffu) return nullptr;
    const UnwindRow* found = nullptr;
    for (size_t i = 0; i < t.rows() && t.RowVaddr(t.row(i)) <= vaddr; ++i) found = &t.row(i);
    return found != nullptr && found->cfa == CfaRule::kGap ? nullptr : found;
  };
  auto check = [&](uint64_t vaddr) {
    if (t.Find(vaddr) != whole(vaddr)) __builtin_trap();
  };
  for (uint64_t vaddr :
       {uint64_t{0}, t.base(), t.base() + 1, t.base() + 0x100, t.base() - 1, ~uint64_t{0}}) {
    check(vaddr);
  }
  for (size_t i = 0; i < t.rows(); i += 1 + t.rows() / 16) {
    const uint64_t v = t.RowVaddr(t.row(i));
    check(v);
    check(v - 1);
    check((v | 4095) + 1);
    check(v & ~uint64_t{4095});
  }
  return 0;
}
