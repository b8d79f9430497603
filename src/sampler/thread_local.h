// The profiler's per-thread state, in initial-exec TLS so that the signal
// handler and the malloc hooks can reach it without calling into the
// dynamic loader (which may allocate or take locks).
#ifndef STACKHOUSE_SAMPLER_THREAD_LOCAL_H_
#define STACKHOUSE_SAMPLER_THREAD_LOCAL_H_

#include <cstddef>
#include <cstdint>

namespace stackhouse::sampler {

struct alignas(64) ThreadLocal {
  // Heap sampling (heap_sampling.h), first so that the malloc hook reads
  // one cache line: bytes left until the next sample, and the allocator's
  // malloc, which is set whenever the budget is positive.
  int64_t bytes_until_sample = 0;
  void* (*real_malloc)(size_t) = nullptr;
  uintptr_t stack_lo = 0;  // this thread's stack, 0 when not known
  uintptr_t stack_hi = 0;
  uint32_t label_set = 0;  // labels.h
  int tid = 0;             // cached gettid(), 0 until known
  int internal = 0;        // >0 while the profiler itself runs on this thread
  bool profiler_thread = false;  // one of our own threads: never sampled
  uint64_t rng = 0;  // heap sampling's generator
  // heap_sampling.h: which sampled allocations and frees are timed.
  uint32_t alloc_timing_tick = 0;
  uint32_t free_timing_tick = 0;
};

inline ThreadLocal& GetThreadLocal() {
  static __thread ThreadLocal tl __attribute__((tls_model("initial-exec")));
  return tl;
}

// Marks the calling thread as busy inside the profiler for a scope, so the
// heap and lock hooks let its allocations and locks pass unrecorded.
class InternalScope {
 public:
  InternalScope() { GetThreadLocal().internal++; }
  ~InternalScope() { GetThreadLocal().internal--; }
  InternalScope(const InternalScope&) = delete;
  InternalScope& operator=(const InternalScope&) = delete;
};

// The kernel thread id of the caller (cached).
int CurrentTid();

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_THREAD_LOCAL_H_
