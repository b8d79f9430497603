#include "agent/process_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "base/clock.h"
#include "base/file.h"
#include <re2/re2.h>
#include "base/strings.h"

namespace stackhouse::agent {
namespace {

std::string ReadSmall(const std::string& path, size_t max = 1 << 20) {
  auto s = ReadFile(path, max);
  return s.ok() ? *s : std::string();
}

std::vector<symbolize::MappingInfo> ExecMaps(int pid) {
  std::vector<symbolize::MappingInfo> out;
  auto maps = symbolize::ReadProcMaps(pid);
  if (!maps.ok()) return out;
  for (auto& m : *maps) {
    if (m.exec) out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  return out;
}

const symbolize::MappingInfo* FindMapping(const std::vector<symbolize::MappingInfo>& maps, uint64_t addr) {
  auto it = std::upper_bound(maps.begin(), maps.end(), addr,
                             [](uint64_t a, const symbolize::MappingInfo& m) { return a < m.start; });
  if (it == maps.begin()) return nullptr;
  --it;
  return addr < it->limit ? &*it : nullptr;
}

}  // namespace

std::vector<ProcessInfo::JitSymbol> ParsePerfMap(std::string_view text) {
  std::vector<ProcessInfo::JitSymbol> out;
  for (std::string_view line : Split(text, '\n')) {
    size_t a = line.find(' ');
    if (a == std::string_view::npos) continue;
    size_t b = line.find(' ', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view start_hex = line.substr(0, a), size_hex = line.substr(a + 1, b - a - 1);
    if (start_hex.starts_with("0x")) start_hex.remove_prefix(2);
    if (size_hex.starts_with("0x")) size_hex.remove_prefix(2);
    auto start = ParseUint64(start_hex, 16);
    auto size = ParseUint64(size_hex, 16);
    std::string_view name = TrimRight(line.substr(b + 1));
    if (!start || !size || *size == 0 || name.empty()) continue;
    out.push_back({*start, *size, std::string(name)});
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.start < y.start; });
  return out;
}

std::string ContainerIdFromCgroup(std::string_view cgroup_file) {
  for (std::string_view line : Split(cgroup_file, '\n')) {
    // Look for a run of 64 hex digits in the path.
    size_t run = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (isxdigit(static_cast<unsigned char>(line[i]))) {
        if (++run == 64 && (i + 1 == line.size() || !isxdigit(static_cast<unsigned char>(line[i + 1])))) {
          return std::string(line.substr(i + 1 - 64, 64));
        }
      } else {
        run = 0;
      }
    }
  }
  return "";
}

StatusOr<std::vector<ServiceRule>> ParseServiceRules(std::string_view text) {
  std::vector<ServiceRule> out;
  for (std::string_view part : Split(text, ';')) {
    part = TrimSpace(part);
    if (part.empty()) continue;
    size_t colon = part.find(':');
    size_t eq = part.rfind('=');
    if (colon == std::string_view::npos || eq == std::string_view::npos || eq < colon) {
      return InvalidArgumentError(StrCat("service rule ", Quote(part), " is not FIELD:REGEX=NAME"));
    }
    ServiceRule r;
    r.field = std::string(part.substr(0, colon));
    if (r.field != "comm" && r.field != "exe" && r.field != "cgroup") {
      return InvalidArgumentError(StrCat("service rule ", Quote(part), ": field must be comm, exe or cgroup"));
    }
    auto re = std::make_shared<RE2>(std::string(part.substr(colon + 1, eq - colon - 1)));
    if (!re->ok()) return InvalidArgumentError(StrCat("service rule ", Quote(part), ": ", re->error()));
    r.pattern = std::move(re);
    r.name = std::string(part.substr(eq + 1));
    if (r.name.empty()) return InvalidArgumentError(StrCat("service rule ", Quote(part), ": empty name"));
    out.push_back(std::move(r));
  }
  return out;
}

std::string ProcessTable::ServiceFor(const ProcessInfo& p) const {
  for (const ServiceRule& r : rules_) {
    const std::string& value = r.field == "comm" ? p.comm : r.field == "exe" ? p.exe : p.cgroup;
    std::string name = r.name;
    if (RE2::Extract(value, *r.pattern, r.name, &name) && !name.empty()) return name;
  }
  std::string name = p.exe.empty() ? p.comm : p.exe.substr(p.exe.rfind('/') + 1);
  if (name.ends_with(" (deleted)")) name.resize(name.size() - 10);
  return name.empty() ? "unknown" : name;
}

ProcessInfo* ProcessTable::Get(int pid, int64_t now_ns) {
  now_ns_ = now_ns;
  auto it = procs_.find(pid);
  if (it != procs_.end()) {
    it->second->last_seen_ns = now_ns;
    return it->second.get();
  }
  std::string base = StrCat("/proc/", pid);
  auto p = std::make_unique<ProcessInfo>();
  p->pid = pid;
  p->comm = std::string(TrimSpace(ReadSmall(base + "/comm")));
  char buf[4096];
  ssize_t n = readlink((base + "/exe").c_str(), buf, sizeof(buf) - 1);
  if (n > 0) p->exe.assign(buf, static_cast<size_t>(n));
  if (p->comm.empty() && p->exe.empty()) return nullptr;  // gone before we looked
  std::string cgroup = ReadSmall(base + "/cgroup");
  p->container_id = ContainerIdFromCgroup(cgroup);
  // "0::/system.slice/nginx.service" -> "/system.slice/nginx.service"
  for (std::string_view line : Split(cgroup, '\n')) {
    size_t colon = line.find(':', line.find(':') + 1);
    if (colon == std::string_view::npos) continue;
    if (!p->cgroup.empty()) p->cgroup += '\n';
    p->cgroup.append(line.substr(colon + 1));
  }
  p->service = ServiceFor(*p);
  p->maps = ExecMaps(pid);
  p->last_seen_ns = now_ns;
  OpenElves(p.get());  // now, while its files can be reached through it
  return procs_.emplace(pid, std::move(p)).first->second.get();
}

ElfEntry::~ElfEntry() {
  if (fd >= 0) close(fd);
}

void ProcessTable::OpenElves(ProcessInfo* p) {
  p->elves.resize(p->maps.size());
  for (size_t i = 0; i < p->maps.size(); ++i) {
    if (p->elves[i] == nullptr) p->elves[i] = OpenElf(*p, p->maps[i]);
  }
}

std::shared_ptr<ElfEntry> ProcessTable::OpenElf(const ProcessInfo& p, const symbolize::MappingInfo& m) {
  if (m.path.empty() || m.path[0] == '[') return nullptr;
  // The file as the process sees it (its root: containers), unless that
  // path now names another file (upgraded or deleted): then the mapped file
  // itself. For a process already gone, the host path if it is the same file.
  std::string path = m.path;
  if (path.ends_with(" (deleted)")) path.resize(path.size() - 10);
  char range[48];
  snprintf(range, sizeof(range), "%llx-%llx", static_cast<unsigned long long>(m.start),
           static_cast<unsigned long long>(m.limit));
  const std::string candidates[] = {StrCat("/proc/", p.pid, "/root", path), StrCat("/proc/", p.pid, "/map_files/", range),
                                    path};
  for (const std::string& c : candidates) {
    struct stat st;
    if (stat(c.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (m.inode != 0 && st.st_ino != m.inode) continue;  // another file now
    std::string key = StrCat(st.st_dev, ":", st.st_ino, ":", st.st_size, ":", st.st_mtim.tv_sec, ".",
                             st.st_mtim.tv_nsec);
    auto found = by_file_.find(key);
    if (found != by_file_.end()) {
      found->second->last_used_ns = now_ns_;
      return found->second;
    }
    // Only identified and held open now; read when a frame needs it.
    auto e = std::make_shared<ElfEntry>();
    e->fd = open(c.c_str(), O_RDONLY | O_CLOEXEC);
    if (e->fd < 0) continue;
    e->path = c;
    e->last_used_ns = now_ns_;
    by_file_[key] = e;
    return e;
  }
  return nullptr;
}

ElfData* ProcessTable::Read(ElfEntry* e) {
  if (!e->read) {
    e->read = true;
    int64_t t0 = MonotonicNanos();
    // By its path while that is still the same file (debug links are found
    // next to it), else through the descriptor.
    std::string fd_path = StrCat("/proc/self/fd/", e->fd);
    struct stat a, b;
    bool same = stat(e->path.c_str(), &a) == 0 && fstat(e->fd, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
    auto opened = symbolize::ElfSymbolizer::Open(same ? e->path : fd_path);
    table_build_ns_ += MonotonicNanos() - t0;
    if (opened.ok()) {
      const std::string bid = (*opened)->build_id();
      auto shared = bid.empty() ? by_build_id_.end() : by_build_id_.find(bid);
      if (shared != by_build_id_.end()) {
        e->data = shared->second;  // the same build elsewhere (another container, a copy)
        shared_by_build_id_++;
      } else {
        e->data = std::make_shared<ElfData>();
        e->data->elf = std::move(*opened);
        if (!bid.empty()) by_build_id_[bid] = e->data;
      }
    }
  }
  if (e->data != nullptr) e->data->last_used_ns = now_ns_;
  return e->data.get();
}

const symbolize::MappingInfo* ProcessTable::Find(ProcessInfo* p, uint64_t addr, ElfData** elf) {
  *elf = nullptr;
  const symbolize::MappingInfo* m = FindMapping(p->maps, addr);
  if (m == nullptr) return nullptr;
  size_t i = static_cast<size_t>(m - p->maps.data());
  if (i < p->elves.size() && p->elves[i] != nullptr) {
    p->elves[i]->last_used_ns = now_ns_;
    *elf = Read(p->elves[i].get());
  }
  return m;
}

UserFrames ProcessTable::Resolve(ProcessInfo* p, uint64_t addr, bool exact) {
  UserFrames out;
  uint64_t lookup = exact || addr == 0 ? addr : addr - 1;
  ElfData* e = nullptr;
  const symbolize::MappingInfo* m = Find(p, lookup, &e);
  if (m == nullptr && !p->maps_reread) {
    // A library loaded after we first looked.
    p->maps_reread = true;
    auto maps = ExecMaps(p->pid);
    if (!maps.empty()) {
      p->maps = std::move(maps);
      p->elves.clear();
      OpenElves(p);
    }
    m = Find(p, lookup, &e);
  }
  if (m == nullptr) {
    // Not in a file: maybe JIT code with a perf map.
    auto find_jit = [&] {
      auto it = std::upper_bound(p->jit.begin(), p->jit.end(), lookup,
                                 [](uint64_t a, const ProcessInfo::JitSymbol& j) { return a < j.start; });
      return it != p->jit.begin() && lookup < (it - 1)->start + (it - 1)->size ? &*(it - 1) : nullptr;
    };
    const ProcessInfo::JitSymbol* sym = find_jit();
    if (sym == nullptr && (p->jit_read_ns < 0 || now_ns_ - p->jit_read_ns >= 500000000)) {
      // JIT runtimes append to the map as they compile: read it again.
      p->jit_read_ns = now_ns_;
      std::string text = ReadSmall(StrCat("/proc/", p->pid, "/root/tmp/perf-", p->pid, ".map"), 64 << 20);
      if (text.empty()) text = ReadSmall(StrCat("/tmp/perf-", p->pid, ".map"), 64 << 20);
      p->jit = ParsePerfMap(text);
      sym = find_jit();
    }
    if (sym != nullptr) out.frames.push_back({sym->name, "", 0});
    return out;
  }
  out.mapping = m;
  if (e == nullptr) return out;
  out.build_id = e->elf->build_id();
  out.frames = e->elf->Symbolize(symbolize::RuntimeToElfVaddr(*m, *e->elf, lookup));
  return out;
}

void ProcessTable::BuildTable(ElfEntry* e, ElfData* d) {
  if (d->table_tried) return;
  d->table_tried = true;
  int64_t t0 = MonotonicNanos();
  auto built = sampler::unwind::UnwindTable::FromFile(StrCat("/proc/self/fd/", e->fd));
  if (built.ok()) d->table = std::move(*built);
  table_build_ns_ += MonotonicNanos() - t0;
}

const sampler::unwind::UnwindRow* ProcessTable::FindRow(ProcessInfo* p, uint64_t pc) {
  const symbolize::MappingInfo* m = FindMapping(p->maps, pc);
  if (m == nullptr) return nullptr;
  size_t i = static_cast<size_t>(m - p->maps.data());
  if (i >= p->elves.size() || p->elves[i] == nullptr) return nullptr;
  ElfEntry* e = p->elves[i].get();
  e->last_used_ns = now_ns_;
  ElfData* d = Read(e);
  if (d == nullptr) return nullptr;
  BuildTable(e, d);
  if (d->table == nullptr) return nullptr;
  return d->table->Find(symbolize::RuntimeToElfVaddr(*m, *d->elf, pc));
}

bool ProcessTable::HasFramePointers(ProcessInfo* p) {
  ElfEntry* entry = nullptr;
  for (size_t i = 0; i < p->maps.size() && i < p->elves.size(); ++i) {
    if (p->maps[i].path == p->exe) {
      entry = p->elves[i].get();
      break;
    }
  }
  if (entry == nullptr) return false;  // unknown: copying the stack is always right
  ElfData* e = Read(entry);
  if (e == nullptr) return false;
  BuildTable(entry, e);
  if (e->table == nullptr) return false;
  if (e->frame_pointers < 0) {
    size_t rows = 0, rbp = 0;
    for (size_t i = 0; i < e->table->rows(); ++i) {
      sampler::unwind::CfaRule c = e->table->row(i).cfa;
      if (c == sampler::unwind::CfaRule::kGap) continue;
      rows++;
      rbp += c == sampler::unwind::CfaRule::kRbpOffset;
    }
    // Built with frame pointers, about a third of the rows are rbp-based
    // (prologue, body, epilogue); built without, a few functions with
    // variable-sized frames are.
    e->frame_pointers = rows > 0 && rbp * 5 >= rows ? 1 : 0;
  }
  return e->frame_pointers == 1;
}

void ProcessTable::Expire(int64_t cutoff_ns) {
  for (auto it = procs_.begin(); it != procs_.end();) {
    if (it->second->last_seen_ns < cutoff_ns) {
      it = procs_.erase(it);
    } else {
      ++it;
    }
  }
  // Files no process uses any more (processes hold their own references).
  auto expire = [cutoff_ns](auto& cache) {
    for (auto it = cache.begin(); it != cache.end();) {
      if (it->second->last_used_ns < cutoff_ns) {
        it = cache.erase(it);
      } else {
        ++it;
      }
    }
  };
  expire(by_file_);
  expire(by_build_id_);
}

}  // namespace stackhouse::agent
