#include "sampler/heap_filter.h"

#include <new>

#include "base/memory.h"
#include "sampler/signal_state.h"

namespace stackhouse::sampler {
namespace {

constexpr size_t kBuckets = size_t{1} << kHeapBucketBits;
constexpr size_t kBucketMask = kBuckets - 1;
constexpr size_t kHugePage = size_t{2} << 20;
static_assert(kBuckets * sizeof(HeapBucket) == kHugePage);

// The table: one 2 MiB page, mapped at the first profiler start and kept for
// the life of the process. On a transparent huge page a lookup costs one
// cache line and no TLB miss (random lookups over 512 small pages missed the
// TLB nearly every time). Null until mapped: nothing is sampled before.
constinit std::atomic<HeapBucket*> g_buckets{nullptr};

// Per home bucket, how many remembered addresses have that home (in it or
// in an overflow bucket): 32 KiB that stay in the caches. Most frees that
// ask (page-aligned blocks glibc handed out, 1 in 100-250) find a zero here and
// never touch the table's line. Raised before an address is placed and
// lowered after it is taken out, so a free that can see the address (it got
// the pointer after malloc returned) sees a non-zero count.
constinit std::atomic<uint8_t> g_home_counts[kBuckets] = {};
static_assert(kHeapProbeBuckets * kHeapBucketSlots < 256);

struct alignas(64) FreeCountShard {
  std::atomic<uint64_t> n;
};
constinit FreeCountShard g_unsampled_aligned_frees[kCostShards] = {};

size_t Home(uintptr_t addr) {
  return static_cast<size_t>(((addr >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - kHeapBucketBits));
}

HeapBucket& BucketAt(HeapBucket* table, size_t home, int probe) {
  return table[(home + probe) & kBucketMask];
}

HeapBucket* MapTable() {
  void* p = MapHugePages(kHugePage);
  return p == nullptr ? nullptr : new (p) HeapBucket[kBuckets];
}

// The slot holding `addr` in `b`, or null.
std::atomic<uintptr_t>* FindIn(HeapBucket& b, uintptr_t addr) {
  for (auto& slot : b.slots) {
    if (slot.load(std::memory_order_acquire) == addr) return &slot;
  }
  return nullptr;
}

// The slot holding `addr`, or null; *probe is its bucket's distance from home.
std::atomic<uintptr_t>* Find(HeapBucket* table, uintptr_t addr, int* probe) {
  const size_t home = Home(addr);
  HeapBucket& first = BucketAt(table, home, 0);
  *probe = 0;
  if (auto* slot = FindIn(first, addr)) return slot;
  if (first.overflow.load(std::memory_order_acquire) == 0) return nullptr;
  for (*probe = 1; *probe < kHeapProbeBuckets; ++*probe) {
    if (auto* slot = FindIn(BucketAt(table, home, *probe), addr)) return slot;
  }
  return nullptr;
}

}  // namespace

void HeapSampledPrefetch(uintptr_t addr) {
  HeapBucket* table = g_buckets.load(std::memory_order_acquire);
  if (table != nullptr) PrefetchForWrite(&BucketAt(table, Home(addr), 0));
}

bool HeapSampledInsert(uintptr_t addr) {
  HeapBucket* table = g_buckets.load(std::memory_order_acquire);
  if (addr == 0 || table == nullptr) return false;
  const size_t home = Home(addr);
  g_home_counts[home].fetch_add(1, std::memory_order_relaxed);
  for (int probe = 0; probe < kHeapProbeBuckets; ++probe) {
    for (auto& slot : BucketAt(table, home, probe).slots) {
      uintptr_t expected = 0;
      if (slot.load(std::memory_order_relaxed) == 0 &&
          slot.compare_exchange_strong(expected, addr, std::memory_order_acq_rel)) {
        if (probe > 0) BucketAt(table, home, 0).overflow.fetch_add(1, std::memory_order_acq_rel);
        return true;
      }
    }
  }
  g_home_counts[home].fetch_sub(1, std::memory_order_relaxed);
  return false;
}

bool HeapSampledRemove(uintptr_t addr) {
  HeapBucket* table = g_buckets.load(std::memory_order_acquire);
  if (addr == 0 || table == nullptr) return false;
  const size_t home = Home(addr);
  if (g_home_counts[home].load(std::memory_order_acquire) == 0) return false;
  int probe;
  std::atomic<uintptr_t>* slot = Find(table, addr, &probe);
  uintptr_t expected = addr;
  if (slot == nullptr || !slot->compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
    return false;
  }
  if (probe > 0) BucketAt(table, home, 0).overflow.fetch_sub(1, std::memory_order_acq_rel);
  g_home_counts[home].fetch_sub(1, std::memory_order_release);
  return true;
}

bool HeapSampledContains(uintptr_t addr) {
  HeapBucket* table = g_buckets.load(std::memory_order_acquire);
  int probe;
  return addr != 0 && table != nullptr &&
         g_home_counts[Home(addr)].load(std::memory_order_acquire) != 0 &&
         Find(table, addr, &probe) != nullptr;
}

bool HeapSampledMayContain(uintptr_t addr) {
  return g_home_counts[Home(addr)].load(std::memory_order_acquire) != 0;
}

void HeapNoteUnsampledAlignedFree() {
  g_unsampled_aligned_frees[ThreadShard()].n.fetch_add(1, std::memory_order_relaxed);
}

uint64_t HeapUnsampledAlignedFrees() {
  uint64_t total = 0;
  for (const auto& s : g_unsampled_aligned_frees) total += s.n.load(std::memory_order_relaxed);
  return total;
}

bool HeapSampledReset() {
  HeapBucket* table = g_buckets.load(std::memory_order_acquire);
  if (table == nullptr) {
    // Profiler starts are serialised by the API's mutex: one mapping only.
    table = MapTable();
    if (table == nullptr) return false;
    g_buckets.store(table, std::memory_order_release);
    return true;  // fresh anonymous memory is zero
  }
  for (size_t i = 0; i < kBuckets; ++i) {
    HeapBucket& b = table[i];
    for (auto& slot : b.slots) {
      if (slot.load(std::memory_order_relaxed) != 0) slot.store(0, std::memory_order_relaxed);
    }
    if (b.overflow.load(std::memory_order_relaxed) != 0) b.overflow.store(0, std::memory_order_relaxed);
    g_home_counts[i].store(0, std::memory_order_relaxed);
  }
  return true;
}

}  // namespace stackhouse::sampler
