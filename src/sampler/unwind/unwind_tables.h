// UnwindTables: the unwind tables of every object loaded in this process, as
// an immutable snapshot that signal handlers can search without locks.
//
// Refresh() (a background thread; at start-up and after dlopen/dlclose)
// enumerates the loaded objects, builds an UnwindTable for each object it has
// not seen (keyed by path and load bias), drops objects that are gone, and
// publishes a new snapshot with an atomic pointer store. Readers bracket their
// use with Enter()/Exit() (an in-flight counter); retired snapshots and tables
// are freed by a later Refresh (or the destructor) once no reader is inside.
//
// Thread-safety: Refresh, objects and memory_bytes are thread-safe (serialised
// by a mutex that readers never take). Enter, Find and Exit are
// async-signal-safe and lock-free. The destructor must not run while a reader
// may be between Enter and Exit.
#ifndef STACKHOUSE_SAMPLER_UNWIND_UNWIND_TABLES_H_
#define STACKHOUSE_SAMPLER_UNWIND_UNWIND_TABLES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "sampler/unwind/unwind_table.h"

namespace stackhouse::sampler::unwind {

class UnwindTables {
 public:
  UnwindTables();
  ~UnwindTables();
  UnwindTables(const UnwindTables&) = delete;
  UnwindTables& operator=(const UnwindTables&) = delete;

  // Re-enumerates loaded objects (dl_iterate_phdr: the main executable via
  // /proc/self/exe, the vDSO from its in-memory image, others by path) and
  // publishes a new snapshot if the set changed. Objects whose table cannot be
  // built are remembered and skipped (pcs in them get no row). Returns an
  // error only if the enumeration itself fails.
  Status Refresh();

  // The row for runtime `pc`, or nullptr. Async-signal-safe; call between
  // Enter and Exit. Recent answers are remembered in a small direct-mapped
  // cache (stacks repeat: the same return addresses come back sample after
  // sample); every hit is verified against the current snapshot, so the
  // answer is always exactly FindUncached's.
  const UnwindRow* Find(uintptr_t pc) const;
  const UnwindRow* FindUncached(uintptr_t pc) const;
  // Readers are counted in shards chosen by stack address, so that threads
  // walking at once do not share a cache line. Exit takes what Enter
  // returned.
  int Enter() const {
    int shard = ReaderShard();
    readers_[shard].count.fetch_add(1, std::memory_order_seq_cst);
    return shard;
  }
  void Exit(int shard) const { readers_[shard].count.fetch_sub(1, std::memory_order_release); }

  // Twice the number of published snapshots, odd while one is being
  // published: a walk remembered under one even generation is valid only
  // while it lasts (WalkCache).
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Objects with a table in the current snapshot, and the bytes held by
  // tables and snapshots (including retired ones not yet freed).
  size_t objects() const;
  size_t memory_bytes() const;
  // Objects whose table could not be built (remembered until unloaded).
  size_t failed_objects() const;

 private:
  struct Object {
    std::string path;
    uintptr_t bias = 0;
    std::unique_ptr<UnwindTable> table;  // null if the build failed
  };
  // One executable PT_LOAD range of an object.
  struct Mapping {
    uintptr_t start;
    uintptr_t end;
    uintptr_t bias;
    const UnwindTable* table;
  };
  struct Snapshot {
    std::vector<Mapping> mappings;  // sorted by start, non-overlapping
    size_t objects = 0;
  };
  using Key = std::pair<std::string, uintptr_t>;

  // Frees retired snapshots and objects if no reader is inside. Needs mu_.
  void ReclaimLocked();

  static constexpr int kReaderShards = 8;
  struct alignas(64) ReaderShardCount {
    std::atomic<int64_t> count{0};
  };
  // Thread stacks lie megabytes apart: their 2 MiB-granule numbers, hashed.
  static int ReaderShard() {
    auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    return static_cast<int>(((sp >> 21) * 0x9E3779B97F4A7C15ull) >> 61);
  }
  bool AnyReader() const;

  // Finds the mapping of `pc` in `snapshot`: its index, or -1.
  static ptrdiff_t MappingIndex(const Snapshot& snapshot, uintptr_t pc);

  std::atomic<const Snapshot*> snapshot_{nullptr};
  std::atomic<uint64_t> generation_{0};
  mutable ReaderShardCount readers_[kReaderShards];
  // Row cache entries: [16-bit pc tag][16-bit mapping index][32-bit row].
  static constexpr int kRowCacheBits = 10;
  mutable std::atomic<uint64_t> row_cache_[size_t{1} << kRowCacheBits] = {};

  mutable std::mutex mu_;
  std::map<Key, std::unique_ptr<Object>> known_;  // guarded by mu_
  std::vector<std::unique_ptr<const Snapshot>> retired_snapshots_;
  std::vector<std::unique_ptr<Object>> retired_objects_;
};

}  // namespace stackhouse::sampler::unwind

#endif  // STACKHOUSE_SAMPLER_UNWIND_UNWIND_TABLES_H_
