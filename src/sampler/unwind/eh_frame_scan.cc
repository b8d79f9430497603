#include "sampler/unwind/eh_frame_scan.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <string>

namespace stackhouse::sampler::unwind {
namespace {

constexpr uint8_t kPeOmit = 0xff;
constexpr size_t kMaxFdes = size_t{1} << 22;
constexpr uint64_t kLookupOverhead = 16;  // cost units added per lookup

template <typename T>
bool ReadRaw(const uint8_t** p, const uint8_t* end, T* out) {
  if (*p > end || static_cast<size_t>(end - *p) < sizeof(T)) return false;
  std::memcpy(out, *p, sizeof(T));
  *p += sizeof(T);
  return true;
}

bool ReadLeb(const uint8_t** p, const uint8_t* end, bool is_signed, uint64_t* out) {
  uint64_t v = 0;
  int shift = 0;
  uint8_t b = 0;
  do {
    if (*p >= end) return false;
    b = *(*p)++;
    if (shift < 64) v |= static_cast<uint64_t>(b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  if (is_signed && shift < 64 && (b & 0x40)) v |= ~uint64_t{0} << shift;
  *out = v;
  return true;
}

// Reads a DW_EH_PE-encoded value at *p, advancing *p. `field_vaddr` is the
// virtual address of the field (for pcrel), `data_base` the datarel base.
// Indirect, textrel, funcrel and aligned encodings are not supported.
bool ReadEncoded(uint8_t enc, const uint8_t** p, const uint8_t* end, uint64_t field_vaddr,
                 uint64_t data_base, uint64_t* out) {
  const uint8_t* q = *p;
  uint64_t v = 0;
  switch (enc & 0x0f) {
    case DW_EH_PE_absptr:
    case DW_EH_PE_udata8:
    case DW_EH_PE_sdata8:
      if (!ReadRaw(&q, end, &v)) return false;
      break;
    case DW_EH_PE_uleb128:
    case DW_EH_PE_sleb128:
      if (!ReadLeb(&q, end, (enc & 0x0f) == DW_EH_PE_sleb128, &v)) return false;
      break;
    case DW_EH_PE_udata2: {
      uint16_t x;
      if (!ReadRaw(&q, end, &x)) return false;
      v = x;
      break;
    }
    case DW_EH_PE_udata4: {
      uint32_t x;
      if (!ReadRaw(&q, end, &x)) return false;
      v = x;
      break;
    }
    case DW_EH_PE_sdata2: {
      int16_t x;
      if (!ReadRaw(&q, end, &x)) return false;
      v = static_cast<uint64_t>(static_cast<int64_t>(x));
      break;
    }
    case DW_EH_PE_sdata4: {
      int32_t x;
      if (!ReadRaw(&q, end, &x)) return false;
      v = static_cast<uint64_t>(static_cast<int64_t>(x));
      break;
    }
    default:
      return false;
  }
  if (enc & DW_EH_PE_indirect) return false;
  switch (enc & 0x70) {
    case DW_EH_PE_absptr:
      break;
    case DW_EH_PE_pcrel:
      v += field_vaddr;
      break;
    case DW_EH_PE_datarel:
      v += data_base;
      break;
    default:
      return false;
  }
  *p = q;
  *out = v;
  return true;
}

bool CheckRegister(const uint8_t** p, const uint8_t* end) {
  uint64_t reg;
  return ReadLeb(p, end, false, &reg) && reg <= kMaxCfiRegister;
}

bool SkipLeb(const uint8_t** p, const uint8_t* end) {
  uint64_t ignored;
  return ReadLeb(p, end, false, &ignored);
}

bool SkipBytes(const uint8_t** p, const uint8_t* end, uint64_t n) {
  if (n > static_cast<uint64_t>(end - *p)) return false;
  *p += n;
  return true;
}

bool SkipBlock(const uint8_t** p, const uint8_t* end) {
  uint64_t length;
  return ReadLeb(p, end, false, &length) && SkipBytes(p, end, length);
}

// Checks a CFA instruction stream: every instruction known and complete,
// every register operand at most kMaxCfiRegister.
bool CheckInstructions(const uint8_t* p, const uint8_t* end, uint8_t fde_encoding) {
  while (p < end) {
    const uint8_t op = *p++;
    switch (op & 0xc0) {
      case DW_CFA_advance_loc:
      case DW_CFA_restore:  // register in the low 6 bits
        continue;
      case DW_CFA_offset:
        if (!SkipLeb(&p, end)) return false;
        continue;
      default:
        break;
    }
    bool ok = true;
    switch (op) {
      case DW_CFA_nop:
      case DW_CFA_remember_state:
      case DW_CFA_restore_state:
        break;
      case DW_CFA_set_loc: {
        uint64_t ignored;
        ok = ReadEncoded(fde_encoding & 0x0f, &p, end, 0, 0, &ignored);
        break;
      }
      case DW_CFA_advance_loc1:
        ok = SkipBytes(&p, end, 1);
        break;
      case DW_CFA_advance_loc2:
        ok = SkipBytes(&p, end, 2);
        break;
      case DW_CFA_advance_loc4:
        ok = SkipBytes(&p, end, 4);
        break;
      case DW_CFA_offset_extended:
      case DW_CFA_def_cfa:
      case DW_CFA_val_offset:
      case DW_CFA_GNU_negative_offset_extended:
        ok = CheckRegister(&p, end) && SkipLeb(&p, end);
        break;
      case DW_CFA_offset_extended_sf:
      case DW_CFA_def_cfa_sf:
      case DW_CFA_val_offset_sf:
        ok = CheckRegister(&p, end) && SkipLeb(&p, end);  // the sleb has the same extent
        break;
      case DW_CFA_register:
        ok = CheckRegister(&p, end) && CheckRegister(&p, end);
        break;
      case DW_CFA_restore_extended:
      case DW_CFA_undefined:
      case DW_CFA_same_value:
      case DW_CFA_def_cfa_register:
        ok = CheckRegister(&p, end);
        break;
      case DW_CFA_def_cfa_offset:
      case DW_CFA_def_cfa_offset_sf:
      case DW_CFA_GNU_args_size:
        ok = SkipLeb(&p, end);
        break;
      case DW_CFA_def_cfa_expression:
        ok = SkipBlock(&p, end);
        break;
      case DW_CFA_expression:
      case DW_CFA_val_expression:
        ok = CheckRegister(&p, end) && SkipBlock(&p, end);
        break;
      default:
        return false;
    }
    if (!ok) return false;
  }
  return true;
}

struct CieInfo {
  bool ok = false;
  uint8_t fde_encoding = DW_EH_PE_absptr;
  bool sized_augmentation = false;      // 'z'
  uint64_t fde_augmentation_bytes = 0;  // without 'z'
  uint64_t instruction_bytes = 0;
};

// Parses a CIE's augmentation like libdw: the FDE pointer encoding ('R').
bool ParseAugmentation(const Dwarf_CIE& cie, CieInfo* info) {
  const char* aug = cie.augmentation;
  info->fde_augmentation_bytes = cie.fde_augmentation_data_size;
  if (aug == nullptr || aug[0] != 'z') return true;  // absptr, no sized data
  info->sized_augmentation = true;
  const uint8_t* a = cie.augmentation_data;
  if (a == nullptr) return false;
  const uint8_t* end = a + cie.augmentation_data_size;
  for (const char* c = aug + 1; *c != '\0'; ++c) {
    switch (*c) {
      case 'R':
        if (a >= end) return false;
        info->fde_encoding = *a++;
        break;
      case 'P': {
        if (a >= end) return false;
        const uint8_t enc = *a++;
        uint64_t ignored;
        if (!ReadEncoded(enc & 0x0f, &a, end, 0, 0, &ignored)) return false;
        break;
      }
      case 'L':
        if (a >= end) return false;
        ++a;
        break;
      case 'S':
        break;
      default:
        return true;  // libdw stops at an unknown character too
    }
  }
  return true;
}

// Reads and validates the entries of one .eh_frame image as libdw will.
class Scanner {
 public:
  Scanner(const unsigned char* ident, Elf_Data* data, uint64_t vaddr)
      : ident_(ident), data_(data), vaddr_(vaddr) {}

  // Validates the FDE at `offset` and its CIE; on success fills *span (with
  // start == end == 0 for an FDE covering nothing).
  Status CheckFde(Dwarf_Off offset, FdeSpan* span) {
    Dwarf_CFI_Entry entry;
    Dwarf_Off next = offset;
    if (dwarf_next_cfi(ident_, data_, true, offset, &next, &entry) != 0 ||
        dwarf_cfi_cie_p(&entry)) {
      return Bad(offset, "not an FDE");
    }
    const CieInfo* cie = CheckCie(entry.fde.CIE_pointer);
    if (cie == nullptr) return Bad(offset, "bad CIE");
    return DecodeFde(offset, entry.fde, *cie, span);
  }

  // Validates the CIE at `offset` (cached); nullptr if it is bad.
  const CieInfo* CheckCie(Dwarf_Off offset) {
    auto [it, inserted] = cies_.try_emplace(offset);
    CieInfo& info = it->second;
    if (!inserted) return info.ok ? &info : nullptr;
    Dwarf_CFI_Entry entry;
    Dwarf_Off next = offset;
    if (dwarf_next_cfi(ident_, data_, true, offset, &next, &entry) != 0 ||
        !dwarf_cfi_cie_p(&entry) || !ParseAugmentation(entry.cie, &info) ||
        !CheckInstructions(entry.cie.initial_instructions, entry.cie.initial_instructions_end,
                           info.fde_encoding)) {
      return nullptr;
    }
    info.instruction_bytes = entry.cie.initial_instructions_end - entry.cie.initial_instructions;
    info.ok = true;
    return &info;
  }

  // Walks all entries in order, as libdw's linear search does (skipping
  // entries it can skip), validating every one.
  Status CheckAll(std::vector<FdeSpan>* spans) {
    Dwarf_Off offset = 0;
    while (spans->size() < kMaxFdes) {
      Dwarf_CFI_Entry entry;
      Dwarf_Off next = offset;
      const int r = dwarf_next_cfi(ident_, data_, true, offset, &next, &entry);
      if (r > 0) return OkStatus();
      if (r < 0) {
        if (next == offset || next == static_cast<Dwarf_Off>(-1)) return OkStatus();
        offset = next;  // libdw skips this entry too
        continue;
      }
      if (dwarf_cfi_cie_p(&entry)) {
        if (CheckCie(offset) == nullptr) return Bad(offset, "bad CIE");
      } else {
        const CieInfo* cie = CheckCie(entry.fde.CIE_pointer);
        if (cie == nullptr) return Bad(offset, "bad CIE");
        FdeSpan span;
        SH_RETURN_IF_ERROR(DecodeFde(offset, entry.fde, *cie, &span));
        if (span.start != 0 && span.end > span.start) spans->push_back(span);
      }
      if (next <= offset) return OkStatus();
      offset = next;
    }
    return ResourceExhaustedError("more than " + std::to_string(kMaxFdes) + " FDEs");
  }

 private:
  Status DecodeFde(Dwarf_Off offset, const Dwarf_FDE& fde, const CieInfo& cie, FdeSpan* span) {
    const auto* begin = static_cast<const uint8_t*>(data_->d_buf);
    const uint8_t* p = fde.start;
    const uint8_t* end = fde.end;
    uint64_t start = 0, range = 0;
    if (!ReadEncoded(cie.fde_encoding, &p, end, vaddr_ + (p - begin), 0, &start) ||
        !ReadEncoded(cie.fde_encoding & 0x0f, &p, end, 0, 0, &range)) {
      return Bad(offset, "bad FDE address range");
    }
    if (cie.sized_augmentation) {
      if (!SkipBlock(&p, end)) return Bad(offset, "bad FDE augmentation");
    } else {
      if (!SkipBytes(&p, end, cie.fde_augmentation_bytes)) {
        return Bad(offset, "bad FDE augmentation");
      }
    }
    if (!CheckInstructions(p, end, cie.fde_encoding)) return Bad(offset, "bad FDE instructions");
    const bool empty = range == 0 || start + range < start;
    span->start = empty ? 0 : start;
    span->end = empty ? 0 : start + range;
    span->cost = cie.instruction_bytes + (end - p) + kLookupOverhead;
    return OkStatus();
  }

  static Status Bad(Dwarf_Off offset, const char* what) {
    return InvalidArgumentError(".eh_frame+" + std::to_string(offset) + ": " + what);
  }

  const unsigned char* ident_;
  Elf_Data* data_;
  uint64_t vaddr_;
  std::map<Dwarf_Off, CieInfo> cies_;
};

struct HdrTable {
  bool present = false;  // false: libdw searches linearly
  uint64_t eh_frame_vaddr = 0;
  uint8_t encoding = 0;
  const uint8_t* entries = nullptr;
  uint64_t count = 0;
  const uint8_t* begin = nullptr;  // the .eh_frame_hdr bytes
  const uint8_t* end = nullptr;
  uint64_t vaddr = 0;
};

// Parses .eh_frame_hdr the way libdw does. Returns false if libdw would
// reject the CFI altogether.
bool ParseHdr(const uint8_t* begin, size_t size, uint64_t vaddr, HdrTable* table) {
  const uint8_t* end = begin + size;
  const uint8_t* p = begin;
  if (size < 4 || p[0] != 1) return false;
  const uint8_t ptr_enc = p[1], count_enc = p[2], table_enc = p[3];
  p += 4;
  if (ptr_enc == kPeOmit) return false;
  if (!ReadEncoded(ptr_enc, &p, end, vaddr + (p - begin), vaddr, &table->eh_frame_vaddr)) {
    return false;
  }
  table->begin = begin;
  table->end = end;
  table->vaddr = vaddr;
  if (count_enc == kPeOmit) return true;
  uint64_t count = 0;
  if (!ReadEncoded(count_enc, &p, end, vaddr + (p - begin), vaddr, &count)) return false;
  if (count == 0 || table_enc == kPeOmit || (table_enc & 0x07) == DW_EH_PE_uleb128) return true;
  // Each entry is two values of at least 2 bytes.
  if (count > static_cast<uint64_t>(end - p) / 4) return false;
  table->present = true;
  table->encoding = table_enc;
  table->entries = p;
  table->count = count;
  return true;
}

Status ScanWithTable(Scanner* scanner, const HdrTable& table, EhFrameScan* out) {
  if (table.count > kMaxFdes) return ResourceExhaustedError("too many FDEs in .eh_frame_hdr");
  const uint8_t* p = table.entries;
  out->fdes.reserve(table.count);
  uint64_t previous = 0;
  for (uint64_t i = 0; i < table.count; ++i) {
    uint64_t loc = 0, fde = 0;
    const uint64_t loc_vaddr = table.vaddr + (p - table.begin);
    if (!ReadEncoded(table.encoding, &p, table.end, loc_vaddr, table.vaddr, &loc) ||
        !ReadEncoded(table.encoding, &p, table.end, table.vaddr + (p - table.begin), table.vaddr,
                     &fde)) {
      return InvalidArgumentError(".eh_frame_hdr: truncated table");
    }
    if (i > 0 && loc <= previous) return InvalidArgumentError(".eh_frame_hdr: table not sorted");
    previous = loc;
    if (fde < table.eh_frame_vaddr) return InvalidArgumentError(".eh_frame_hdr: bad FDE address");
    FdeSpan span;
    SH_RETURN_IF_ERROR(scanner->CheckFde(fde - table.eh_frame_vaddr, &span));
    // libdw finds the FDE by `loc` and then checks the FDE's own range.
    if (span.end > span.start && span.start != loc) {
      return InvalidArgumentError(".eh_frame_hdr: table entry does not match its FDE");
    }
    if (span.end > span.start) out->fdes.push_back(span);
  }
  return OkStatus();
}

}  // namespace

StatusOr<EhFrameScan> ScanEhFrame(Elf* elf) {
  const auto* ident = reinterpret_cast<const unsigned char*>(elf_getident(elf, nullptr));
  if (ident == nullptr || ident[EI_DATA] != ELFDATA2LSB) {
    return InvalidArgumentError("not a little-endian ELF file");
  }
  Elf_Data* eh_frame = nullptr;
  uint64_t eh_frame_vaddr = 0;
  HdrTable table;

  // Like libdw: the first .eh_frame and .eh_frame_hdr sections, if any.
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) == 0 && shstrndx != 0) {
    Elf_Scn* eh_scn = nullptr;
    Elf_Scn* hdr_scn = nullptr;
    GElf_Shdr eh_shdr = {}, hdr_shdr = {};
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr shdr;
      if (gelf_getshdr(scn, &shdr) == nullptr || shdr.sh_type == SHT_NOBITS) continue;
      const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
      if (name == nullptr) continue;
      if (eh_scn == nullptr && std::strcmp(name, ".eh_frame") == 0) {
        eh_scn = scn;
        eh_shdr = shdr;
      } else if (hdr_scn == nullptr && std::strcmp(name, ".eh_frame_hdr") == 0) {
        hdr_scn = scn;
        hdr_shdr = shdr;
      }
    }
    if (eh_scn != nullptr) {
      eh_frame = elf_rawdata(eh_scn, nullptr);
      if (eh_frame == nullptr || eh_frame->d_buf == nullptr) {
        return InvalidArgumentError(".eh_frame: unreadable");
      }
      eh_frame_vaddr = eh_shdr.sh_addr;
      if (hdr_scn != nullptr) {
        Elf_Data* hdr = elf_rawdata(hdr_scn, nullptr);
        if (hdr != nullptr && hdr->d_buf != nullptr) {
          if (!ParseHdr(static_cast<const uint8_t*>(hdr->d_buf), hdr->d_size, hdr_shdr.sh_addr,
                        &table)) {
            return InvalidArgumentError(".eh_frame_hdr: malformed");
          }
          if (table.eh_frame_vaddr != eh_frame_vaddr) table.present = false;
        }
      }
    }
  }
  // Otherwise PT_GNU_EH_FRAME, with .eh_frame running to the end of the file.
  if (eh_frame == nullptr) {
    size_t phnum = 0;
    if (elf_getphdrnum(elf, &phnum) != 0) return NotFoundError("no .eh_frame");
    for (size_t i = 0; i < phnum && eh_frame == nullptr; ++i) {
      GElf_Phdr ph;
      if (gelf_getphdr(elf, static_cast<int>(i), &ph) == nullptr) break;
      if (ph.p_type != PT_GNU_EH_FRAME) continue;
      Elf_Data* hdr = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_BYTE);
      if (hdr == nullptr || hdr->d_buf == nullptr ||
          !ParseHdr(static_cast<const uint8_t*>(hdr->d_buf), hdr->d_size, ph.p_vaddr, &table)) {
        return InvalidArgumentError("PT_GNU_EH_FRAME: malformed .eh_frame_hdr");
      }
      size_t file_size = 0;
      const uint64_t offset = table.eh_frame_vaddr - ph.p_vaddr + ph.p_offset;
      if (elf_rawfile(elf, &file_size) == nullptr || offset >= file_size) {
        return InvalidArgumentError("PT_GNU_EH_FRAME: .eh_frame outside the file");
      }
      eh_frame = elf_getdata_rawchunk(elf, offset, file_size - offset, ELF_T_BYTE);
      if (eh_frame == nullptr || eh_frame->d_buf == nullptr) {
        return InvalidArgumentError("PT_GNU_EH_FRAME: .eh_frame unreadable");
      }
      eh_frame_vaddr = table.eh_frame_vaddr;
    }
  }
  if (eh_frame == nullptr) return NotFoundError("no .eh_frame");

  EhFrameScan out;
  out.eh_frame_bytes = eh_frame->d_size;
  Scanner scanner(ident, eh_frame, eh_frame_vaddr);
  if (table.present) {
    SH_RETURN_IF_ERROR(ScanWithTable(&scanner, table, &out));
  } else {
    SH_RETURN_IF_ERROR(scanner.CheckAll(&out.fdes));
  }
  std::sort(out.fdes.begin(), out.fdes.end(),
            [](const FdeSpan& a, const FdeSpan& b) { return a.start < b.start; });
  for (size_t i = 1; i < out.fdes.size(); ++i) {
    if (out.fdes[i].start < out.fdes[i - 1].end) {
      return InvalidArgumentError("overlapping FDEs at " + std::to_string(out.fdes[i].start));
    }
  }
  return out;
}

}  // namespace stackhouse::sampler::unwind
