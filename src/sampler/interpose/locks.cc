// pthread lock interposers. A lock first tries to take the lock without
// waiting; only when that fails (the lock is contended) is the wait timed,
// and 1 of every lock_sample_rate contended waits (on average) is recorded
// with its delay and the caller's stack, weighted by the rate: the lock
// profile's "contentions" and "delay" estimate the true totals, as Go's
// mutex profile does. Condition-variable waits are recorded the same way
// (the whole wait), so threads parked on a condition appear under
// pthread_cond_wait's caller.
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "base/clock.h"
#include "sampler/interpose/real.h"
#include "sampler/signal_state.h"
#include "sampler/thread_local.h"

namespace stackhouse::sampler::interpose {
namespace {

// The condition-variable functions exist in two versions in glibc; plain
// dlsym could hand back the old (2.2.5) one, which has another layout.
template <typename F>
F CondSymbol(const char* name) {
  void* fn = dlvsym(RTLD_NEXT, name, "GLIBC_2.3.2");
  if (fn == nullptr) fn = NextSymbol(name);
  return reinterpret_cast<F>(fn);
}

inline bool LockProfiling() {
  SignalState* st = g_signal_state.load(std::memory_order_relaxed);
  return st != nullptr && st->lock_on.load(std::memory_order_relaxed);
}

inline int64_t Now() { return MonotonicNanos(); }

__attribute__((noinline)) void RecordWait(int64_t delay_ns, void* frame) {
  ThreadLocal& tl = GetThreadLocal();
  if (tl.internal > 0 || tl.profiler_thread) return;
  InFlight in_flight;
  SignalState* st = in_flight.state();
  if (st == nullptr || !st->lock_on.load(std::memory_order_relaxed)) return;
  uint32_t rate = st->lock_sample_rate;
  if (rate > 1) {
    // Cheap per-thread sampling decision.
    tl.rng = tl.rng * 6364136223846793005ull + 1442695040888963407ull;
    if ((tl.rng >> 33) % rate != 0) return;
  }
  uint64_t t0 = ReadTsc();
  tl.internal++;
  RecordSample(st, SampleKind::kLock, CallerRegs(frame), delay_ns, int64_t{1024} * rate, 0,
               /*hook=*/true);
  tl.internal--;
  st->lock_cost.Add(static_cast<uint64_t>((ReadTsc() - t0) / st->tsc_per_ns));
}

// Takes a lock through `try_lock` first; if that finds it busy, waits with
// `lock` and records the wait for the caller of the interposer (`frame`).
template <typename L>
__attribute__((always_inline)) inline int TimedLock(int (*try_lock)(L*), int (*lock)(L*), L* l, void* frame) {
  if (!LockProfiling()) return lock(l);
  int rc = try_lock(l);
  if (rc != EBUSY) return rc;
  int64_t t0 = Now();
  rc = lock(l);
  RecordWait(Now() - t0, frame);
  return rc;
}

}  // namespace
}  // namespace stackhouse::sampler::interpose

using namespace stackhouse::sampler::interpose;  // NOLINT

#define STACKHOUSE_EXPORT extern "C" __attribute__((visibility("default")))

STACKHOUSE_EXPORT int pthread_mutex_lock(pthread_mutex_t* m) {
  return TimedLock(STACKHOUSE_REAL(pthread_mutex_trylock), STACKHOUSE_REAL(pthread_mutex_lock), m,
                   __builtin_frame_address(0));
}

STACKHOUSE_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t* l) {
  return TimedLock(STACKHOUSE_REAL(pthread_rwlock_tryrdlock), STACKHOUSE_REAL(pthread_rwlock_rdlock), l,
                   __builtin_frame_address(0));
}

STACKHOUSE_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t* l) {
  return TimedLock(STACKHOUSE_REAL(pthread_rwlock_trywrlock), STACKHOUSE_REAL(pthread_rwlock_wrlock), l,
                   __builtin_frame_address(0));
}

STACKHOUSE_EXPORT int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
  static auto real = CondSymbol<decltype(&pthread_cond_wait)>("pthread_cond_wait");
  if (!LockProfiling()) return real(c, m);
  int64_t t0 = Now();
  int rc = real(c, m);
  RecordWait(Now() - t0, __builtin_frame_address(0));
  return rc;
}

STACKHOUSE_EXPORT int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const timespec* t) {
  static auto real = CondSymbol<decltype(&pthread_cond_timedwait)>("pthread_cond_timedwait");
  if (!LockProfiling()) return real(c, m, t);
  int64_t t0 = Now();
  int rc = real(c, m, t);
  RecordWait(Now() - t0, __builtin_frame_address(0));
  return rc;
}
