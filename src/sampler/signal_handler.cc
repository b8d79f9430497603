// The CPU and wall signal handler, and stack recording shared with the
// heap and lock hooks. Everything here is async-signal-safe: no locks, no
// allocation, memory read through SafeLoad within the thread's stack.
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sampler/signal_state.h"
#include "sampler/thread_local.h"

namespace stackhouse::sampler {

// Read-mostly flags on one cache line, the in-flight counter (written by
// every handler) on its own, so that it does not evict them.
alignas(64) constinit std::atomic<SignalState*> g_signal_state{nullptr};
constinit std::atomic<bool> g_heap_on{false};
constinit InFlightShard g_in_flight[kCostShards];

bool AnyInFlight() {
  for (const InFlightShard& s : g_in_flight) {
    if (s.count.load(std::memory_order_acquire) != 0) return true;
  }
  return false;
}

void ResetInFlight() {
  for (InFlightShard& s : g_in_flight) s.count.store(0, std::memory_order_relaxed);
}

namespace {

// Stacks are walked within [sp, stack_hi); unknown stacks get this much.
constexpr uintptr_t kUnknownStackSpan = 8u << 20;

void OnSignal(int signo, siginfo_t* info, void* ucontext) {
  int saved_errno = errno;
  uint64_t t0 = ReadTsc();
  {
    InFlight in_flight;
    SignalState* st = in_flight.state();
    ThreadLocal& tl = GetThreadLocal();
    if (st != nullptr && !tl.profiler_thread) {
      unwind::Regs regs = unwind::RegsFromUcontext(ucontext);
      if (signo == st->cpu_signal && st->cpu_on.load(std::memory_order_relaxed)) {
        RecordSample(st, SampleKind::kCpu, regs, st->cpu_period_ns, 0, 0);
        st->cpu_cost.Add(static_cast<uint64_t>((ReadTsc() - t0) / st->tsc_per_ns));
      } else if (signo == st->wall_signal && st->wall_on.load(std::memory_order_relaxed)) {
        RecordSample(st, SampleKind::kWall, regs, st->wall_weight_ns.load(std::memory_order_relaxed), 0,
                     0);
        st->wall_cost.Add(static_cast<uint64_t>((ReadTsc() - t0) / st->tsc_per_ns));
      }
    }
  }
  errno = saved_errno;
}

}  // namespace

SampleRecord* BeginSample(SignalState* st, const unwind::Regs& regs, uint64_t* ticket, bool hook) {
  SampleRecord* r = st->ring->Claim(ticket, ThreadShard());
  if (r == nullptr) return nullptr;
  const ThreadLocal& tl = GetThreadLocal();
  uintptr_t hi = (tl.stack_hi != 0 && regs.sp >= tl.stack_lo && regs.sp < tl.stack_hi)
                     ? tl.stack_hi
                     : regs.sp + kUnknownStackSpan;
  // (WalkStack enters the tables itself while it uses them.)
  int n = hook && st->walk_cache != nullptr
              ? st->walk_cache->Walk(regs, hi, st->walk_mode, st->tables, r->pcs, kMaxFrames)
              : unwind::WalkStack(regs, hi, st->walk_mode, st->tables, r->pcs, kMaxFrames);
  if (n >= kMaxFrames) st->truncated_stacks.fetch_add(1, std::memory_order_relaxed);
  r->depth = static_cast<uint16_t>(n);
  return r;
}

void FinishSample(SignalState* st, SampleRecord* r, uint64_t ticket, SampleKind kind, int64_t value,
                  int64_t weight, uint64_t address) {
  const ThreadLocal& tl = GetThreadLocal();
  r->kind = kind;
  r->label_set = tl.label_set;
  r->tid = static_cast<uint32_t>(tl.tid);
  r->value = value;
  r->weight = weight;
  r->address = address;
  r->stamp = address != 0 ? ReadTsc() : 0;
  st->ring->Publish(ticket);
}

bool RecordSample(SignalState* st, SampleKind kind, const unwind::Regs& regs, int64_t value,
                  int64_t weight, uint64_t address, bool hook) {
  uint64_t ticket;
  SampleRecord* r = BeginSample(st, regs, &ticket, hook);
  if (r == nullptr) return false;
  FinishSample(st, r, ticket, kind, value, weight, address);
  return true;
}

unwind::Regs CallerRegs(void* frame) {
  auto* fp = static_cast<uintptr_t*>(frame);
  unwind::Regs r;
  r.pc = fp[1];
  r.sp = reinterpret_cast<uintptr_t>(fp) + 16;
  r.fp = fp[0];
  return r;
}

void InstallSignalHandler(int signo) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = OnSignal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(signo, &sa, nullptr);
}

bool SignalHasForeignHandler(int signo) {
  struct sigaction old;
  if (sigaction(signo, nullptr, &old) != 0) return true;
  if (old.sa_flags & SA_SIGINFO) return old.sa_sigaction != OnSignal;
  return old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN;
}

bool SignalHasOurHandler(int signo) {
  struct sigaction old;
  if (sigaction(signo, nullptr, &old) != 0) return false;
  return (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == OnSignal;
}

uint64_t CostHistogram::count() const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.count.load(std::memory_order_relaxed);
  return n;
}

uint64_t CostHistogram::total_ns() const {
  uint64_t n = 0;
  for (const Shard& s : shards_) n += s.total_ns.load(std::memory_order_relaxed);
  return n;
}

double CostHistogram::QuantileNs(double p) const {
  uint64_t n = 0;
  uint64_t buckets[kBuckets] = {};
  for (const Shard& s : shards_) {
    for (int i = 0; i < kBuckets; ++i) buckets[i] += s.buckets[i].load(std::memory_order_relaxed);
  }
  for (uint64_t b : buckets) n += b;
  if (n == 0) return 0;
  uint64_t want = static_cast<uint64_t>(p * static_cast<double>(n));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets[i];
    if (seen > want) return (i + 0.5) * kBucketNs;
  }
  return static_cast<double>(kBuckets * kBucketNs);
}

}  // namespace stackhouse::sampler
