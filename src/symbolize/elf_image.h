// Internal: one ELF opened with libelf, from a file (read-only mmap) or from a
// private copy of in-memory bytes, with its headers validated up front so that
// later section / segment reads stay within the image.
//
// Owns the descriptor or the buffer and the Elf handle. Thread-compatible.
#ifndef STACKHOUSE_SYMBOLIZE_ELF_IMAGE_H_
#define STACKHOUSE_SYMBOLIZE_ELF_IMAGE_H_

#include <libelf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "symbolize/symbolizer.h"

namespace stackhouse::symbolize::internal {

class ElfImage {
 public:
  static StatusOr<std::unique_ptr<ElfImage>> OpenFile(const std::string& path);
  static StatusOr<std::unique_ptr<ElfImage>> OpenMemory(std::string_view bytes, std::string name);
  ~ElfImage();
  ElfImage(const ElfImage&) = delete;
  ElfImage& operator=(const ElfImage&) = delete;

  Elf* elf() const { return elf_; }
  const std::string& name() const { return name_; }

  // Lower-case hex of NT_GNU_BUILD_ID, "" when none.
  std::string BuildId() const;
  // The .gnu_debuglink file name, "" when none.
  std::string DebugLink() const;
  // True when a .debug_info (or .zdebug_info) section with contents exists.
  bool HasDwarf() const;
  // True when a non-empty SHT_SYMTAB section exists.
  bool HasSymtab() const;
  // The PT_LOAD program headers.
  StatusOr<std::vector<ElfSymbolizer::Segment>> Segments() const;

 private:
  ElfImage() = default;
  Status Validate();
  // Calls `fn(scn, shdr, section_name)` for every section until it returns true.
  template <typename Fn>
  bool AnySection(Fn fn) const;

  std::string name_;
  int fd_ = -1;
  std::unique_ptr<char[]> buffer_;  // OpenMemory only
  uint64_t size_ = 0;
  Elf* elf_ = nullptr;
  size_t shstrndx_ = 0;
  bool has_shstrtab_ = false;
};

// Lower-case hex.
std::string HexString(const void* data, size_t size);

}  // namespace stackhouse::symbolize::internal

#endif  // STACKHOUSE_SYMBOLIZE_ELF_IMAGE_H_
