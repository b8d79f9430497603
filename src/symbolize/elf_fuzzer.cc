// Fuzz target for ELF / DWARF symbolization of untrusted images: opening must
// give a value or an error, and lookups anywhere must not crash.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "symbolize/symbolizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using stackhouse::symbolize::ElfSymbolizer;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto opened = ElfSymbolizer::OpenMemory(input, "fuzz");
  if (!opened.ok()) {
    if (opened.status().message().empty()) std::abort();
    return 0;
  }
  ElfSymbolizer& elf = **opened;
  for (char c : elf.build_id()) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) std::abort();
  }
  // Addresses across every segment, plus a few taken from the input itself.
  int budget = 256;
  for (const auto& seg : elf.segments()) {
    uint64_t step = seg.memsz / 16 + 1;
    for (uint64_t off = 0; off < seg.memsz && budget > 0; off += step, --budget) {
      elf.Symbolize(seg.vaddr + off);
    }
    elf.Symbolize(seg.vaddr + seg.memsz - 1);
  }
  for (size_t i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
    uint64_t addr;
    std::memcpy(&addr, data + size - 8 - i, 8);
    elf.Symbolize(addr);
  }
  elf.Symbolize(0);
  elf.Symbolize(UINT64_MAX);
  return 0;
}
