// pthread_create interposer: every new thread records its stack bounds and
// is handed to the running profiler before its start routine runs, and is
// removed again when it exits (via a thread-specific-data destructor, which
// also runs on pthread_exit and cancellation).
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "sampler/c_api_internal.h"
#include "sampler/interpose/real.h"
#include "sampler/thread_local.h"

namespace stackhouse::sampler::interpose {
namespace {

struct StartArgs {
  void* (*fn)(void*);
  void* arg;
};

pthread_key_t g_exit_key;
pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

void OnThreadExit(void*) {
  int tid = GetThreadLocal().tid;
  if (tid != 0) NotifyThreadExited(tid);
}

void MakeKey() { pthread_key_create(&g_exit_key, OnThreadExit); }

void* Trampoline(void* p) {
  StartArgs args = *static_cast<StartArgs*>(p);
  free(p);
  NoteThreadStart();
  pthread_setspecific(g_exit_key, reinterpret_cast<void*>(1));
  NotifyThreadStarted(GetThreadLocal().tid);
  return args.fn(args.arg);
}

}  // namespace
}  // namespace stackhouse::sampler::interpose

using namespace stackhouse::sampler::interpose;  // NOLINT

extern "C" __attribute__((visibility("default"))) int pthread_create(pthread_t* thread,
                                                                    const pthread_attr_t* attr,
                                                                    void* (*fn)(void*), void* arg) {
  pthread_once(&g_key_once, MakeKey);
  auto* args = static_cast<StartArgs*>(malloc(sizeof(StartArgs)));
  if (args == nullptr) return STACKHOUSE_REAL(pthread_create)(thread, attr, fn, arg);
  args->fn = fn;
  args->arg = arg;
  int rc = STACKHOUSE_REAL(pthread_create)(thread, attr, Trampoline, args);
  if (rc != 0) free(args);
  return rc;
}
