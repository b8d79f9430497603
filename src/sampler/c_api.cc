// The C API (include/stackhouse/stackhouse.h) over Profiler, plus the
// process-level plumbing: the one active profiler, fork handling and the
// exit flush.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <mutex>
#include <random>

#include "base/log.h"
#include "sampler/c_api_internal.h"
#include "sampler/labels.h"
#include "sampler/profiler.h"
#include "sampler/thread_local.h"
#include "stackhouse/stackhouse.h"

namespace stackhouse::sampler {
namespace {

std::mutex& ApiMutex() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}
Profiler* g_profiler = nullptr;  // guarded by ApiMutex
__thread char t_last_error[512] __attribute__((tls_model("initial-exec")));

int Fail(const Status& s) {
  snprintf(t_last_error, sizeof(t_last_error), "%s", s.message().c_str());
  return -1;
}

void AtForkPrepare() { ApiMutex().lock(); }
void AtForkParent() { ApiMutex().unlock(); }
void AtForkChild() {
  // The child keeps only the forking thread: sampling is switched off here
  // and the parent's session is forgotten (see docs/libstackhouse.md).
  ApiMutex().unlock();
  GetThreadLocal().tid = 0;
  if (g_profiler != nullptr) {
    g_profiler->AbandonInChild();
    g_profiler = nullptr;
  }
}

void AtExit() { stackhouse_stop(); }

void ApplyLogLevel(const std::string& level) {
  LogLevel l = LogLevel::kWarn;
  ParseLogLevel(level, &l);
  SetLogLevel(l);
}

}  // namespace

int CurrentTid() {
  ThreadLocal& tl = GetThreadLocal();
  if (tl.tid == 0) tl.tid = static_cast<int>(gettid());
  return tl.tid;
}

int StartWithConfig(const Config& config) {
  InternalScope internal;
  std::lock_guard<std::mutex> lock(ApiMutex());
  if (g_profiler != nullptr) return Fail(FailedPreconditionError("stackhouse is already running"));
  ApplyLogLevel(config.log_level);
  if (config.server_address.empty() && config.output_dir.empty()) {
    LogInfo("stackhouse: no server address and no output folder: profiles are not kept");
  }
  if (config.process_fraction < 1.0) {
    std::random_device rd;
    if (std::uniform_real_distribution<double>(0, 1)(rd) >= config.process_fraction) {
      LogInfo("stackhouse: this process was not selected for profiling",
              {{"process_fraction", config.process_fraction}});
      return 0;
    }
  }
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(AtForkPrepare, AtForkParent, AtForkChild);
    atexit(AtExit);
  });
  NoteThreadStart();  // the starting thread's stack bounds
  // Create the label table here, before any thread of ours exists, so that
  // every later use is ordered after its construction (also for TSan, which
  // cannot see the guard of a function-local static in our code).
  LiveLabelSets();
  auto p = Profiler::Start(config);
  if (!p.ok()) {
    LogWarn("stackhouse: not started", {{"error", p.status().message()}});
    return Fail(p.status());
  }
  g_profiler = p->release();
  return 0;
}

void NoteThreadStart() {
  ThreadLocal& tl = GetThreadLocal();
  tl.tid = static_cast<int>(gettid());
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr != nullptr) {
      tl.stack_lo = reinterpret_cast<uintptr_t>(addr);
      tl.stack_hi = tl.stack_lo + size;
    }
    pthread_attr_destroy(&attr);
  }
}

}  // namespace stackhouse::sampler

using stackhouse::sampler::ApiMutex;
using stackhouse::sampler::Fail;
using stackhouse::sampler::g_profiler;

extern "C" {

int stackhouse_start(const stackhouse_config* config) {
  stackhouse_config empty;
  memset(&empty, 0, sizeof(empty));
  auto c = stackhouse::sampler::ConfigFromC(config != nullptr ? *config : empty);
  if (!c.ok()) return Fail(c.status());
  return stackhouse::sampler::StartWithConfig(*c);
}

int stackhouse_stop(void) {
  stackhouse::sampler::InternalScope internal;
  std::lock_guard<std::mutex> lock(ApiMutex());
  if (g_profiler == nullptr) return 0;
  g_profiler->Stop(5000);
  delete g_profiler;
  g_profiler = nullptr;
  return 0;
}

int stackhouse_flush(uint32_t timeout_ms) {
  stackhouse::sampler::InternalScope internal;
  std::lock_guard<std::mutex> lock(ApiMutex());
  if (g_profiler == nullptr) return Fail(stackhouse::FailedPreconditionError("stackhouse is not running"));
  if (!g_profiler->Flush(timeout_ms)) {
    return Fail(stackhouse::DeadlineExceededError("the flush did not finish in time"));
  }
  return 0;
}

int stackhouse_running(void) {
  std::lock_guard<std::mutex> lock(ApiMutex());
  return g_profiler != nullptr ? 1 : 0;
}

int stackhouse_label_set(const char* key, const char* value) {
  if (key == nullptr || *key == '\0' || value == nullptr) {
    return Fail(stackhouse::InvalidArgumentError("label key and value must be given"));
  }
  if (!stackhouse::sampler::SetThreadLabel(key, value)) {
    return Fail(stackhouse::ResourceExhaustedError("too many distinct label sets"));
  }
  return 0;
}

int stackhouse_label_clear(const char* key) {
  if (key == nullptr) return Fail(stackhouse::InvalidArgumentError("label key must be given"));
  stackhouse::sampler::ClearThreadLabel(key);
  return 0;
}

void stackhouse_label_clear_all(void) { stackhouse::sampler::ClearThreadLabels(); }

const char* stackhouse_last_error(void) { return stackhouse::sampler::t_last_error; }

const char* stackhouse_stats_json(void) {
  static __thread char* buf = nullptr;
  stackhouse::sampler::InternalScope internal;
  std::lock_guard<std::mutex> lock(ApiMutex());
  std::string s = g_profiler != nullptr ? g_profiler->StatsJson() : "{}";
  free(buf);
  buf = strdup(s.c_str());
  return buf;
}

}  // extern "C"

namespace stackhouse {

ScopedLabel::ScopedLabel(const char* key, const char* value) {
  previous_ = sampler::CurrentLabelSet();
  sampler::RetainLabelSet(previous_);
  stackhouse_label_set(key, value);
}

ScopedLabel::~ScopedLabel() {
  sampler::RestoreThreadLabelSet(previous_);
  sampler::ReleaseLabelSet(previous_);
}

}  // namespace stackhouse
