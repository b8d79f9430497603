// The set of heap addresses that were sampled and not yet freed, so that a
// free can tell (exactly) whether it frees a sampled block, and the
// collector which of its live allocations are left.
//
// A lock-free open-addressed table of 64-byte buckets: seven address slots
// and a count of the addresses whose home is this bucket but that live in
// one of the next kHeapProbeBuckets - 1 buckets because it was full. A
// lookup reads one cache line unless that count is non-zero, which is rare
// while the table is far from full. Beside the table, a byte per bucket
// counts the addresses whose home it is: a free of a block that was never
// sampled usually stops at that zero, in 32 KiB that stay cached. Only the
// allocating thread inserts an address (before malloc returns it) and only
// the freeing thread removes it, so an address is never inserted and removed
// at once.
#ifndef STACKHOUSE_SAMPLER_HEAP_FILTER_H_
#define STACKHOUSE_SAMPLER_HEAP_FILTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace stackhouse::sampler {

inline constexpr int kHeapBucketBits = 15;  // 32 Ki buckets: 224 Ki addresses, 2 MiB
inline constexpr int kHeapBucketSlots = 7;
inline constexpr int kHeapProbeBuckets = 4;

struct alignas(64) HeapBucket {
  std::atomic<uintptr_t> slots[kHeapBucketSlots];
  std::atomic<uintptr_t> overflow;  // addresses of this home placed in later buckets
};
static_assert(sizeof(HeapBucket) == 64);

// Starts loading the cache line that Insert(addr) will write.
void HeapSampledPrefetch(uintptr_t addr);
// Remembers a sampled address; false when its buckets are full (the
// allocation then counts for alloc_* but not for inuse_*).
bool HeapSampledInsert(uintptr_t addr);
// Forgets `addr` if it was sampled; true if it was.
bool HeapSampledRemove(uintptr_t addr);
// Whether `addr` is remembered (sampled and not freed since).
bool HeapSampledContains(uintptr_t addr);
// False when `addr` is certainly not remembered (its home count is zero):
// one byte read, no table line.
bool HeapSampledMayContain(uintptr_t addr);
// Counts a free that HeapSampledMayContain turned away (a page-aligned
// block glibc handed out, not a sampled one), per thread shard, for the
// profiler's accounting; the total since the process started.
void HeapNoteUnsampledAlignedFree();
uint64_t HeapUnsampledAlignedFrees();
// Forgets everything; the first call maps the table (at profiler start,
// before heap sampling is switched on). False if the table could not be
// mapped: nothing is then remembered (inuse_* stay empty).
bool HeapSampledReset();

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_HEAP_FILTER_H_
