#include "sampler/unwind/unwind_tables.h"

#include <elf.h>
#include <link.h>
#include <sched.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string_view>

#include "base/log.h"

namespace stackhouse::sampler::unwind {
namespace {

struct LoadedObject {
  std::string name;
  uintptr_t bias = 0;
  bool is_main = false;
  bool is_vdso = false;
  std::vector<std::pair<uintptr_t, uintptr_t>> exec_ranges;  // runtime [start, end)
};

struct CollectState {
  uintptr_t vdso_ehdr = 0;
  bool first = true;
  std::vector<LoadedObject> objects;
};

int CollectObject(dl_phdr_info* info, size_t, void* data) {
  auto* state = static_cast<CollectState*>(data);
  LoadedObject object;
  object.bias = info->dlpi_addr;
  const auto phdr = reinterpret_cast<uintptr_t>(info->dlpi_phdr);
  object.is_vdso = state->vdso_ehdr != 0 && phdr >= state->vdso_ehdr &&
                   phdr - state->vdso_ehdr < static_cast<uintptr_t>(getpagesize());
  const bool unnamed = info->dlpi_name == nullptr || info->dlpi_name[0] == '\0';
  object.is_main = state->first && !object.is_vdso && unnamed;
  state->first = false;
  if (!object.is_main && !object.is_vdso && unnamed) return 0;
  if (!unnamed) object.name = info->dlpi_name;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) && ph.p_memsz > 0) {
      const uintptr_t start = object.bias + ph.p_vaddr;
      object.exec_ranges.emplace_back(start, start + ph.p_memsz);
    }
  }
  if (!object.exec_ranges.empty()) state->objects.push_back(std::move(object));
  return 0;
}

// Copies the vDSO's ELF image out of memory (bounded by its PT_LOAD pages) and
// builds its table.
StatusOr<std::unique_ptr<UnwindTable>> BuildVdsoTable(uintptr_t ehdr_addr) {
  const auto* ehdr = reinterpret_cast<const Elf64_Ehdr*>(ehdr_addr);
  if (std::memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 || ehdr->e_phentsize != sizeof(Elf64_Phdr)) {
    return InvalidArgumentError("vDSO: bad ELF header");
  }
  const auto* phdrs = reinterpret_cast<const Elf64_Phdr*>(ehdr_addr + ehdr->e_phoff);
  uint64_t load_end = 0;
  for (int i = 0; i < ehdr->e_phnum; ++i) {
    if (phdrs[i].p_type == PT_LOAD && phdrs[i].p_offset == 0 && phdrs[i].p_vaddr == 0) {
      load_end = std::max<uint64_t>(load_end, phdrs[i].p_filesz);
    }
  }
  const uint64_t page = getpagesize();
  const uint64_t mapped = (load_end + page - 1) / page * page;
  uint64_t size = std::max<uint64_t>(load_end, ehdr->e_phoff + ehdr->e_phnum * sizeof(Elf64_Phdr));
  const uint64_t shdr_end = ehdr->e_shoff + uint64_t{ehdr->e_shnum} * ehdr->e_shentsize;
  if (shdr_end <= mapped) size = std::max(size, shdr_end);
  if (size > mapped || size > (uint64_t{1} << 20)) {
    return InvalidArgumentError("vDSO: image size " + std::to_string(size) + " out of range");
  }
  return UnwindTable::FromMemory(
      std::string_view(reinterpret_cast<const char*>(ehdr_addr), static_cast<size_t>(size)));
}

}  // namespace

UnwindTables::UnwindTables() = default;

UnwindTables::~UnwindTables() { delete snapshot_.load(std::memory_order_acquire); }

Status UnwindTables::Refresh() {
  std::lock_guard<std::mutex> lock(mu_);
  CollectState state;
  state.vdso_ehdr = getauxval(AT_SYSINFO_EHDR);
  dl_iterate_phdr(CollectObject, &state);
  if (state.objects.empty()) return InternalError("dl_iterate_phdr found no loaded objects");

  bool changed = false;
  std::set<Key> live;
  for (const LoadedObject& loaded : state.objects) {
    Key key(loaded.is_main ? "[exe]" : loaded.is_vdso ? "[vdso]" : loaded.name, loaded.bias);
    live.insert(key);
    if (known_.count(key) != 0) continue;
    changed = true;
    auto object = std::make_unique<Object>();
    object->path = key.first;
    object->bias = loaded.bias;
    auto table = loaded.is_vdso   ? BuildVdsoTable(state.vdso_ehdr)
                 : loaded.is_main ? UnwindTable::FromFile("/proc/self/exe")
                                  : UnwindTable::FromFile(loaded.name);
    if (table.ok()) {
      object->table = std::move(table).value();
    } else {
      Log(LogLevel::kDebug, "unwind table not built",
          {{"object", key.first}, {"error", table.status().ToString()}});
    }
    known_.emplace(std::move(key), std::move(object));
  }
  for (auto it = known_.begin(); it != known_.end();) {
    if (live.count(it->first) == 0) {
      retired_objects_.push_back(std::move(it->second));
      it = known_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }

  if (changed || snapshot_.load(std::memory_order_relaxed) == nullptr) {
    auto snapshot = std::make_unique<Snapshot>();
    for (const LoadedObject& loaded : state.objects) {
      Key key(loaded.is_main ? "[exe]" : loaded.is_vdso ? "[vdso]" : loaded.name, loaded.bias);
      auto it = known_.find(key);
      if (it == known_.end() || it->second->table == nullptr) continue;
      ++snapshot->objects;
      for (const auto& [start, end] : loaded.exec_ranges) {
        snapshot->mappings.push_back({start, end, loaded.bias, it->second->table.get()});
      }
    }
    std::sort(snapshot->mappings.begin(), snapshot->mappings.end(),
              [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
    // Odd while the snapshot changes: a walk that saw the same even value
    // before and after used one snapshot throughout.
    generation_.fetch_add(1, std::memory_order_seq_cst);
    const Snapshot* old = snapshot_.exchange(snapshot.release(), std::memory_order_seq_cst);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (old != nullptr) retired_snapshots_.emplace_back(old);
  }
  ReclaimLocked();
  return OkStatus();
}

bool UnwindTables::AnyReader() const {
  for (const ReaderShardCount& r : readers_) {
    if (r.count.load(std::memory_order_seq_cst) != 0) return true;
  }
  return false;
}

void UnwindTables::ReclaimLocked() {
  if (retired_snapshots_.empty() && retired_objects_.empty()) return;
  // Every reader that could still see a retired item entered before the last
  // publish; once the in-flight count is seen at zero, none of them is left.
  // Signal handlers are short, so this normally succeeds at once; otherwise
  // the items wait for the next Refresh.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    if (!AnyReader()) {
      retired_snapshots_.clear();
      retired_objects_.clear();
      return;
    }
    if (attempt < 100) {
      sched_yield();
    } else {
      usleep(100);
    }
  }
}

ptrdiff_t UnwindTables::MappingIndex(const Snapshot& snapshot, uintptr_t pc) {
  const Mapping* mappings = snapshot.mappings.data();
  size_t lo = 0, hi = snapshot.mappings.size();
  while (lo < hi) {  // first mapping starting after pc
    const size_t mid = lo + (hi - lo) / 2;
    if (mappings[mid].start <= pc) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0 || pc >= mappings[lo - 1].end) return -1;
  return static_cast<ptrdiff_t>(lo - 1);
}

const UnwindRow* UnwindTables::FindUncached(uintptr_t pc) const {
  const Snapshot* snapshot = snapshot_.load(std::memory_order_seq_cst);
  if (snapshot == nullptr) return nullptr;
  const ptrdiff_t i = MappingIndex(*snapshot, pc);
  if (i < 0) return nullptr;
  const Mapping& m = snapshot->mappings[static_cast<size_t>(i)];
  return m.table->Find(pc - m.bias);
}

const UnwindRow* UnwindTables::Find(uintptr_t pc) const {
  const Snapshot* snapshot = snapshot_.load(std::memory_order_seq_cst);
  if (snapshot == nullptr) return nullptr;
  const uint64_t h = pc * 0x9E3779B97F4A7C15ull;
  std::atomic<uint64_t>& slot = row_cache_[h >> (64 - kRowCacheBits)];
  const uint64_t tag = (h >> 16) & 0xffff;
  // A hit names a mapping of the current snapshot that holds pc and a row
  // that covers it: exactly what the search below would find. Entries of an
  // older snapshot either pass the same checks or miss.
  const uint64_t e = slot.load(std::memory_order_relaxed);
  if ((e >> 48) == tag) {
    const size_t mi = (e >> 32) & 0xffff;
    const auto ri = static_cast<uint32_t>(e);
    if (mi < snapshot->mappings.size()) {
      const Mapping& m = snapshot->mappings[mi];
      if (pc >= m.start && pc < m.end && m.table->Covers(ri, pc - m.bias)) {
        const UnwindRow* row = &m.table->row(ri);
        return row->cfa == CfaRule::kGap ? nullptr : row;
      }
    }
  }
  const ptrdiff_t i = MappingIndex(*snapshot, pc);
  if (i < 0) return nullptr;
  const Mapping& m = snapshot->mappings[static_cast<size_t>(i)];
  const UnwindRow* row = m.table->Find(pc - m.bias);
  if (row != nullptr && i <= 0xffff) {
    const uint64_t ri = static_cast<uint64_t>(row - &m.table->row(0));
    slot.store((tag << 48) | (static_cast<uint64_t>(i) << 32) | ri, std::memory_order_relaxed);
  }
  return row;
}

size_t UnwindTables::objects() const {
  std::lock_guard<std::mutex> lock(mu_);
  const Snapshot* snapshot = snapshot_.load(std::memory_order_acquire);
  return snapshot == nullptr ? 0 : snapshot->objects;
}

size_t UnwindTables::failed_objects() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t failed = 0;
  for (const auto& [key, object] : known_) failed += object->table == nullptr;
  return failed;
}

size_t UnwindTables::memory_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t bytes = 0;
  for (const auto& [key, object] : known_) {
    bytes += sizeof(Object) + object->path.capacity();
    if (object->table != nullptr) bytes += object->table->memory_bytes();
  }
  for (const auto& object : retired_objects_) {
    if (object->table != nullptr) bytes += object->table->memory_bytes();
  }
  auto snapshot_bytes = [](const Snapshot* s) {
    return s == nullptr ? 0 : sizeof(Snapshot) + s->mappings.capacity() * sizeof(Mapping);
  };
  bytes += snapshot_bytes(snapshot_.load(std::memory_order_acquire));
  for (const auto& s : retired_snapshots_) bytes += snapshot_bytes(s.get());
  return bytes;
}

}  // namespace stackhouse::sampler::unwind
