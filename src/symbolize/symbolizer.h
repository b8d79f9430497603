// Symbolization: turns addresses inside ELF files into function / file / line
// frames, with inline chains from DWARF, plus build ids, C++ / Rust-legacy
// demangling and /proc/<pid>/maps helpers to map runtime addresses.
//
// An ElfSymbolizer owns one opened ELF file (its descriptor or a private copy
// of the bytes, the libelf / libdw handles and the lookup tables). It is
// thread-compatible: Symbolize() fills caches lazily, so callers serialize
// access to one instance; distinct instances are independent. Nothing here is
// async-signal-safe: use it from a background thread, never a signal handler.
// Malformed or hostile ELF / DWARF input gives a Status error from Open*, or
// fewer (possibly empty) frames from Symbolize(), never a crash.
#ifndef STACKHOUSE_SYMBOLIZE_SYMBOLIZER_H_
#define STACKHOUSE_SYMBOLIZE_SYMBOLIZER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace stackhouse::symbolize {

namespace internal {
class DwarfIndex;
class ElfImage;
class SymbolTable;
}  // namespace internal

struct Frame {
  // Demangled when it was a C++ (Itanium) or Rust-legacy mangled name; empty when unknown.
  std::string function;
  std::string file;  // source file from DWARF line info, empty when none
  int line = 0;      // 0 when unknown

  bool operator==(const Frame&) const = default;
};

// One ELF file (executable, shared library, or separate debug file), opened
// once and queried many times.
class ElfSymbolizer {
 public:
  // A PT_LOAD program header of the ELF.
  struct Segment {
    uint64_t vaddr = 0;   // p_vaddr
    uint64_t memsz = 0;   // p_memsz
    uint64_t offset = 0;  // p_offset
    bool exec = false;    // PF_X
    uint64_t filesz = 0;  // p_filesz
  };

  // Opens an ET_EXEC / ET_DYN file. When the file itself has no DWARF, a
  // separate debug file is looked up (optional, silently skipped when absent):
  // /usr/lib/debug/.build-id/xx/yyyy.debug, then the .gnu_debuglink name next
  // to the file, in its .debug/ folder and under /usr/lib/debug/<dir>/.
  // Errors: NOT_FOUND (no such file), PERMISSION_DENIED, INVALID_ARGUMENT (not
  // ELF, unsupported type, truncated or corrupt headers); messages name the path.
  static StatusOr<std::unique_ptr<ElfSymbolizer>> Open(const std::string& path);

  // The same from an in-memory image (e.g. the vDSO copied out of memory); the
  // bytes are copied. No separate debug file is looked up. `name` is used in
  // error messages.
  static StatusOr<std::unique_ptr<ElfSymbolizer>> OpenMemory(std::string_view image,
                                                             std::string name);

  ~ElfSymbolizer();
  ElfSymbolizer(const ElfSymbolizer&) = delete;
  ElfSymbolizer& operator=(const ElfSymbolizer&) = delete;

  // The path or name given to Open / OpenMemory.
  const std::string& name() const { return name_; }
  // Lower-case hex of NT_GNU_BUILD_ID, empty if none.
  const std::string& build_id() const { return build_id_; }
  // Path of the separate debug file in use, empty when none.
  const std::string& debug_file() const { return debug_file_; }
  // True when DWARF (from the file or its debug file) is available.
  bool has_dwarf() const { return dwarf_ != nullptr; }
  // The PT_LOAD segments, in program header order.
  const std::vector<Segment>& segments() const { return segments_; }

  // `vaddr` is an address in the ELF's own virtual address space (runtime pc
  // minus load bias; for a return address pass pc - 1). Returns frames
  // innermost first: with DWARF, inlined callers appear as extra frames
  // (innermost inline first, the real function last), each caller with the
  // file/line of its call site; without DWARF one frame from .symtab
  // (preferred) or .dynsym. Empty when nothing covers vaddr.
  std::vector<Frame> Symbolize(uint64_t vaddr);

 private:
  ElfSymbolizer();
  static StatusOr<std::unique_ptr<ElfSymbolizer>> Init(std::unique_ptr<internal::ElfImage> image,
                                                       bool find_debug_file);
  void FindDebugFile();

  std::string name_;
  std::string build_id_;
  std::string debug_file_;
  std::vector<Segment> segments_;
  std::unique_ptr<internal::ElfImage> image_;
  std::unique_ptr<internal::ElfImage> debug_image_;  // may be null
  std::unique_ptr<internal::SymbolTable> symbols_;
  std::unique_ptr<internal::DwarfIndex> dwarf_;  // null without DWARF
};

// Demangles an Itanium C++ name ("_ZN3foo3barEv" -> "foo::bar()") or a legacy
// Rust name (hash suffix and $..$ escapes removed). Returns the input
// unchanged when it is not a mangled name or does not demangle.
std::string Demangle(std::string_view mangled);

// The NT_GNU_BUILD_ID of an ELF file as lower-case hex, "" when it has none.
StatusOr<std::string> ReadBuildId(const std::string& path);

// One line of /proc/<pid>/maps.
struct MappingInfo {
  uint64_t start = 0;        // first runtime address
  uint64_t limit = 0;        // one past the last runtime address
  uint64_t file_offset = 0;  // offset of `start` in the file
  std::string path;          // file path as the kernel prints it, or "[vdso]"
  bool exec = false;         // mapped executable
  uint64_t inode = 0;        // the file's inode number (0 for [vdso])
};

// Parses /proc/<pid>/maps (pid 0 = self). Keeps file-backed mappings (path
// starting with '/') and [vdso]; anonymous, [heap], [stack] etc. are dropped.
StatusOr<std::vector<MappingInfo>> ReadProcMaps(int pid);

// The ELF vaddr of `runtime_addr`, an address inside mapping `m` of ELF `elf`
// (uses the PT_LOAD segment that maps the mapping's file range).
uint64_t RuntimeToElfVaddr(const MappingInfo& m, const ElfSymbolizer& elf, uint64_t runtime_addr);

}  // namespace stackhouse::symbolize

#endif  // STACKHOUSE_SYMBOLIZE_SYMBOLIZER_H_
