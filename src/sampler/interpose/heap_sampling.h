// Allocation sampling shared by the malloc and operator new interposers.
//
// Allocations are sampled by a Poisson process over allocated bytes (mean
// Config::heap_sample_bytes, as tcmalloc and jemalloc do): each thread
// counts down a random exponential byte budget; the allocation that
// exhausts it is sampled with weight 1 / (1 - exp(-size / mean)), the
// inverse of its probability of being sampled, so summed weights estimate
// true counts and bytes without bias.
//
// The decision is taken before allocating, and a sampled allocation is
// placed on a page boundary (kSampledAlignment). A free therefore only looks
// further (heap_filter.h) for page-aligned pointers, which ordinary malloc
// results seldom are (1 in 100-250 here): the free fast path touches no
// memory, and an aligned one that was not sampled reads one byte. The cost
// is up to a page of slack per sampled allocation (under 1% of the heap at
// the default mean of 512 KiB).
#ifndef STACKHOUSE_SAMPLER_INTERPOSE_HEAP_SAMPLING_H_
#define STACKHOUSE_SAMPLER_INTERPOSE_HEAP_SAMPLING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sampler/signal_state.h"
#include "sampler/thread_local.h"

namespace stackhouse::sampler::interpose {

inline constexpr size_t kSampledAlignment = 4096;

// While heap profiling is off, a thread whose budget runs out gets this
// much more before it looks at the switch again: the hooks' fast path reads
// only the thread's budget, never the switch.
inline constexpr int64_t kRecheckBytes = int64_t{4} << 20;

// The budget ran out: true if heap profiling is on (StartSample draws the
// next budget), else the budget is re-armed with kRecheckBytes.
bool BudgetSpent();

// The allocator's malloc once resolved (malloc.cc), else null.
void* (*ResolvedMalloc())(size_t);

// Gives the thread `bytes` of budget. The malloc hook's fast path jumps to
// ThreadLocal::real_malloc, so that is set first; until the allocator is
// resolved the budget stays at 0 (every call takes the slow path).
inline void ArmBudget(ThreadLocal& tl, int64_t bytes) {
  tl.real_malloc = ResolvedMalloc();
  tl.bytes_until_sample = tl.real_malloc != nullptr ? bytes : 0;
}

// True when this allocation should be sampled (it exhausted the thread's
// byte budget). Cheap: one thread-local counter.
inline bool ShouldSample(size_t size) {
  ThreadLocal& tl = GetThreadLocal();
  tl.bytes_until_sample -= static_cast<int64_t>(size);
  if (__builtin_expect(tl.bytes_until_sample > 0, 1)) return false;
  return BudgetSpent();
}

// The heap hooks time their slow paths (the sampled allocation, the free of
// a sampled block) 1 call in kHeapTimingEvery per thread, starting with the
// first; a timed call is counted kHeapTimingEvery times. `tick` is the
// thread's count of that kind of call. Returns 0 when this one is not timed.
inline constexpr uint32_t kHeapTimingEvery = 8;
inline uint64_t HeapTimingStart(uint32_t& tick) {
  return (tick++ & (kHeapTimingEvery - 1)) == 0 ? ReadTsc() : 0;
}

// Slow path after ShouldSample said yes: draws the next budget and reports
// whether to really sample (not on a thread's first draw, nor inside the
// profiler). The caller holds an InFlight for `st` (which may be null: no
// profiler, no sample).
bool StartSample(SignalState* st);
// Records the sampled allocation `ptr` of `size` bytes for the caller of
// the function whose frame is `frame`; the time since `start_tsc` (from
// HeapTimingStart when the slow path began; 0 = not timed) is counted as the
// hooks' sampling cost. The caller holds an InFlight for `st` (not null).
void RecordAllocation(SignalState* st, void* ptr, size_t size, void* frame, uint64_t start_tsc);

// Page-aligned pointers may be sampled ones: check and report their free.
inline bool MaybeSampled(const void* ptr) {
  return ptr != nullptr && (reinterpret_cast<uintptr_t>(ptr) & (kSampledAlignment - 1)) == 0;
}
// True if `ptr` was a sampled block (it is forgotten now).
bool ReportSampledFree(void* ptr);

}  // namespace stackhouse::sampler::interpose

#endif  // STACKHOUSE_SAMPLER_INTERPOSE_HEAP_SAMPLING_H_
