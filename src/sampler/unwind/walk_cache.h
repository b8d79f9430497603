// WalkCache: recent stack walks of the allocation and lock hooks, reused
// when they would come out the same.
//
// A walk is a function of its start registers, the stack's upper bound, the
// unwind tables and the stack words it reads: nothing else. The cache keeps,
// per entry, the start (pc, sp, fp, bound), the tables' generation, every
// (address, word) the walk read, and the pcs it produced. A lookup whose
// start and generation match re-reads those words from the stack (hot in
// the caches, unlike the tables) and, if every one is unchanged, returns the
// stored pcs: exactly what walking again would give. Hooks are called from
// the same call sites again and again at the same stack depth, so most of
// their walks hit; a hit touches no unwind table.
//
// Entries are seqlocked: a reader that sees one change under it misses, a
// writer that finds one busy skips it. Async-signal-safe, no allocation, no
// locks.
#ifndef STACKHOUSE_SAMPLER_UNWIND_WALK_CACHE_H_
#define STACKHOUSE_SAMPLER_UNWIND_WALK_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sampler/unwind/stack_walker.h"

namespace stackhouse::sampler::unwind {

class UnwindTables;

class WalkCache {
 public:
  static constexpr int kEntries = 256;
  static constexpr int kMaxFrames = 32;  // longer walks are not cached
  static constexpr int kMaxLoads = 2 * kMaxFrames;

  WalkCache() = default;
  WalkCache(const WalkCache&) = delete;
  WalkCache& operator=(const WalkCache&) = delete;

  // WalkStack's result, from the cache when an entry holds it, else walked
  // (and remembered). Same contract as WalkStack.
  int Walk(const Regs& start, uintptr_t stack_hi, WalkMode mode, const UnwindTables* tables,
           uintptr_t* pcs, int max_frames);

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::atomic<uint64_t> version{0};  // odd while written
    std::atomic<uintptr_t> pc{0}, sp{0}, fp{0}, hi{0};
    std::atomic<uint64_t> key{0};  // tables' generation << 1 | CFI used
    std::atomic<uint32_t> depth{0}, loads{0};
    std::atomic<uintptr_t> addr[kMaxLoads], word[kMaxLoads];
    std::atomic<uintptr_t> pcs[kMaxFrames];
  };
  static size_t Index(const Regs& start);
  int Lookup(const Entry& e, const Regs& start, uintptr_t stack_hi, uint64_t key, uintptr_t* pcs,
             int max_frames) const;

  Entry entries_[kEntries];
  std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace stackhouse::sampler::unwind

#endif  // STACKHOUSE_SAMPLER_UNWIND_WALK_CACHE_H_
