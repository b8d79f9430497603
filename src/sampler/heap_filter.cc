#include "sampler/heap_filter.h"

namespace stackhouse::sampler {

constinit std::atomic<uint8_t> g_heap_filter[size_t{1} << kHeapFilterBits]{};
constinit std::atomic<uintptr_t> g_heap_table[size_t{1} << kHeapTableBits]{};

namespace {

constexpr size_t kTableMask = (size_t{1} << kHeapTableBits) - 1;

std::atomic<uint8_t>& Counter(uintptr_t addr) {
  return g_heap_filter[HeapHash(addr) >> (64 - kHeapFilterBits)];
}

size_t Home(uintptr_t addr) { return static_cast<size_t>(HeapHash(addr) >> (64 - kHeapTableBits)); }

}  // namespace

bool HeapSampledInsert(uintptr_t addr) {
  if (addr == 0) return false;
  size_t home = Home(addr);
  for (int i = 0; i < kHeapWindow; ++i) {
    std::atomic<uintptr_t>& slot = g_heap_table[(home + i) & kTableMask];
    uintptr_t expected = 0;
    if (slot.load(std::memory_order_relaxed) == 0 &&
        slot.compare_exchange_strong(expected, addr, std::memory_order_acq_rel)) {
      // Counters saturate at 255 and then stay set (only a cost, never wrong).
      auto& c = Counter(addr);
      uint8_t v = c.load(std::memory_order_relaxed);
      while (v != 255 && !c.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) {
      }
      return true;
    }
  }
  return false;
}

bool HeapSampledRemove(uintptr_t addr) {
  if (!HeapMaybeSampled(addr)) return false;
  size_t home = Home(addr);
  for (int i = 0; i < kHeapWindow; ++i) {
    std::atomic<uintptr_t>& slot = g_heap_table[(home + i) & kTableMask];
    uintptr_t expected = addr;
    if (slot.load(std::memory_order_relaxed) == addr &&
        slot.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
      auto& c = Counter(addr);
      uint8_t v = c.load(std::memory_order_relaxed);
      while (v != 0 && v != 255 && !c.compare_exchange_weak(v, v - 1, std::memory_order_acq_rel)) {
      }
      return true;
    }
  }
  return false;
}

bool HeapSampledContains(uintptr_t addr) {
  if (addr == 0 || !HeapMaybeSampled(addr)) return false;
  size_t home = Home(addr);
  for (int i = 0; i < kHeapWindow; ++i) {
    if (g_heap_table[(home + i) & kTableMask].load(std::memory_order_acquire) == addr) return true;
  }
  return false;
}

void HeapSampledReset() {
  for (auto& c : g_heap_filter) {
    if (c.load(std::memory_order_relaxed) != 0) c.store(0, std::memory_order_relaxed);
  }
  for (auto& s : g_heap_table) {
    if (s.load(std::memory_order_relaxed) != 0) s.store(0, std::memory_order_relaxed);
  }
}

}  // namespace stackhouse::sampler
