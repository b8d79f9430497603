#include "symbolize/symbolizer.h"

#include <elf.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <utility>

#include "base/strings.h"
#include "symbolize/dwarf_index.h"
#include "symbolize/elf_image.h"
#include "symbolize/symbol_table.h"

namespace stackhouse::symbolize {
namespace {

constexpr char kDebugRoot[] = "/usr/lib/debug";

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The file's real path (symlinks such as /proc/self/exe resolved), or `path`.
std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return path;
  return buf;
}

}  // namespace

ElfSymbolizer::ElfSymbolizer() = default;
ElfSymbolizer::~ElfSymbolizer() {
  // The tables point into the images, so they go first.
  dwarf_.reset();
  symbols_.reset();
  debug_image_.reset();
  image_.reset();
}

StatusOr<std::unique_ptr<ElfSymbolizer>> ElfSymbolizer::Open(const std::string& path) {
  SH_ASSIGN_OR_RETURN(auto image, internal::ElfImage::OpenFile(path));
  return Init(std::move(image), /*find_debug_file=*/true);
}

StatusOr<std::unique_ptr<ElfSymbolizer>> ElfSymbolizer::OpenMemory(std::string_view image_bytes,
                                                                   std::string name) {
  SH_ASSIGN_OR_RETURN(auto image, internal::ElfImage::OpenMemory(image_bytes, std::move(name)));
  return Init(std::move(image), /*find_debug_file=*/false);
}

StatusOr<std::unique_ptr<ElfSymbolizer>> ElfSymbolizer::Init(
    std::unique_ptr<internal::ElfImage> image, bool find_debug_file) {
  std::unique_ptr<ElfSymbolizer> s(new ElfSymbolizer());
  s->name_ = image->name();
  s->build_id_ = image->BuildId();
  SH_ASSIGN_OR_RETURN(s->segments_, image->Segments());
  s->image_ = std::move(image);
  if (find_debug_file && !s->image_->HasDwarf()) s->FindDebugFile();

  s->symbols_ = std::make_unique<internal::SymbolTable>();
  s->symbols_->Add(s->image_->elf(), SHT_SYMTAB);
  if (s->debug_image_ != nullptr) s->symbols_->Add(s->debug_image_->elf(), SHT_SYMTAB);
  s->symbols_->Add(s->image_->elf(), SHT_DYNSYM);
  s->symbols_->Finish();

  std::vector<Segment> code;
  for (const Segment& seg : s->segments_) {
    if (seg.exec) code.push_back(seg);
  }
  const internal::ElfImage& dwarf_image =
      s->debug_image_ != nullptr ? *s->debug_image_ : *s->image_;
  s->dwarf_ = internal::DwarfIndex::Create(dwarf_image.elf(), code);
  return s;
}

// Looks for a separate debug file: by build id, then by .gnu_debuglink. A
// candidate is used when it opens, has DWARF or a .symtab, and (when both
// have one) carries the same build id.
void ElfSymbolizer::FindDebugFile() {
  std::vector<std::string> candidates;
  if (build_id_.size() > 2) {
    candidates.push_back(StrCat(kDebugRoot, "/.build-id/", build_id_.substr(0, 2), "/",
                                build_id_.substr(2), ".debug"));
  }
  std::string link = image_->DebugLink();
  if (!link.empty() && link.find('/') == std::string::npos) {
    std::string real = RealPath(name_);
    std::string dir = DirName(real);
    std::string self = real;
    for (std::string c : {StrCat(dir, "/", link), StrCat(dir, "/.debug/", link),
                          StrCat(kDebugRoot, dir == "/" ? "" : dir, "/", link)}) {
      if (c != self) candidates.push_back(std::move(c));
    }
  }
  for (const std::string& candidate : candidates) {
    if (access(candidate.c_str(), R_OK) != 0) continue;
    auto debug = internal::ElfImage::OpenFile(candidate);
    if (!debug.ok()) continue;
    std::string id = (*debug)->BuildId();
    if (!build_id_.empty() && !id.empty() && id != build_id_) continue;
    if (!(*debug)->HasDwarf() && !(*debug)->HasSymtab()) continue;
    debug_file_ = candidate;
    debug_image_ = std::move(*debug);
    return;
  }
}

std::vector<Frame> ElfSymbolizer::Symbolize(uint64_t vaddr) {
  std::vector<Frame> frames;
  if (dwarf_ != nullptr) dwarf_->Lookup(vaddr, &frames);
  if (frames.empty() || frames.back().function.empty()) {
    if (const char* name = symbols_->Lookup(vaddr); name != nullptr) {
      if (frames.empty()) frames.emplace_back();
      frames.back().function = Demangle(name);
    }
  }
  if (frames.size() == 1 && frames[0] == Frame()) frames.clear();
  return frames;
}

StatusOr<std::string> ReadBuildId(const std::string& path) {
  SH_ASSIGN_OR_RETURN(auto image, internal::ElfImage::OpenFile(path));
  return image->BuildId();
}

}  // namespace stackhouse::symbolize
