// /proc/<pid>/maps parsing and runtime -> ELF address translation (Linux).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "symbolize/symbolizer.h"

namespace stackhouse::symbolize {
namespace {

// Splits off the next space-delimited token of `s`.
std::string_view NextToken(std::string_view* s) {
  size_t start = s->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *s = {};
    return {};
  }
  s->remove_prefix(start);
  size_t end = s->find(' ');
  std::string_view token = s->substr(0, end);
  s->remove_prefix(end == std::string_view::npos ? s->size() : end);
  return token;
}

// "start-limit perms offset dev inode [path]"; nullopt when malformed.
std::optional<MappingInfo> ParseMapsLine(std::string_view line) {
  std::string_view range = NextToken(&line);
  std::string_view perms = NextToken(&line);
  std::string_view offset = NextToken(&line);
  NextToken(&line);  // device
  std::string_view inode = NextToken(&line);
  if (inode.empty() || perms.size() < 4) return std::nullopt;
  size_t dash = range.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto start = ParseUint64(range.substr(0, dash), 16);
  auto limit = ParseUint64(range.substr(dash + 1), 16);
  auto off = ParseUint64(offset, 16);
  if (!start || !limit || !off || *limit < *start) return std::nullopt;
  size_t path_start = line.find_first_not_of(' ');
  std::string_view path =
      path_start == std::string_view::npos ? std::string_view() : line.substr(path_start);
  MappingInfo m;
  m.start = *start;
  m.limit = *limit;
  m.file_offset = *off;
  m.path = std::string(path);
  m.exec = perms[2] == 'x';
  m.inode = ParseUint64(inode, 10).value_or(0);
  return m;
}

}  // namespace

StatusOr<std::vector<MappingInfo>> ReadProcMaps(int pid) {
  std::string path = pid == 0 ? "/proc/self/maps" : StrCat("/proc/", pid, "/maps");
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) {
    int err = errno;
    std::string msg = StrCat(path, ": ", std::strerror(err));
    if (err == ENOENT) return NotFoundError(StrCat(msg, " (no such process?)"));
    if (err == EACCES || err == EPERM) return PermissionDeniedError(std::move(msg));
    return UnavailableError(std::move(msg));
  }
  std::vector<MappingInfo> out;
  char* buf = nullptr;
  size_t cap = 0;
  ssize_t len;
  int line_no = 0;
  Status status;
  while ((len = getline(&buf, &cap, f)) > 0) {
    ++line_no;
    std::string_view line(buf, static_cast<size_t>(len));
    if (line.back() == '\n') line.remove_suffix(1);
    auto m = ParseMapsLine(line);
    if (!m) {
      status = DataLossError(StrCat(path, ":", line_no, ": malformed line ", Quote(line)));
      break;
    }
    if (m->path.empty() || (m->path[0] != '/' && m->path != "[vdso]")) continue;
    out.push_back(std::move(*m));
  }
  if (status.ok() && std::ferror(f)) status = UnavailableError(StrCat(path, ": read error"));
  std::free(buf);
  std::fclose(f);
  if (!status.ok()) return status;
  return out;
}

uint64_t RuntimeToElfVaddr(const MappingInfo& m, const ElfSymbolizer& elf, uint64_t runtime_addr) {
  // The file offset of runtime_addr, then the vaddr the ELF gives that offset.
  const uint64_t file_offset = runtime_addr - m.start + m.file_offset;
  const uint64_t map_begin = m.file_offset;
  const uint64_t map_end = m.file_offset + (m.limit - m.start);
  // Best: the segment holding that offset with the mapping's permission; then
  // any holding it; then one overlapping the mapping; then any of the same
  // permission (e.g. a mapping whose offset the ELF does not describe).
  const ElfSymbolizer::Segment* best = nullptr;
  int best_score = -1;
  for (const auto& seg : elf.segments()) {
    uint64_t seg_end = seg.offset + seg.filesz;
    int score = (seg.exec == m.exec ? 1 : 0);
    if (file_offset >= seg.offset && file_offset < seg_end) {
      score += 4;
    } else if (seg.offset < map_end && seg_end > map_begin) {
      score += 2;
    }
    if (score > best_score) {
      best = &seg;
      best_score = score;
    }
  }
  if (best == nullptr) return file_offset;
  return best->vaddr + (file_offset - best->offset);
}

}  // namespace stackhouse::symbolize
