// Thread start and exit events, from the pthread_create interposer to the
// profiler's aggregation thread. The interposer runs in a thread that may
// not be fully set up yet (a sanitizer runtime registers new threads only
// after our trampoline), so it must not call anything intercepted: it only
// pushes into this lock-free queue and pokes an eventfd with a raw syscall.
// A full queue drops the event; the profiler's periodic /proc scan repairs
// that.
#ifndef STACKHOUSE_SAMPLER_THREAD_EVENTS_H_
#define STACKHOUSE_SAMPLER_THREAD_EVENTS_H_

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

namespace stackhouse::sampler {

// While no profiler listens (fd < 0) events are dropped.
void SetThreadEventSink(int wake_fd);
// Lock-free; returns false when dropped.
bool PushThreadEvent(int tid, bool started);
// Consumer side (one thread): appends (tid, started) pairs in order.
void PopThreadEvents(std::vector<std::pair<int, bool>>* out);

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_THREAD_EVENTS_H_
