#include "sampler/heap_filter.h"

namespace stackhouse::sampler {
namespace {

constexpr size_t kBucketMask = (size_t{1} << kHeapBucketBits) - 1;

constinit HeapBucket g_buckets[size_t{1} << kHeapBucketBits]{};

size_t Home(uintptr_t addr) {
  return static_cast<size_t>(((addr >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - kHeapBucketBits));
}

HeapBucket& BucketAt(size_t home, int probe) { return g_buckets[(home + probe) & kBucketMask]; }

// The slot holding `addr` in `b`, or null.
std::atomic<uintptr_t>* FindIn(HeapBucket& b, uintptr_t addr) {
  for (auto& slot : b.slots) {
    if (slot.load(std::memory_order_acquire) == addr) return &slot;
  }
  return nullptr;
}

// The slot holding `addr`, or null; *probe is its bucket's distance from home.
std::atomic<uintptr_t>* Find(uintptr_t addr, int* probe) {
  const size_t home = Home(addr);
  HeapBucket& first = BucketAt(home, 0);
  *probe = 0;
  if (auto* slot = FindIn(first, addr)) return slot;
  if (first.overflow.load(std::memory_order_acquire) == 0) return nullptr;
  for (*probe = 1; *probe < kHeapProbeBuckets; ++*probe) {
    if (auto* slot = FindIn(BucketAt(home, *probe), addr)) return slot;
  }
  return nullptr;
}

}  // namespace

bool HeapSampledInsert(uintptr_t addr) {
  if (addr == 0) return false;
  const size_t home = Home(addr);
  for (int probe = 0; probe < kHeapProbeBuckets; ++probe) {
    for (auto& slot : BucketAt(home, probe).slots) {
      uintptr_t expected = 0;
      if (slot.load(std::memory_order_relaxed) == 0 &&
          slot.compare_exchange_strong(expected, addr, std::memory_order_acq_rel)) {
        if (probe > 0) BucketAt(home, 0).overflow.fetch_add(1, std::memory_order_acq_rel);
        return true;
      }
    }
  }
  return false;
}

bool HeapSampledRemove(uintptr_t addr) {
  if (addr == 0) return false;
  int probe;
  std::atomic<uintptr_t>* slot = Find(addr, &probe);
  uintptr_t expected = addr;
  if (slot == nullptr || !slot->compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
    return false;
  }
  if (probe > 0) BucketAt(Home(addr), 0).overflow.fetch_sub(1, std::memory_order_acq_rel);
  return true;
}

bool HeapSampledContains(uintptr_t addr) {
  int probe;
  return addr != 0 && Find(addr, &probe) != nullptr;
}

void HeapSampledReset() {
  for (HeapBucket& b : g_buckets) {
    for (auto& slot : b.slots) {
      if (slot.load(std::memory_order_relaxed) != 0) slot.store(0, std::memory_order_relaxed);
    }
    if (b.overflow.load(std::memory_order_relaxed) != 0) b.overflow.store(0, std::memory_order_relaxed);
  }
}

}  // namespace stackhouse::sampler
