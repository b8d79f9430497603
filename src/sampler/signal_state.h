// What the signal handlers and the heap/lock hooks share with the profiler:
// the sample ring, the unwind tables, switches, and self-cost accounting.
// Published through an atomic pointer; the profiler waits for in-flight
// handlers (InFlight) before freeing it.
#ifndef STACKHOUSE_SAMPLER_SIGNAL_STATE_H_
#define STACKHOUSE_SAMPLER_SIGNAL_STATE_H_

#include <signal.h>

#include <atomic>
#include <cstdint>

#include "sampler/ring.h"
#include "sampler/thread_local.h"
#include "sampler/unwind/stack_walker.h"
#include "sampler/unwind/unwind_tables.h"
#include "sampler/unwind/walk_cache.h"

namespace stackhouse::sampler {

// Per-thread shards of shared counters: the hooks of two threads that
// allocate at once would otherwise take turns owning the same cache lines.
inline constexpr int kCostShards = 8;
inline int ThreadShard() { return CurrentTid() & (kCostShards - 1); }

// A histogram of per-call costs in nanoseconds: 50 ns buckets up to 25.6 us,
// then one overflow bucket. Lock-free, sharded by thread; medians come from
// the buckets.
class CostHistogram {
 public:
  static constexpr int kBuckets = 513;
  static constexpr uint64_t kBucketNs = 50;
  // One call's cost; `weight` > 1 when only 1 call in `weight` is timed
  // (it then stands for the others).
  void Add(uint64_t ns, uint64_t weight = 1) {
    Shard& s = shards_[ThreadShard()];
    uint64_t b = ns / kBucketNs;
    s.buckets[b < kBuckets - 1 ? b : kBuckets - 1].fetch_add(weight, std::memory_order_relaxed);
    s.total_ns.fetch_add(ns * weight, std::memory_order_relaxed);
    s.count.fetch_add(weight, std::memory_order_relaxed);
  }
  uint64_t count() const;
  uint64_t total_ns() const;
  // The upper edge of the bucket holding the p-quantile (0..1), in ns.
  double QuantileNs(double p) const;

 private:
  struct alignas(64) Shard {
    std::atomic<uint64_t> buckets[kBuckets] = {};
    std::atomic<uint64_t> total_ns{0};
    std::atomic<uint64_t> count{0};
  };
  Shard shards_[kCostShards];
};

struct SignalState {
  SampleRing* ring = nullptr;
  unwind::UnwindTables* tables = nullptr;  // null in frame-pointer mode
  unwind::WalkCache* walk_cache = nullptr;  // the hooks' walks (may be null)
  unwind::WalkMode walk_mode = unwind::WalkMode::kFramePointer;
  std::atomic<bool> cpu_on{false};
  std::atomic<bool> wall_on{false};
  std::atomic<bool> heap_on{false};
  std::atomic<bool> lock_on{false};
  int64_t cpu_period_ns = 10000000;
  int64_t heap_sample_bytes = 512 * 1024;  // mean bytes between heap samples
  uint32_t lock_sample_rate = 1;            // record 1 of N contended waits
  std::atomic<int64_t> wall_weight_ns{10000000};  // wall time one wall sample stands for
  int cpu_signal = 0;
  int wall_signal = 0;
  // TSC ticks per nanosecond, for cheap self-timing (calibrated at start).
  double tsc_per_ns = 1.0;

  CostHistogram cpu_cost;   // CPU signal handler
  CostHistogram wall_cost;  // wall signal handler
  // The heap hooks' slow paths time 1 call in kHeapTimingEvery per thread
  // (two TSC reads and the histogram's atomics were a fifth of their cost).
  CostHistogram heap_cost;  // sampled allocations (the unsampled fast path is not timed)
  CostHistogram heap_free_cost;  // frees of page-aligned blocks past the home-count check
  CostHistogram lock_cost;  // recorded contentions
  std::atomic<uint64_t> truncated_stacks{0};
};

// Whether allocations are being sampled (mirrors heap_on of the current
// state): the one flag the malloc fast path reads.
extern std::atomic<bool> g_heap_on;

// The current state, or null when not profiling.
extern std::atomic<SignalState*> g_signal_state;
// Handlers and hooks between their load of g_signal_state and their last
// use, counted in per-thread shards (see ThreadShard).
struct alignas(64) InFlightShard {
  std::atomic<int> count{0};
};
extern InFlightShard g_in_flight[kCostShards];
// True while any handler or hook may still use the state it loaded.
bool AnyInFlight();
// Forgets every count (in a forked child, whose other threads are gone).
void ResetInFlight();

// RAII: counts the caller as in flight and loads the state.
class InFlight {
 public:
  InFlight() : shard_(g_in_flight[ThreadShard()]) {
    shard_.count.fetch_add(1, std::memory_order_acquire);
    state_ = g_signal_state.load(std::memory_order_acquire);
  }
  ~InFlight() { shard_.count.fetch_sub(1, std::memory_order_release); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  SignalState* state() const { return state_; }

 private:
  InFlightShard& shard_;
  SignalState* state_;
};

inline uint64_t ReadTsc() {
  uint32_t lo, hi;
  __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t{hi} << 32) | lo;
}

// Walks the stack from `regs` and queues a record. Signal-safe; returns false
// if the ring was full.
// `hook`: called from an allocation or lock hook, whose call sites repeat:
// the walk goes through st->walk_cache.
bool RecordSample(SignalState* st, SampleKind kind, const unwind::Regs& regs, int64_t value,
                  int64_t weight, uint64_t address, bool hook = false);
// The same in two steps, for callers with work to overlap with the walk:
// BeginSample claims a cell and walks the stack into it (null if the ring is
// full); FinishSample fills in the rest and publishes it.
SampleRecord* BeginSample(SignalState* st, const unwind::Regs& regs, uint64_t* ticket, bool hook = false);
void FinishSample(SignalState* st, SampleRecord* r, uint64_t ticket, SampleKind kind, int64_t value,
                  int64_t weight, uint64_t address);

// Regs of the caller of the function whose frame pointer is `frame`
// (__builtin_frame_address(0) of a function built with frame pointers).
unwind::Regs CallerRegs(void* frame);

// Installs the CPU and wall handlers for the signals in `st` (kept installed
// for the life of the process, so that late signals are harmless).
void InstallSignalHandler(int signo);
// True if `signo` has a handler that is not ours (SIG_DFL/SIG_IGN are free).
bool SignalHasForeignHandler(int signo);
// True if our handler is installed for `signo`.
bool SignalHasOurHandler(int signo);

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_SIGNAL_STATE_H_
