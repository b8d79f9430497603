// Clock readings in nanoseconds (thin wrappers over clock_gettime, cheap:
// served by the vDSO). Thread-safe.
#ifndef STACKHOUSE_BASE_CLOCK_H_
#define STACKHOUSE_BASE_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace stackhouse {

inline int64_t ClockNanos(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
// For durations and deadlines.
inline int64_t MonotonicNanos() { return ClockNanos(CLOCK_MONOTONIC); }
// Unix time, for timestamps.
inline int64_t RealtimeNanos() { return ClockNanos(CLOCK_REALTIME); }

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_CLOCK_H_
