// UnwindTable: the call-frame information (CFI) of one ELF object, flattened
// into a compact sorted array that a signal handler can binary-search.
//
// A table is built off the signal path from the object's .eh_frame with
// libdw's CFI API (after eh_frame_scan.h has validated every entry libdw may
// interpret), and is immutable afterwards. .debug_frame is not used.
//
// Row format (UnwindRow, 12 bytes, sorted by pc_offset, no duplicates): a row
// applies from base() + pc_offset up to the next row's pc. Each row keeps only
// what an x86_64 walker needs to find the caller:
//   - CFA rule: rsp + cfa_offset, rbp + cfa_offset, the PLT rule
//     (cfa = rsp + cfa_offset + ((pc & 15) >= plt_threshold ? 8 : 0), the
//     DW_CFA_def_cfa_expression that linkers emit for .plt), "outermost frame"
//     (the return address is undefined, e.g. _start or clone), "unsupported"
//     (any other CFA expression, signal trampolines, a return-address rule
//     other than "saved at CFA-8", an rbp rule we cannot follow), or "gap"
//     (no FDE covers the pc; Find returns nullptr there).
//   - RBP rule: unchanged (same-value or undefined), or saved at CFA + rbp_offset.
//   - The return address is always at CFA - 8 (rows where CFI says otherwise
//     are marked unsupported).
// Consecutive rows with identical rules are merged (rows differing only in
// registers other than rbp collapse). Objects whose text spans more than
// 4 GiB are rejected. Work is bounded: at most 8192 rows per FDE (and fewer
// for FDEs with very long instruction streams); the rest of such an FDE is
// left as a gap, where the walker falls back to frame pointers.
//
// Thread-safety: building is thread-compatible (each call uses its own libelf
// handles); a built table is immutable, and Find is async-signal-safe (no
// allocation, no locks) and may be called concurrently.
#ifndef STACKHOUSE_SAMPLER_UNWIND_UNWIND_TABLE_H_
#define STACKHOUSE_SAMPLER_UNWIND_UNWIND_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stackhouse::sampler::unwind {

// DWARF register numbers on x86_64.
inline constexpr int kDwarfRbp = 6;
inline constexpr int kDwarfRsp = 7;
inline constexpr int kDwarfRip = 16;

enum class CfaRule : uint8_t {
  kGap = 0,      // no CFI covers this pc
  kRspOffset,    // cfa = rsp + cfa_offset
  kRbpOffset,    // cfa = rbp + cfa_offset
  kPlt,          // cfa = rsp + cfa_offset + ((pc & 15) >= plt_threshold ? 8 : 0)
  kOutermost,    // return address undefined: stop walking here
  kUnsupported,  // not representable; the walker falls back to frame pointers
};

enum class RbpRule : uint8_t {
  kSame = 0,     // the caller's rbp is the current rbp (same-value or undefined)
  kAtCfaOffset,  // the caller's rbp is saved at cfa + rbp_offset
};

struct UnwindRow {
  uint32_t pc_offset;  // first pc of the row, relative to UnwindTable::base()
  int32_t cfa_offset;  // for kRspOffset, kRbpOffset, kPlt
  int16_t rbp_offset;  // for RbpRule::kAtCfaOffset; for CfaRule::kPlt: plt_threshold
  CfaRule cfa;
  RbpRule rbp;

  int plt_threshold() const { return rbp_offset; }
  bool SameRule(const UnwindRow& o) const {
    return cfa == o.cfa && rbp == o.rbp && cfa_offset == o.cfa_offset && rbp_offset == o.rbp_offset;
  }
};
static_assert(sizeof(UnwindRow) == 12);

class UnwindTable {
 public:
  // Builds the table of the ELF file at `path`.
  static StatusOr<std::unique_ptr<UnwindTable>> FromFile(const std::string& path);
  // Builds the table of an ELF image held in memory (e.g. the vDSO copied out
  // of the process). The bytes are untrusted: malformed input gives an error.
  static StatusOr<std::unique_ptr<UnwindTable>> FromMemory(std::string_view elf_image);

  // The row covering `vaddr` (a runtime pc minus the object's load bias), or
  // nullptr in gaps and outside the table. Async-signal-safe.
  const UnwindRow* Find(uint64_t vaddr) const;
  // Whether row `i` is the one Find(vaddr) looks at (the last row starting
  // at or before vaddr), checked in O(1): lets a cache of row indexes verify
  // its hits exactly.
  bool Covers(size_t i, uint64_t vaddr) const {
    if (i >= rows_.size() || vaddr < base_ || vaddr - base_ > 0xffffffffu) return false;
    const uint64_t offset = vaddr - base_;
    return rows_[i].pc_offset <= offset && (i + 1 == rows_.size() || rows_[i + 1].pc_offset > offset);
  }

  size_t rows() const { return rows_.size(); }
  const UnwindRow& row(size_t i) const { return rows_[i]; }
  // The ELF virtual address that row offsets are relative to.
  uint64_t base() const { return base_; }
  uint64_t RowVaddr(const UnwindRow& r) const { return base_ + r.pc_offset; }
  size_t memory_bytes() const {
    return sizeof(*this) + rows_.capacity() * sizeof(UnwindRow) + page_rows_.capacity() * sizeof(uint32_t);
  }

  // Used by the builder. `rows` are sorted by pc_offset.
  UnwindTable(uint64_t base, std::vector<UnwindRow> rows);

 private:
  // Offsets are grouped in pages of 2^kPageBits bytes; page_rows_[k] is the
  // number of rows starting at or before the page's first byte, so a lookup
  // searches only the rows of its own page (a cache line or two) instead of
  // the whole table.
  static constexpr int kPageBits = 12;

  uint64_t base_;
  std::vector<UnwindRow> rows_;
  std::vector<uint32_t> page_rows_;  // one per page, and one past the last
};

}  // namespace stackhouse::sampler::unwind

#endif  // STACKHOUSE_SAMPLER_UNWIND_UNWIND_TABLE_H_
