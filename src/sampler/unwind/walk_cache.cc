#include "sampler/unwind/walk_cache.h"

#include "sampler/unwind/safe_load.h"
#include "sampler/unwind/stack_walk_core.h"
#include "sampler/unwind/unwind_tables.h"

namespace stackhouse::sampler::unwind {

size_t WalkCache::Index(const Regs& start) {
  const uint64_t h = (start.pc ^ (start.sp * 0x9E3779B97F4A7C15ull)) * 0xD6E8FEB86659FD93ull;
  return static_cast<size_t>(h >> 56) & (kEntries - 1);
}

int WalkCache::Lookup(const Entry& e, const Regs& start, uintptr_t stack_hi, uint64_t key,
                      uintptr_t* pcs, int max_frames) const {
  const uint64_t v = e.version.load(std::memory_order_acquire);
  if ((v & 1) != 0 || v == 0) return -1;
  if (e.pc.load(std::memory_order_relaxed) != start.pc || e.sp.load(std::memory_order_relaxed) != start.sp ||
      e.fp.load(std::memory_order_relaxed) != start.fp || e.hi.load(std::memory_order_relaxed) != stack_hi ||
      e.key.load(std::memory_order_relaxed) != key) {
    return -1;
  }
  const uint32_t depth = e.depth.load(std::memory_order_relaxed);
  const uint32_t loads = e.loads.load(std::memory_order_relaxed);
  if (depth == 0 || depth > static_cast<uint32_t>(max_frames) || depth > kMaxFrames || loads > kMaxLoads) {
    return -1;
  }
  // The words the walk read, read again (the walk's own bounds checks, so a
  // torn entry cannot send us outside the stack).
  for (uint32_t i = 0; i < loads; ++i) {
    const uintptr_t addr = e.addr[i].load(std::memory_order_relaxed);
    uintptr_t now;
    if (!walk_internal::InStack(addr, start.sp, stack_hi) || !SafeLoad(addr, &now) ||
        now != e.word[i].load(std::memory_order_relaxed)) {
      return -1;
    }
  }
  for (uint32_t i = 0; i < depth; ++i) pcs[i] = e.pcs[i].load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (e.version.load(std::memory_order_relaxed) != v) return -1;
  return static_cast<int>(depth);
}

int WalkCache::Walk(const Regs& start, uintptr_t stack_hi, WalkMode mode, const UnwindTables* tables,
                    uintptr_t* pcs, int max_frames) {
  if (pcs == nullptr || max_frames <= 0 || start.pc == 0) return 0;
  const bool use_cfi = mode == WalkMode::kDwarf && tables != nullptr;
  const uint64_t generation = use_cfi ? tables->generation() : 0;
  const uint64_t key = (generation << 1) | (use_cfi ? 1 : 0);
  Entry& e = entries_[Index(start)];
  const bool stable = (generation & 1) == 0;  // no snapshot being published
  const int cached = stable ? Lookup(e, start, stack_hi, key, pcs, max_frames) : -1;
  if (cached > 0) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    return cached;
  }
  misses_.fetch_add(1, std::memory_order_relaxed);

  // Walk, recording every word read (a walk ended by a failed read is not
  // remembered).
  uintptr_t addrs[kMaxLoads], words[kMaxLoads];
  WalkReads reads{addrs, words, kMaxLoads};
  const int n = WalkStack(start, stack_hi, mode, tables, pcs, max_frames, &reads);
  const int loads = reads.count;
  // A walk that stopped at max_frames may go on for a longer request.
  if (!stable || !reads.complete || n <= 0 || n > kMaxFrames || n >= max_frames) return n;
  if (use_cfi && tables->generation() != generation) return n;  // the tables changed meanwhile

  uint64_t v = e.version.load(std::memory_order_relaxed);
  if ((v & 1) != 0 || !e.version.compare_exchange_strong(v, v + 1, std::memory_order_acquire)) return n;
  std::atomic_thread_fence(std::memory_order_release);
  e.pc.store(start.pc, std::memory_order_relaxed);
  e.sp.store(start.sp, std::memory_order_relaxed);
  e.fp.store(start.fp, std::memory_order_relaxed);
  e.hi.store(stack_hi, std::memory_order_relaxed);
  e.key.store(key, std::memory_order_relaxed);
  e.depth.store(static_cast<uint32_t>(n), std::memory_order_relaxed);
  e.loads.store(static_cast<uint32_t>(loads), std::memory_order_relaxed);
  for (int i = 0; i < loads; ++i) {
    e.addr[i].store(addrs[i], std::memory_order_relaxed);
    e.word[i].store(words[i], std::memory_order_relaxed);
  }
  for (int i = 0; i < n; ++i) e.pcs[i].store(pcs[i], std::memory_order_relaxed);
  e.version.store(v + 2, std::memory_order_release);
  return n;
}

}  // namespace stackhouse::sampler::unwind
