// pthread_create interposer: every new thread notes its stack and tid in
// its ThreadLocal and is announced to the profiler (thread_events.h) before
// its start routine runs; its exit is announced from a thread-specific-data
// destructor (which also runs on pthread_exit and cancellation).
//
// Nothing here may call a function that a sanitizer runtime intercepts
// (malloc, locks, write, ...): under ASan/TSan our trampoline runs before
// the runtime knows the thread. The start arguments therefore travel in a
// fixed pool of slots, not on the heap.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "sampler/interpose/real.h"
#include "sampler/thread_events.h"
#include "sampler/thread_local.h"

namespace stackhouse::sampler::interpose {
namespace {

struct StartSlot {
  std::atomic<bool> used{false};
  void* (*fn)(void*) = nullptr;
  void* arg = nullptr;
  bool profiler_thread = false;  // created by the profiler itself
};

constexpr int kSlots = 1024;
constinit StartSlot g_slots[kSlots]{};
constinit std::atomic<unsigned> g_next_slot{0};

pthread_key_t g_exit_key;
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

StartSlot* TakeSlot() {
  unsigned start = g_next_slot.fetch_add(1, std::memory_order_relaxed);
  for (int i = 0; i < kSlots; ++i) {
    StartSlot& s = g_slots[(start + i) % kSlots];
    bool expected = false;
    if (!s.used.load(std::memory_order_relaxed) &&
        s.used.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      return &s;
    }
  }
  return nullptr;
}

void OnThreadExit(void*) {
  int tid = GetThreadLocal().tid;
  if (tid != 0) PushThreadEvent(tid, /*started=*/false);
}

void MakeKey() { pthread_key_create(&g_exit_key, OnThreadExit); }

void* Trampoline(void* p) {
  auto* slot = static_cast<StartSlot*>(p);
  void* (*fn)(void*) = slot->fn;
  void* arg = slot->arg;
  bool profiler_thread = slot->profiler_thread;
  slot->used.store(false, std::memory_order_release);
  ThreadLocal& tl = GetThreadLocal();
  tl.tid = static_cast<int>(syscall(SYS_gettid));
  // This frame is within a page or two of the top of the thread's stack
  // (only start_thread and clone are above it): walks stop here.
  uintptr_t frame = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  tl.stack_hi = (frame + 8192) & ~uintptr_t{4095};
  tl.stack_lo = 0;
  if (profiler_thread) {
    tl.profiler_thread = true;  // never sampled, never registered
  } else {
    pthread_setspecific(g_exit_key, reinterpret_cast<void*>(1));
    PushThreadEvent(tl.tid, /*started=*/true);
  }
  return fn(arg);
}

}  // namespace
}  // namespace stackhouse::sampler::interpose

using namespace stackhouse::sampler::interpose;  // NOLINT

extern "C" __attribute__((visibility("default"))) int pthread_create(pthread_t* thread,
                                                                    const pthread_attr_t* attr,
                                                                    void* (*fn)(void*), void* arg) {
  pthread_once(&g_key_once, MakeKey);
  StartSlot* slot = TakeSlot();
  if (slot == nullptr) return STACKHOUSE_REAL(pthread_create)(thread, attr, fn, arg);  // found by the scan
  slot->fn = fn;
  slot->arg = arg;
  slot->profiler_thread = stackhouse::sampler::GetThreadLocal().internal > 0;
  int rc = STACKHOUSE_REAL(pthread_create)(thread, attr, Trampoline, slot);
  if (rc != 0) slot->used.store(false, std::memory_order_release);
  return rc;
}
