// The set of heap addresses that were sampled and not yet freed, so that a
// free can tell (exactly) whether to report itself to the collector.
//
// Two lock-free layers: a byte-per-slot counting filter answers "certainly
// not sampled" with one load, which is what nearly every free sees; behind
// it, an open-addressed table holds the addresses themselves. An address
// lives in one of the kWindow slots after its hash; lookups scan the whole
// window (they do not stop at an empty slot), so a removal can simply clear
// its slot. Only the allocating thread inserts an address (before malloc
// returns it) and only the freeing thread removes it, so an address is
// never inserted and removed at once.
#ifndef STACKHOUSE_SAMPLER_HEAP_FILTER_H_
#define STACKHOUSE_SAMPLER_HEAP_FILTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace stackhouse::sampler {

inline constexpr int kHeapFilterBits = 20;  // 1 MiB of counters
inline constexpr int kHeapTableBits = 17;   // 128 Ki addresses (1 MiB)
inline constexpr int kHeapWindow = 32;

extern std::atomic<uint8_t> g_heap_filter[size_t{1} << kHeapFilterBits];
extern std::atomic<uintptr_t> g_heap_table[size_t{1} << kHeapTableBits];

inline uint64_t HeapHash(uintptr_t addr) { return (addr >> 4) * 0x9E3779B97F4A7C15ull; }

inline bool HeapMaybeSampled(uintptr_t addr) {
  return g_heap_filter[HeapHash(addr) >> (64 - kHeapFilterBits)].load(std::memory_order_relaxed) != 0;
}

// Remembers a sampled address; false when its window is full (the
// allocation then counts for alloc_* but not for inuse_*).
bool HeapSampledInsert(uintptr_t addr);
// Forgets `addr` if it was sampled; true if it was.
bool HeapSampledRemove(uintptr_t addr);
// Whether `addr` is remembered (sampled and not freed since).
bool HeapSampledContains(uintptr_t addr);
// Forgets everything (at profiler start).
void HeapSampledReset();

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_HEAP_FILTER_H_
