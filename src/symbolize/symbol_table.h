// Internal: the function symbols of .symtab / .dynsym as a sorted address
// table, built once and searched with a binary search.
//
// Names point into the string tables of the Elf handles the table was built
// from, so those handles must outlive the table. Thread-compatible; lookups
// are const and allocate nothing.
#ifndef STACKHOUSE_SYMBOLIZE_SYMBOL_TABLE_H_
#define STACKHOUSE_SYMBOLIZE_SYMBOL_TABLE_H_

#include <libelf.h>

#include <cstdint>
#include <vector>

namespace stackhouse::symbolize::internal {

class SymbolTable {
 public:
  // Adds the STT_FUNC / STT_GNU_IFUNC symbols of `elf`'s sections of type
  // `section_type` (SHT_SYMTAB or SHT_DYNSYM). Call Finish() after the last Add.
  void Add(Elf* elf, uint32_t section_type);
  // Sorts, removes aliases (one name per start address: sized before
  // zero-sized, global before local, fewer leading underscores, .symtab before
  // .dynsym) and gives zero-sized symbols the next symbol's start as their end.
  void Finish();

  // The (mangled) name of the symbol covering `addr`, or nullptr.
  const char* Lookup(uint64_t addr) const;
  size_t size() const { return symbols_.size(); }

 private:
  struct Candidate {
    uint64_t start;
    uint64_t end;      // == start for zero-sized symbols
    uint64_t sec_end;  // end of the containing section, 0 when unknown
    const char* name;
    int rank;  // lower is preferred among aliases
  };
  struct Symbol {
    uint64_t start;
    uint64_t end;
    const char* name;
  };

  std::vector<Candidate> candidates_;
  std::vector<Symbol> symbols_;
  int next_source_rank_ = 0;
};

}  // namespace stackhouse::symbolize::internal

#endif  // STACKHOUSE_SYMBOLIZE_SYMBOL_TABLE_H_
