// Internal to UnwindTable: finds the FDEs of an ELF object's exception-handling
// CFI exactly where libdw's dwarf_getcfi_elf() will look (the .eh_frame and
// .eh_frame_hdr sections if present, else PT_GNU_EH_FRAME), and validates
// every CIE and FDE that libdw may later interpret, so that hostile input
// cannot make libdw allocate without bound (its CFA interpreter sizes a
// register array by the largest register number it meets).
//
// Thread-compatible; not for the signal path.
#ifndef STACKHOUSE_SAMPLER_UNWIND_EH_FRAME_SCAN_H_
#define STACKHOUSE_SAMPLER_UNWIND_EH_FRAME_SCAN_H_

#include <libelf.h>

#include <cstdint>
#include <vector>

#include "base/status.h"

namespace stackhouse::sampler::unwind {

// Registers above this are rejected (x86_64 uses 0..~130).
inline constexpr uint64_t kMaxCfiRegister = 255;

struct FdeSpan {
  uint64_t start;  // ELF virtual address range covered by the FDE
  uint64_t end;
  // Bytes of CFA instructions libdw runs for one lookup in this FDE (CIE
  // initial instructions plus the FDE's), a measure of the cost of a lookup.
  uint64_t cost;
};

struct EhFrameScan {
  std::vector<FdeSpan> fdes;  // sorted by start, non-overlapping
  uint64_t eh_frame_bytes = 0;
};

// Fails with NotFound if the object has no .eh_frame, InvalidArgument if the
// CFI is malformed, uses unknown opcodes or registers above kMaxCfiRegister,
// or has overlapping FDEs.
StatusOr<EhFrameScan> ScanEhFrame(Elf* elf);

}  // namespace stackhouse::sampler::unwind

#endif  // STACKHOUSE_SAMPLER_UNWIND_EH_FRAME_SCAN_H_
