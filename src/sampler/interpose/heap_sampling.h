// Allocation sampling shared by the malloc and operator new interposers.
//
// Allocations are sampled by a Poisson process over allocated bytes (mean
// Config::heap_sample_bytes, as tcmalloc and jemalloc do): each thread
// counts down a random exponential byte budget; the allocation that
// exhausts it is sampled with weight 1 / (1 - exp(-size / mean)), the
// inverse of its probability of being sampled, so summed weights estimate
// true counts and bytes without bias. Sampled addresses are remembered in
// a counting filter so that frees of them (and only a rare few others) are
// reported to the collector, which keeps the in-use set.
#ifndef STACKHOUSE_SAMPLER_INTERPOSE_HEAP_SAMPLING_H_
#define STACKHOUSE_SAMPLER_INTERPOSE_HEAP_SAMPLING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sampler/signal_state.h"
#include "sampler/thread_local.h"

namespace stackhouse::sampler::interpose {

// Slow path: the thread's byte budget ran out (or was never drawn).
void SampleAllocation(void* ptr, size_t size, void* frame);
// Slow path of a free whose address may have been sampled.
void ReportSampledFree(void* ptr);
bool MaybeSampled(void* ptr);

inline void OnAllocation(void* ptr, size_t size, void* frame) {
  SignalState* st = g_signal_state.load(std::memory_order_relaxed);
  if (st == nullptr || !st->heap_on.load(std::memory_order_relaxed)) return;
  ThreadLocal& tl = GetThreadLocal();
  tl.bytes_until_sample -= static_cast<int64_t>(size);
  if (__builtin_expect(tl.bytes_until_sample > 0, 1)) return;
  SampleAllocation(ptr, size, frame);
}

inline void OnFree(void* ptr) {
  if (ptr != nullptr && MaybeSampled(ptr)) ReportSampledFree(ptr);
}

}  // namespace stackhouse::sampler::interpose

#endif  // STACKHOUSE_SAMPLER_INTERPOSE_HEAP_SAMPLING_H_
