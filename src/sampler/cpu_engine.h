// CPU sampling engines. Each one makes the kernel send `signo` to a thread
// after every `period` of CPU time that thread (or, for itimer, the process)
// consumed; the signal handler (sampler.cc) then records the stack.
//
//   perf    one perf_event (software CPU clock) per thread, its overflow
//           delivered as a signal to that thread (F_SETOWN_EX). Exact
//           periods; needs perf_event_open (perf_event_paranoid <= 2 or
//           CAP_PERFMON) and one fd per thread.
//   ctimer  one POSIX timer per thread on that thread's CPU clock with
//           SIGEV_THREAD_ID. No fds, but the kernel only checks CPU timers on
//           scheduler ticks (4 ms at 250 Hz), so periods are rounded to ticks.
//   itimer  setitimer(ITIMER_PROF) for the whole process. Tick granularity,
//           uneven spread over threads, SIGPROF only; the last fallback.
//
// Engines are driven from the profiler's own threads only, never from a
// signal handler. Thread-compatible: the profiler serializes calls.
#ifndef STACKHOUSE_SAMPLER_CPU_ENGINE_H_
#define STACKHOUSE_SAMPLER_CPU_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "sampler/config.h"

namespace stackhouse::sampler {

class CpuEngine {
 public:
  virtual ~CpuEngine() = default;
  virtual const char* name() const = 0;
  // True when each thread must be added with AddThread.
  virtual bool per_thread() const = 0;
  // Checks that the engine works here (creating one probe event/timer on the
  // calling thread) and remembers the signal and period.
  virtual Status Start(int signo, uint64_t period_ns) = 0;
  virtual Status AddThread(int tid) = 0;
  virtual void RemoveThread(int tid) = 0;
  // Pauses/resumes sampling without dropping threads (duty cycling).
  virtual void SetEnabled(bool enabled) = 0;
  // Disarms everything; afterwards no more signals are generated.
  virtual void Stop() = 0;
  // In a forked child: releases the inherited descriptors without
  // disarming anything of the parent's.
  virtual void Abandon() = 0;
};

std::unique_ptr<CpuEngine> NewPerfEngine();
std::unique_ptr<CpuEngine> NewCtimerEngine();
std::unique_ptr<CpuEngine> NewItimerEngine();

// Picks the engine: the requested one, or for kAuto the first of perf,
// ctimer, itimer whose Start succeeds. itimer needs SIGPROF to be free
// (`sigprof_free`). Returns the reasons of each failure in the error.
StatusOr<std::unique_ptr<CpuEngine>> SelectCpuEngine(Engine want, int signo, uint64_t period_ns,
                                                     bool sigprof_free);

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_CPU_ENGINE_H_
