#include "symbolize/symbol_table.h"

#include <gelf.h>

#include <algorithm>
#include <cstring>
#include <tuple>

namespace stackhouse::symbolize::internal {
namespace {

// Leading underscores of a name, not counting the "_Z" of a mangled name.
int LeadingUnderscores(const char* name) {
  if (name[0] == '_' && name[1] == 'Z') return 0;
  int n = 0;
  while (name[n] == '_' && n < 31) ++n;
  return n;
}

// How many symbols a lookup looks back for one that contains the address
// (a sized symbol enclosing smaller ones).
constexpr int kMaxLookBack = 8;

}  // namespace

void SymbolTable::Add(Elf* elf, uint32_t section_type) {
  int source = std::min(next_source_rank_++, 15);
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf, &ehdr) == nullptr) return;
  const bool thumb = ehdr.e_machine == EM_ARM;
  size_t num_sections = 0;
  if (elf_getshdrnum(elf, &num_sections) != 0) return;

  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type != section_type) continue;
    if (shdr.sh_type == SHT_NOBITS || shdr.sh_link >= num_sections) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (data == nullptr || data->d_size == 0) continue;
    size_t sym_size = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
    if (sym_size == 0) return;
    size_t count = data->d_size / sym_size;
    for (size_t i = 1; i < count; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) break;
      int type = GELF_ST_TYPE(sym.st_info);
      if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
      if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
      const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
      if (name == nullptr || name[0] == '\0') continue;

      Candidate c;
      c.start = thumb ? (sym.st_value & ~uint64_t{1}) : sym.st_value;
      c.end = sym.st_size > UINT64_MAX - c.start ? UINT64_MAX : c.start + sym.st_size;
      c.sec_end = 0;
      if (sym.st_shndx < SHN_LORESERVE && sym.st_shndx < num_sections) {
        GElf_Shdr sec;
        Elf_Scn* sec_scn = elf_getscn(elf, sym.st_shndx);
        if (sec_scn != nullptr && gelf_getshdr(sec_scn, &sec) != nullptr &&
            (sec.sh_flags & SHF_ALLOC) != 0 && sec.sh_addr <= c.start &&
            sec.sh_size <= UINT64_MAX - sec.sh_addr && c.start < sec.sh_addr + sec.sh_size) {
          c.sec_end = sec.sh_addr + sec.sh_size;
        }
      }
      c.name = name;
      int binding = GELF_ST_BIND(sym.st_info);
      int zero_size = sym.st_size == 0 ? 1 : 0;
      int local = binding == STB_LOCAL ? 1 : 0;
      int weak = binding == STB_WEAK ? 1 : 0;
      c.rank =
          ((((zero_size * 2 + local) * 32 + LeadingUnderscores(name)) * 2 + weak) * 16) + source;
      candidates_.push_back(c);
    }
  }
}

void SymbolTable::Finish() {
  std::sort(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) {
    if (a.start != b.start) return a.start < b.start;
    if (a.rank != b.rank) return a.rank < b.rank;
    return std::strcmp(a.name, b.name) < 0;
  });
  symbols_.clear();
  symbols_.reserve(candidates_.size());
  for (size_t i = 0; i < candidates_.size(); ++i) {
    const Candidate& c = candidates_[i];
    if (i > 0 && candidates_[i - 1].start == c.start) continue;  // an alias
    uint64_t end = c.end;
    if (end == c.start) {
      // Zero-sized: up to the next symbol, within the containing section.
      size_t j = i + 1;
      while (j < candidates_.size() && candidates_[j].start == c.start) ++j;
      end = j < candidates_.size() ? candidates_[j].start : c.sec_end;
      if (c.sec_end > c.start && (end == 0 || end > c.sec_end)) end = c.sec_end;
      if (end <= c.start) end = c.start + 1;
    }
    symbols_.push_back(Symbol{c.start, end, c.name});
  }
  candidates_.clear();
  candidates_.shrink_to_fit();
}

const char* SymbolTable::Lookup(uint64_t addr) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), addr,
                             [](uint64_t a, const Symbol& s) { return a < s.start; });
  for (int k = 0; k < kMaxLookBack && it != symbols_.begin(); ++k) {
    --it;
    if (addr < it->end) return it->name;
  }
  return nullptr;
}

}  // namespace stackhouse::symbolize::internal
