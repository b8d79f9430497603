#include "sampler/interpose/heap_sampling.h"

#include <cmath>

#include "sampler/heap_filter.h"
#include "sampler/interpose/sampling_math.h"

namespace stackhouse::sampler::interpose {
namespace {

// xorshift64*: a fast per-thread generator; seeded from the TSC and tid.
uint64_t NextRandom(ThreadLocal& tl) {
  if (tl.rng == 0) tl.rng = ReadTsc() ^ (uint64_t(CurrentTid()) << 32) ^ 0x9E3779B97F4A7C15ull;
  uint64_t x = tl.rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  tl.rng = x;
  return x * 0x2545F4914F6CDD1Dull;
}

int64_t DrawBudget(ThreadLocal& tl, double mean) {
  // Uniform in (0, 1], then an exponential with the given mean.
  double u = (static_cast<double>(NextRandom(tl) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
  double b = NegLog(u) * mean;
  return static_cast<int64_t>(b) + 1;
}

}  // namespace

bool BudgetSpent() {
  if (g_heap_on.load(std::memory_order_relaxed)) return true;
  ArmBudget(GetThreadLocal(), kRecheckBytes);
  return false;
}

bool StartSample(SignalState* st) {
  ThreadLocal& tl = GetThreadLocal();
  if (st == nullptr) return false;
  bool first = tl.rng == 0;
  ArmBudget(tl, DrawBudget(tl, static_cast<double>(st->heap_sample_bytes)));
  return !first && tl.internal == 0 && !tl.profiler_thread;
}

void RecordAllocation(SignalState* st, void* ptr, size_t size, void* frame, uint64_t start_tsc) {
  if (ptr == nullptr) return;
  ThreadLocal& tl = GetThreadLocal();
  tl.internal++;
  double mean = static_cast<double>(st->heap_sample_bytes);
  double p = SampledProbability(static_cast<double>(size) / mean);  // 1 - e^(-size/mean)
  int64_t weight = static_cast<int64_t>(1024.0 / (p > 1e-12 ? p : 1e-12));
  uintptr_t addr = reinterpret_cast<uintptr_t>(ptr);
  // The set's line loads while the stack is walked. Only addresses the
  // collector will know get remembered (not when the ring is full), and
  // before the record is published, so the collector finds them in the set.
  HeapSampledPrefetch(addr);
  uint64_t ticket;
  if (SampleRecord* r = BeginSample(st, CallerRegs(frame), &ticket, /*hook=*/true)) {
    bool tracked = HeapSampledInsert(addr);
    FinishSample(st, r, ticket, SampleKind::kAlloc, static_cast<int64_t>(size), weight,
                 tracked ? addr : 0);
  }
  tl.internal--;
  // From the sampling decision on: the page-aligned allocation included.
  if (start_tsc != 0) {
    st->heap_cost.Add(static_cast<uint64_t>((ReadTsc() - start_tsc) / st->tsc_per_ns), kHeapTimingEvery);
  }
}

bool ReportSampledFree(void* ptr) {
  // A page-aligned block glibc happened to align (1 in 100-250 blocks) mostly
  // stops at the set's home count; those are counted, and the benchmark
  // charges each the cost hookcost measures for it. The rest is timed (1 in
  // kHeapTimingEvery): sampled blocks are only forgotten (the collector
  // finds out from the set, see Collector::set_live_check, so no record is
  // queued).
  const uintptr_t addr = reinterpret_cast<uintptr_t>(ptr);
  if (!HeapSampledMayContain(addr)) {
    HeapNoteUnsampledAlignedFree();
    return false;
  }
  const uint64_t start_tsc = HeapTimingStart(GetThreadLocal().free_timing_tick);
  const bool sampled = HeapSampledRemove(addr);
  if (start_tsc != 0) {
    InFlight in_flight;
    if (SignalState* st = in_flight.state()) {
      st->heap_free_cost.Add(static_cast<uint64_t>((ReadTsc() - start_tsc) / st->tsc_per_ns), kHeapTimingEvery);
    }
  }
  return sampled;
}

}  // namespace stackhouse::sampler::interpose
