// Builds UnwindTable from .eh_frame with libdw, and looks rows up.
//
// ScanEhFrame lists (and validates) the FDEs libdw will use. For every FDE we
// then step through its rows: dwarf_cfi_addrframe(pc) gives the row state and
// its [start, end) range; we record it and continue at `end` until the FDE's
// end. Pcs between FDEs become gap rows.
#include "sampler/unwind/unwind_table.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "sampler/unwind/eh_frame_scan.h"

namespace stackhouse::sampler::unwind {
namespace {

// Rows per FDE, and the CFA-instruction bytes libdw may interpret for one
// object: each lookup re-runs the FDE from its start, so a big FDE costs
// rows x instructions. Real objects stay far below; hostile ones are cut off.
constexpr int kMaxRowsPerFde = 8192;
constexpr uint64_t kMaxCostPerFde = uint64_t{1} << 23;
constexpr uint64_t kBaseBudget = uint64_t{1} << 25;
constexpr uint64_t kBudgetPerEhFrameByte = 256;

void InitLibelf() {
  static const bool initialised = [] {
    elf_version(EV_CURRENT);
    return true;
  }();
  (void)initialised;
}

// Offset N of a register rule "saved at CFA + N" ([call_frame_cfa] or
// [call_frame_cfa, plus_uconst N]).
bool CfaPlus(const Dwarf_Op* ops, size_t nops, int64_t* offset) {
  if (nops < 1 || ops[0].atom != DW_OP_call_frame_cfa) return false;
  if (nops == 1) {
    *offset = 0;
    return true;
  }
  if (nops == 2 && ops[1].atom == DW_OP_plus_uconst) {
    *offset = static_cast<int64_t>(ops[1].number);
    return true;
  }
  return false;
}

// The CFA expression of .plt entries:
//   breg7(rsp) N; breg16(rip) 0; lit15; and; litK; ge; lit3; shl; plus
bool PltExpression(const Dwarf_Op* ops, size_t nops, int64_t* offset, int* threshold) {
  if (nops != 9) return false;
  if (ops[0].atom != DW_OP_breg7 || ops[1].atom != DW_OP_breg16 || ops[1].number != 0 ||
      ops[2].atom != DW_OP_lit15 || ops[3].atom != DW_OP_and || ops[4].atom < DW_OP_lit0 ||
      ops[4].atom > DW_OP_lit15 || ops[5].atom != DW_OP_ge || ops[6].atom != DW_OP_lit3 ||
      ops[7].atom != DW_OP_shl || ops[8].atom != DW_OP_plus) {
    return false;
  }
  *offset = static_cast<int64_t>(ops[0].number);
  *threshold = ops[4].atom - DW_OP_lit0;
  return true;
}

bool FitsInt32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
}
bool FitsInt16(int64_t v) {
  return v >= std::numeric_limits<int16_t>::min() && v <= std::numeric_limits<int16_t>::max();
}

// Reduces libdw's frame state to the rules an UnwindRow can express.
UnwindRow Classify(Dwarf_Frame* frame) {
  UnwindRow row = {};
  row.cfa = CfaRule::kUnsupported;
  bool signal = false;
  const int ra_reg = dwarf_frame_info(frame, nullptr, nullptr, &signal);
  if (ra_reg != kDwarfRip || signal) return row;

  Dwarf_Op mem[3];
  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  int64_t offset = 0;
  if (dwarf_frame_register(frame, kDwarfRip, mem, &ops, &nops) != 0) return row;
  if (nops == 0) {
    // ops == mem: undefined (outermost frame); ops == nullptr: same-value.
    if (ops != nullptr) row.cfa = CfaRule::kOutermost;
    return row;
  }
  if (!CfaPlus(ops, nops, &offset) || offset != -8) return row;

  if (dwarf_frame_cfa(frame, &ops, &nops) != 0) return row;
  int threshold = 0;
  if (nops == 1 &&
      (ops[0].atom == DW_OP_bregx || (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31))) {
    const uint64_t reg = ops[0].atom == DW_OP_bregx ? ops[0].number : ops[0].atom - DW_OP_breg0;
    offset = static_cast<int64_t>(ops[0].atom == DW_OP_bregx ? ops[0].number2 : ops[0].number);
    if (!FitsInt32(offset)) return row;
    if (reg == kDwarfRsp) {
      row.cfa = CfaRule::kRspOffset;
    } else if (reg == kDwarfRbp) {
      row.cfa = CfaRule::kRbpOffset;
    } else {
      return row;
    }
    row.cfa_offset = static_cast<int32_t>(offset);
  } else if (PltExpression(ops, nops, &offset, &threshold) && FitsInt32(offset)) {
    row.cfa = CfaRule::kPlt;
    row.cfa_offset = static_cast<int32_t>(offset);
    row.rbp_offset = static_cast<int16_t>(threshold);
    return row;  // .plt code never saves rbp
  } else {
    return row;
  }

  if (dwarf_frame_register(frame, kDwarfRbp, mem, &ops, &nops) != 0) {
    row.cfa = CfaRule::kUnsupported;
  } else if (nops == 0) {
    row.rbp = RbpRule::kSame;
  } else if (CfaPlus(ops, nops, &offset) && FitsInt16(offset)) {
    row.rbp = RbpRule::kAtCfaOffset;
    row.rbp_offset = static_cast<int16_t>(offset);
  } else {
    row.cfa = CfaRule::kUnsupported;
  }
  if (row.cfa == CfaRule::kUnsupported)
    row = UnwindRow{0, 0, 0, CfaRule::kUnsupported, RbpRule::kSame};
  return row;
}

struct Range {
  uint64_t start;
  uint64_t end;
  UnwindRow rule;
};

StatusOr<std::unique_ptr<UnwindTable>> BuildFromElf(Elf* elf, const std::string& what) {
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) {
    return InvalidArgumentError(what + ": not an ELF file");
  }
  GElf_Ehdr ehdr;
  if (gelf_getclass(elf) != ELFCLASS64 || gelf_getehdr(elf, &ehdr) == nullptr) {
    return InvalidArgumentError(what + ": not a 64-bit ELF file");
  }
  if (ehdr.e_machine != EM_X86_64) {
    return InvalidArgumentError(what + ": not an x86_64 ELF file (e_machine " +
                                std::to_string(ehdr.e_machine) + ")");
  }
  auto scan = ScanEhFrame(elf);
  if (!scan.ok()) return scan.status().WithPrefix(what);
  const std::vector<FdeSpan>& fdes = scan->fdes;

  Dwarf_CFI* cfi = dwarf_getcfi_elf(elf);
  if (cfi == nullptr) {
    return NotFoundError(what + ": no usable CFI: " + dwarf_errmsg(-1));
  }
  uint64_t budget = kBaseBudget + kBudgetPerEhFrameByte * scan->eh_frame_bytes;
  std::vector<Range> ranges;
  ranges.reserve(fdes.size() * 4);
  for (const FdeSpan& fde : fdes) {
    uint64_t pc = fde.start;
    uint64_t fde_cost = 0;
    for (int k = 0; k < kMaxRowsPerFde && pc < fde.end && fde_cost < kMaxCostPerFde; ++k) {
      if (budget < fde.cost) {
        dwarf_cfi_end(cfi);
        return ResourceExhaustedError(what + ": CFI too expensive to flatten");
      }
      budget -= fde.cost;
      fde_cost += fde.cost;
      Dwarf_Frame* frame = nullptr;
      if (dwarf_cfi_addrframe(cfi, pc, &frame) != 0 || frame == nullptr) break;
      Dwarf_Addr start = 0, end = 0;
      dwarf_frame_info(frame, &start, &end, nullptr);
      const UnwindRow rule = Classify(frame);
      std::free(frame);
      if (start > pc || end <= pc) break;
      const uint64_t row_end = std::min<uint64_t>(end, fde.end);
      ranges.push_back({pc, row_end, rule});
      pc = row_end;
    }
  }
  dwarf_cfi_end(cfi);

  std::vector<UnwindRow> rows;
  if (ranges.empty()) return std::make_unique<UnwindTable>(0, std::move(rows));
  const uint64_t base = ranges.front().start;
  if (ranges.back().end - base > std::numeric_limits<uint32_t>::max()) {
    return UnimplementedError(what + ": CFI spans more than 4 GiB of text");
  }
  uint64_t prev_end = base;
  for (const Range& r : ranges) {
    const bool contiguous = !rows.empty() && prev_end == r.start;
    if (contiguous && rows.back().SameRule(r.rule)) {
      prev_end = r.end;
      continue;
    }
    if (!rows.empty() && !contiguous) {
      rows.push_back({static_cast<uint32_t>(prev_end - base), 0, 0, CfaRule::kGap, RbpRule::kSame});
    }
    UnwindRow row = r.rule;
    row.pc_offset = static_cast<uint32_t>(r.start - base);
    rows.push_back(row);
    prev_end = r.end;
  }
  rows.push_back({static_cast<uint32_t>(prev_end - base), 0, 0, CfaRule::kGap, RbpRule::kSame});
  rows.shrink_to_fit();
  return std::make_unique<UnwindTable>(base, std::move(rows));
}

}  // namespace

StatusOr<std::unique_ptr<UnwindTable>> UnwindTable::FromFile(const std::string& path) {
  InitLibelf();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    Status s(err == ENOENT ? StatusCode::kNotFound : StatusCode::kUnavailable,
             path + ": " + std::strerror(err));
    return s;
  }
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  auto result = BuildFromElf(elf, path);
  if (elf != nullptr) elf_end(elf);
  close(fd);
  return result;
}

StatusOr<std::unique_ptr<UnwindTable>> UnwindTable::FromMemory(std::string_view elf_image) {
  InitLibelf();
  // libelf wants a mutable buffer; keep our own copy alive while building.
  std::string copy(elf_image);
  Elf* elf = elf_memory(copy.data(), copy.size());
  auto result = BuildFromElf(elf, "in-memory ELF image");
  if (elf != nullptr) elf_end(elf);
  return result;
}

UnwindTable::UnwindTable(uint64_t base, std::vector<UnwindRow> rows)
    : base_(base), rows_(std::move(rows)) {
  if (rows_.empty()) return;
  const uint64_t pages = (uint64_t{rows_.back().pc_offset} >> kPageBits) + 1;
  page_rows_.resize(pages + 1);
  size_t r = 0;
  for (uint64_t k = 0; k <= pages; ++k) {
    const uint64_t first = k << kPageBits;
    while (r < rows_.size() && rows_[r].pc_offset <= first) ++r;
    page_rows_[k] = static_cast<uint32_t>(r);
  }
}

const UnwindRow* UnwindTable::Find(uint64_t vaddr) const {
  if (rows_.empty() || vaddr < base_) return nullptr;
  const uint64_t offset = vaddr - base_;
  if (offset > std::numeric_limits<uint32_t>::max()) return nullptr;
  const UnwindRow* rows = rows_.data();
  // The first row starting after `offset` lies between the counts of rows
  // starting at or before this page's first byte and the next page's.
  const uint64_t page = offset >> kPageBits;
  size_t lo, hi;
  if (page + 1 < page_rows_.size()) {
    lo = page_rows_[page];
    hi = page_rows_[page + 1];
  } else {
    lo = page_rows_.back();
    hi = rows_.size();
  }
  while (lo < hi) {  // first row starting after `offset`
    const size_t mid = lo + (hi - lo) / 2;
    if (rows[mid].pc_offset <= offset) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return nullptr;
  const UnwindRow* row = &rows[lo - 1];
  return row->cfa == CfaRule::kGap ? nullptr : row;
}

}  // namespace stackhouse::sampler::unwind
