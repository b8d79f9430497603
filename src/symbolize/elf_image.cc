#include "symbolize/elf_image.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "base/strings.h"

namespace stackhouse::symbolize::internal {
namespace {

// libelf must be told the ELF version it works with once per process.
bool InitLibelf() {
  static const bool ok = elf_version(EV_CURRENT) != EV_NONE;
  return ok;
}

std::string ElfError() {
  const char* msg = elf_errmsg(-1);
  return msg != nullptr ? msg : "unknown libelf error";
}

Status OpenError(const std::string& path, int err) {
  std::string msg = StrCat(path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(std::move(msg));
    case EACCES:
    case EPERM:
      return PermissionDeniedError(std::move(msg));
    default:
      return UnavailableError(std::move(msg));
  }
}

}  // namespace

std::string HexString(const void* data, size_t size) {
  return HexEncode(std::string_view(static_cast<const char*>(data), size));
}

StatusOr<std::unique_ptr<ElfImage>> ElfImage::OpenFile(const std::string& path) {
  if (!InitLibelf()) return InternalError("libelf: elf_version failed");
  std::unique_ptr<ElfImage> image(new ElfImage());
  image->name_ = path;
  image->fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (image->fd_ < 0) return OpenError(path, errno);
  struct stat st;
  if (fstat(image->fd_, &st) != 0) return OpenError(path, errno);
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(StrCat(path, ": not a regular file"));
  if (st.st_size == 0) return InvalidArgumentError(StrCat(path, ": empty file, not an ELF file"));
  image->size_ = static_cast<uint64_t>(st.st_size);
  image->elf_ = elf_begin(image->fd_, ELF_C_READ_MMAP, nullptr);
  if (image->elf_ == nullptr) {
    return InvalidArgumentError(StrCat(path, ": not a readable ELF file (", ElfError(), ")"));
  }
  SH_RETURN_IF_ERROR(image->Validate());
  return image;
}

StatusOr<std::unique_ptr<ElfImage>> ElfImage::OpenMemory(std::string_view bytes, std::string name) {
  if (!InitLibelf()) return InternalError("libelf: elf_version failed");
  std::unique_ptr<ElfImage> image(new ElfImage());
  image->name_ = std::move(name);
  if (bytes.empty()) {
    return InvalidArgumentError(StrCat(image->name_, ": empty image, not an ELF file"));
  }
  // libelf may write into the image (section headers of compressed sections
  // are updated in place), so it gets a private, suitably aligned copy.
  image->buffer_.reset(new char[bytes.size()]);
  std::memcpy(image->buffer_.get(), bytes.data(), bytes.size());
  image->size_ = bytes.size();
  image->elf_ = elf_memory(image->buffer_.get(), bytes.size());
  if (image->elf_ == nullptr) {
    return InvalidArgumentError(
        StrCat(image->name_, ": not a readable ELF image (", ElfError(), ")"));
  }
  SH_RETURN_IF_ERROR(image->Validate());
  return image;
}

ElfImage::~ElfImage() {
  if (elf_ != nullptr) elf_end(elf_);
  if (fd_ >= 0) close(fd_);
}

Status ElfImage::Validate() {
  if (elf_kind(elf_) != ELF_K_ELF) return InvalidArgumentError(StrCat(name_, ": not an ELF file"));
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf_, &ehdr) == nullptr) {
    return InvalidArgumentError(StrCat(name_, ": bad ELF header (", ElfError(), ")"));
  }
  if (ehdr.e_type != ET_EXEC && ehdr.e_type != ET_DYN) {
    return InvalidArgumentError(StrCat(name_, ": unsupported ELF type ", ehdr.e_type,
                                       " (want an executable or a shared object)"));
  }
  // The header tables must lie inside the image (libelf tolerates a missing
  // section header table, which is how a truncated file usually looks).
  auto table_fits = [this](uint64_t offset, uint64_t count, uint64_t entry_size) {
    if (count == 0) return true;
    if (offset > size_ || entry_size == 0) return false;
    return count <= (size_ - offset) / entry_size;
  };
  uint64_t shdr_count = ehdr.e_shnum != 0 || ehdr.e_shoff == 0 ? ehdr.e_shnum : 1;  // extended
  if (!table_fits(ehdr.e_shoff, shdr_count, ehdr.e_shentsize)) {
    return InvalidArgumentError(StrCat(name_, ": section header table (offset ", ehdr.e_shoff,
                                       ") extends past the end (", size_,
                                       " bytes); truncated file?"));
  }
  if (!table_fits(ehdr.e_phoff, ehdr.e_phnum, ehdr.e_phentsize)) {
    return InvalidArgumentError(StrCat(name_, ": program header table (offset ", ehdr.e_phoff,
                                       ") extends past the end (", size_,
                                       " bytes); truncated file?"));
  }

  size_t num_sections = 0;
  if (elf_getshdrnum(elf_, &num_sections) != 0) {
    return InvalidArgumentError(
        StrCat(name_, ": bad section header table, truncated? (", ElfError(), ")"));
  }
  if (num_sections > 0) {
    if (elf_getshdrstrndx(elf_, &shstrndx_) != 0) {
      return InvalidArgumentError(
          StrCat(name_, ": bad section name table index (", ElfError(), ")"));
    }
    has_shstrtab_ = shstrndx_ < num_sections;
  }
  for (size_t i = 1; i < num_sections; ++i) {
    Elf_Scn* scn = elf_getscn(elf_, i);
    GElf_Shdr shdr;
    if (scn == nullptr || gelf_getshdr(scn, &shdr) == nullptr) {
      return InvalidArgumentError(StrCat(name_, ": unreadable section header ", i));
    }
    if (shdr.sh_type == SHT_NOBITS || shdr.sh_size == 0) continue;
    if (shdr.sh_offset > size_ || shdr.sh_size > size_ - shdr.sh_offset) {
      return InvalidArgumentError(StrCat(name_, ": section ", i, " (offset ", shdr.sh_offset,
                                         ", size ", shdr.sh_size, ") extends past the end (", size_,
                                         " bytes); truncated file?"));
    }
  }

  size_t num_phdrs = 0;
  if (elf_getphdrnum(elf_, &num_phdrs) != 0) {
    return InvalidArgumentError(
        StrCat(name_, ": bad program header table, truncated? (", ElfError(), ")"));
  }
  for (size_t i = 0; i < num_phdrs; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf_, static_cast<int>(i), &phdr) == nullptr) {
      return InvalidArgumentError(
          StrCat(name_, ": unreadable program header ", i, " (", ElfError(), "); truncated file?"));
    }
  }
  return OkStatus();
}

template <typename Fn>
bool ElfImage::AnySection(Fn fn) const {
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf_, scn)) != nullptr) {
    GElf_Shdr shdr;
    if (gelf_getshdr(scn, &shdr) == nullptr) continue;
    const char* name = has_shstrtab_ ? elf_strptr(elf_, shstrndx_, shdr.sh_name) : nullptr;
    if (fn(scn, shdr, std::string_view(name != nullptr ? name : ""))) return true;
  }
  return false;
}

std::string ElfImage::BuildId() const {
  const void* id = nullptr;
  ssize_t len = dwelf_elf_gnu_build_id(elf_, &id);
  if (len <= 0 || id == nullptr || len > 1024) return "";
  return HexString(id, static_cast<size_t>(len));
}

std::string ElfImage::DebugLink() const {
  GElf_Word crc = 0;
  const char* name = dwelf_elf_gnu_debuglink(elf_, &crc);
  return name != nullptr ? std::string(name) : std::string();
}

bool ElfImage::HasDwarf() const {
  return AnySection([](Elf_Scn*, const GElf_Shdr& shdr, std::string_view name) {
    return (name == ".debug_info" || name == ".zdebug_info") && shdr.sh_type != SHT_NOBITS &&
           shdr.sh_size > 0;
  });
}

bool ElfImage::HasSymtab() const {
  return AnySection([](Elf_Scn*, const GElf_Shdr& shdr, std::string_view) {
    return shdr.sh_type == SHT_SYMTAB && shdr.sh_size > 0;
  });
}

StatusOr<std::vector<ElfSymbolizer::Segment>> ElfImage::Segments() const {
  size_t num_phdrs = 0;
  if (elf_getphdrnum(elf_, &num_phdrs) != 0) {
    return InvalidArgumentError(StrCat(name_, ": bad program header table (", ElfError(), ")"));
  }
  std::vector<ElfSymbolizer::Segment> out;
  for (size_t i = 0; i < num_phdrs; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf_, static_cast<int>(i), &phdr) == nullptr) {
      return InvalidArgumentError(StrCat(name_, ": unreadable program header ", i));
    }
    if (phdr.p_type != PT_LOAD || phdr.p_memsz == 0) continue;
    ElfSymbolizer::Segment seg;
    seg.vaddr = phdr.p_vaddr;
    seg.memsz = phdr.p_memsz;
    seg.offset = phdr.p_offset;
    seg.exec = (phdr.p_flags & PF_X) != 0;
    seg.filesz = phdr.p_filesz;
    out.push_back(seg);
  }
  return out;
}

}  // namespace stackhouse::symbolize::internal
