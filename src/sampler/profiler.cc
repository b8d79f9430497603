#include "sampler/profiler.h"

#include <dirent.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "base/gzip.h"
#include "base/log.h"
#include "base/strings.h"
#include "sampler/heap_filter.h"
#include "sampler/unwind/safe_load.h"
#include "sampler/labels.h"
#include "sampler/thread_events.h"
#include "sampler/thread_local.h"

namespace stackhouse::sampler {
namespace {

constexpr int64_t kDrainPeriodMs = 100;
constexpr int64_t kHousekeepingNs = 1000000000;
constexpr size_t kRingCapacity = 2048;
// Producers claim cells in the shard of their thread (ThreadShard() modulo
// this): threads that sample often then do not trade the claim counter's
// cache line. 512 cells each: a thread sampling 20,000 allocations a
// second wakes the aggregator (at half full) every ~13 ms.
constexpr int kRingShards = 4;

// The first real-time signal from SIGRTMIN+4 on without a handler, other
// than `avoid`. Real-time signals are rarely used by programs; SIGPROF is
// left to programs that profile themselves.
int FreeRtSignal(int avoid) {
  for (int s = SIGRTMIN + 4; s <= SIGRTMAX - 4; ++s) {
    if (s != avoid && !SignalHasForeignHandler(s)) {
      struct sigaction old;
      sigaction(s, nullptr, &old);
      // An ignored signal is free too: a profiled process that execs leaves
      // ours ignored in the new image (interpose/exec.cc), whose own
      // libstackhouse then takes them again.
      if (!(old.sa_flags & SA_SIGINFO) && (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)) {
        return s;
      }
    }
  }
  return -1;
}

double CalibrateTsc() {
  int64_t t0 = MonotonicNanos();
  uint64_t c0 = ReadTsc();
  struct timespec ts{0, 5000000};
  nanosleep(&ts, nullptr);
  int64_t t1 = MonotonicNanos();
  uint64_t c1 = ReadTsc();
  double per_ns = static_cast<double>(c1 - c0) / static_cast<double>(t1 - t0);
  return per_ns > 0.01 ? per_ns : 1.0;
}

void MarkProfilerThread(const char* name, std::mutex* mu, std::vector<clockid_t>* clocks) {
  ThreadLocal& tl = GetThreadLocal();
  tl.profiler_thread = true;
  tl.internal++;
  pthread_setname_np(pthread_self(), name);
  clockid_t clock;
  if (pthread_getcpuclockid(pthread_self(), &clock) == 0) {
    std::lock_guard<std::mutex> lock(*mu);
    clocks->push_back(clock);
  }
}

}  // namespace

Profiler::Profiler(const Config& config) : config_(config) {}

StatusOr<std::unique_ptr<Profiler>> Profiler::Start(const Config& config) {
  std::unique_ptr<Profiler> p(new Profiler(config));
  SH_RETURN_IF_ERROR(p->Init());
  return p;
}

Status Profiler::Init() {
  InternalScope internal;
  ring_ = std::make_unique<SampleRing>(kRingCapacity, kRingShards);
  if (!ring_->ok()) return ResourceExhaustedError("cannot map the sample ring");
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  ring_->SetWakeFd(wake_fd_);
  state_ = std::make_unique<SignalState>();
  state_->ring = ring_.get();
  state_->tsc_per_ns = CalibrateTsc();
  int64_t period_ns = 1000000000LL / config_.sample_rate_hz;
  state_->cpu_period_ns = period_ns;
  state_->heap_sample_bytes = static_cast<int64_t>(config_.heap_sample_bytes);
  state_->lock_sample_rate = config_.lock_sample_rate;
  if (!HeapSampledReset()) {
    LogWarn("stackhouse: cannot map the table of sampled heap blocks; inuse_* stay empty", {});
  }
  state_->wall_weight_ns.store(period_ns);
  export_options_.cpu_period_ns = period_ns;
  export_options_.wall_period_ns = period_ns;
  export_options_.heap_sample_bytes = static_cast<int64_t>(config_.heap_sample_bytes);
  export_options_.lock_sample_rate = config_.lock_sample_rate;

  if (!unwind::InstallSafeLoadHandler()) {
    LogWarn("stackhouse: could not install the SIGSEGV guard; unwinding stays within known stacks");
  }
  if (config_.unwind == UnwindMode::kAuto) {
    tables_ = std::make_unique<unwind::UnwindTables>();
    Status s = tables_->Refresh();
    if (!s.ok()) LogWarn("stackhouse: unwind tables", {{"error", s.message()}});
    state_->tables = tables_.get();
    state_->walk_mode = unwind::WalkMode::kDwarf;
  }
  walk_cache_ = std::make_unique<unwind::WalkCache>();
  state_->walk_cache = walk_cache_.get();

  if (config_.profiles & STACKHOUSE_PROFILE_CPU) {
    int rt = FreeRtSignal(-1);
    bool sigprof_free = !SignalHasForeignHandler(SIGPROF);
    auto engine = SelectCpuEngine(config_.engine, rt, static_cast<uint64_t>(period_ns), sigprof_free);
    if (!engine.ok()) return engine.status();
    engine_ = std::move(*engine);
    state_->cpu_signal = std::string_view(engine_->name()) == "itimer" ? SIGPROF : rt;
    InstallSignalHandler(state_->cpu_signal);
    LogInfo("stackhouse: CPU engine selected",
            {{"engine", engine_->name()}, {"signal", state_->cpu_signal}, {"hz", config_.sample_rate_hz}});
  }
  if (config_.profiles & STACKHOUSE_PROFILE_WALL) {
    state_->wall_signal = FreeRtSignal(state_->cpu_signal);
    if (state_->wall_signal < 0) return UnavailableError("no free real-time signal for wall sampling");
    InstallSignalHandler(state_->wall_signal);
  }
  if (!config_.server_address.empty()) {
    UploaderOptions uo;
    uo.tenant = config_.tenant;
    uo.auth_token = config_.auth_token;
    uo.max_queued = config_.max_queued_uploads;
    uploader_ = std::make_unique<Uploader>(uo);
  }

  started_ns_ = MonotonicNanos();
  on_since_ns_ = started_ns_;
  collector_.set_live_check(&HeapSampledContains);
  collector_.Start(RealtimeNanos());
  g_signal_state.store(state_.get(), std::memory_order_release);
  state_->heap_on = (config_.profiles & STACKHOUSE_PROFILE_HEAP) != 0;
  g_heap_on.store(state_->heap_on.load());
  state_->lock_on = (config_.profiles & STACKHOUSE_PROFILE_LOCK) != 0;
  state_->wall_on = (config_.profiles & STACKHOUSE_PROFILE_WALL) != 0;
  state_->cpu_on = engine_ != nullptr;
  aggregator_ = std::thread([this] { AggregatorLoop(); });
  pthread_setname_np(aggregator_.native_handle(), "stackhouse-agg");
  export_thread_ = std::thread([this] { ExportLoop(); });
  SetThreadEventSink(wake_fd_);
  pthread_setname_np(export_thread_.native_handle(), "stackhouse-exp");
  if (config_.profiles & STACKHOUSE_PROFILE_WALL) {
    wall_ = std::thread([this] { WallLoop(); });
    pthread_setname_np(wall_.native_handle(), "stackhouse-wall");
  }
  ScanThreads();
  return OkStatus();
}

Profiler::~Profiler() {
  Stop(5000);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Profiler::Wake() {
  uint64_t one = 1;
  if (wake_fd_ >= 0 && write(wake_fd_, &one, sizeof(one)) < 0) {
    // Full counter: the aggregator is awake anyway.
  }
}

void Profiler::SetSampling(bool on) {
  if (on == sampling_on_) return;
  sampling_on_ = on;
  int64_t now = MonotonicNanos();
  if (on) {
    on_since_ns_ = now;
  } else {
    covered_ns_ += now - on_since_ns_;
  }
  state_->cpu_on = on && engine_ != nullptr && !cpu_disabled_;
  state_->wall_on = on && (config_.profiles & STACKHOUSE_PROFILE_WALL);
  state_->heap_on = on && (config_.profiles & STACKHOUSE_PROFILE_HEAP);
  g_heap_on.store(state_->heap_on.load());
  state_->lock_on = on && (config_.profiles & STACKHOUSE_PROFILE_LOCK);
  if (engine_) {
    std::lock_guard<std::mutex> lock(threads_mu_);
    if (!cpu_disabled_) engine_->SetEnabled(on);
  }
}

void Profiler::Stop(int64_t upload_timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
  }
  cv_.notify_all();
  SetThreadEventSink(-1);
  Wake();
  state_->cpu_on = false;
  state_->wall_on = false;
  state_->heap_on = false;
  g_heap_on.store(false);
  state_->lock_on = false;
  if (wall_.joinable()) wall_.join();
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    if (engine_) engine_->Stop();
  }
  if (aggregator_.joinable()) aggregator_.join();  // cuts the last interval
  if (export_thread_.joinable()) export_thread_.join();  // and exports it
  // No handler may still use the state once we free it.
  g_signal_state.store(nullptr, std::memory_order_release);
  while (AnyInFlight()) sched_yield();
  if (uploader_) {
    if (!uploader_->Drain(upload_timeout_ms)) {
      LogWarn("stackhouse: exiting with unsent profiles", {{"error", uploader_->stats().last_error}});
    }
    uploader_.reset();
  }
}

bool Profiler::Flush(int64_t timeout_ms) {
  uint64_t want;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) return false;
    want = ++flush_requested_;
    cv_.notify_all();
    Wake();
    if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 1),
                      [&] { return flush_done_ >= want || stopping_; })) {
      return false;
    }
  }
  if (timeout_ms > 0 && uploader_) return uploader_->Drain(timeout_ms);
  return true;
}

void Profiler::ThreadStarted(int tid) {
  std::lock_guard<std::mutex> lock(threads_mu_);
  if (stopped_ || !tids_.insert(tid).second) return;
  if (engine_ && engine_->per_thread() && !cpu_disabled_) {
    Status s = engine_->AddThread(tid);
    if (!s.ok() && s.code() != StatusCode::kNotFound) {
      LogWarn("stackhouse: cannot sample thread", {{"tid", tid}, {"error", s.message()}});
    }
  }
}

void Profiler::ThreadExited(int tid) {
  std::lock_guard<std::mutex> lock(threads_mu_);
  if (tids_.erase(tid) == 0) return;
  if (engine_) engine_->RemoveThread(tid);
}

void Profiler::ScanThreads() {
  std::unordered_set<int> seen;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      seen.insert(atoi(e->d_name));
    }
    closedir(d);
  }
  std::vector<int> gone, fresh;
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    for (int tid : tids_) {
      if (!seen.count(tid)) gone.push_back(tid);
    }
    std::erase_if(own_tids_, [&](int tid) { return !seen.count(tid); });
    for (int tid : seen) {
      if (!tids_.count(tid) && !own_tids_.count(tid)) fresh.push_back(tid);
    }
  }
  for (int tid : gone) ThreadExited(tid);
  // Only threads not seen before: our own ones are told apart by name.
  for (int tid : fresh) {
    char path[64], name[32] = {0};
    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
    bool own = false;
    if (FILE* f = fopen(path, "r")) {
      own = fgets(name, sizeof(name), f) != nullptr && strncmp(name, "stackhouse-", 11) == 0;
      fclose(f);
    }
    if (own) {
      std::lock_guard<std::mutex> lock(threads_mu_);
      own_tids_.insert(tid);
    } else {
      ThreadStarted(tid);
    }
  }
}

void Profiler::WallLoop() {
  MarkProfilerThread("stackhouse-wall", &threads_mu_, &own_clocks_);
  const int64_t period_ns = 1000000000LL / config_.sample_rate_hz;
  const size_t per_tick = config_.wall_threads_per_tick;
  const pid_t pid = getpid();
  size_t cursor = 0;
  std::vector<int> tids;
  int64_t next = MonotonicNanos() + period_ns;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    int64_t now = MonotonicNanos();
    if (next > now) {
      timespec ts{static_cast<time_t>((next - now) / 1000000000), static_cast<long>((next - now) % 1000000000)};
      nanosleep(&ts, nullptr);
    }
    next += period_ns;
    if (MonotonicNanos() > next + 10 * period_ns) next = MonotonicNanos() + period_ns;  // fell behind
    if (state_->wall_on.load(std::memory_order_relaxed)) {
      tids.clear();
      {
        std::lock_guard<std::mutex> tl(threads_mu_);
        tids.assign(tids_.begin(), tids_.end());
      }
      if (!tids.empty()) {
        size_t n = std::min(per_tick, tids.size());
        // Each sampled thread stands for tids.size()/n threads' wall time.
        state_->wall_weight_ns.store(period_ns * static_cast<int64_t>(tids.size()) / static_cast<int64_t>(n),
                                     std::memory_order_relaxed);
        for (size_t i = 0; i < n; ++i) {
          int tid = tids[(cursor + i) % tids.size()];
          syscall(SYS_tgkill, pid, tid, state_->wall_signal);
        }
        cursor = (cursor + n) % tids.size();
      }
    }
    lock.lock();
  }
}

void Profiler::Cut(int64_t now_mono, uint64_t flush_id, bool last) {
  collector_.Drain(ring_.get());
  int64_t covered = covered_ns_ + (sampling_on_ ? now_mono - on_since_ns_ : 0);
  covered_ns_ = 0;
  on_since_ns_ = now_mono;
  ExportTask task;
  task.interval = collector_.Cut(RealtimeNanos(), covered, ring_->dropped());
  task.flush_id = flush_id;
  task.last = last;
  intervals_++;
  PushExportTask(std::move(task));
}

void Profiler::PushExportTask(ExportTask task) {
  {
    std::lock_guard<std::mutex> lock(export_mu_);
    // Bounded: if exports fall behind, older prefetches are dropped first.
    while (export_tasks_.size() > 64 && export_tasks_.front().is_prefetch) export_tasks_.pop_front();
    export_tasks_.push_back(std::move(task));
  }
  export_cv_.notify_all();
}

void Profiler::ExportLoop() {
  MarkProfilerThread("stackhouse-exp", &threads_mu_, &own_clocks_);
  for (;;) {
    ExportTask task;
    {
      std::unique_lock<std::mutex> lock(export_mu_);
      export_cv_.wait(lock, [&] { return !export_tasks_.empty(); });
      task = std::move(export_tasks_.front());
      export_tasks_.pop_front();
    }
    if (task.is_prefetch) {
      if (task.mappings_changed) exporter_.MappingsChanged();
      exporter_.Prefetch(task.exact, task.returns);
      continue;
    }
    ExportInterval(task.interval);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (task.flush_id > flush_done_) flush_done_ = task.flush_id;
    }
    cv_.notify_all();
    if (task.last) return;
  }
}

void Profiler::ExportInterval(const Interval& iv) {
  if (iv.empty()) return;
  std::vector<EncodedProfile> profiles = exporter_.Export(iv, export_options_);
  profiles_exported_ += profiles.size();
  if (uploader_) {
    std::string name = config_.application_name;
    if (!config_.tags.empty()) {
      name += "{";
      for (size_t i = 0; i < config_.tags.size(); ++i) {
        if (i) name += ",";
        name += config_.tags[i].first + "=" + config_.tags[i].second;
      }
      name += "}";
    }
    for (const EncodedProfile& p : profiles) {
      Upload u;
      u.url = StrCat(config_.server_address, "/ingest?name=", Uploader::Escape(name),
                     "&from=", iv.start_ns / 1000000000, "&until=", (iv.end_ns + 999999999) / 1000000000,
                     "&format=pprof&spyName=stackhouse&sampleRate=", config_.sample_rate_hz);
      u.body = Gzip(p.pprof, 1);
      uploader_->Enqueue(std::move(u));
    }
  }
  if (!config_.output_dir.empty()) {
    for (const EncodedProfile& p : profiles) {
      std::string path = StrCat(config_.output_dir, "/", config_.application_name, ".", p.name, ".",
                                iv.end_ns, ".pb.gz");
      std::string tmp = path + ".tmp";
      std::string gz = Gzip(p.pprof, 1);
      FILE* f = fopen(tmp.c_str(), "wb");
      bool ok = f != nullptr && fwrite(gz.data(), 1, gz.size(), f) == gz.size();
      if (f != nullptr) ok = fclose(f) == 0 && ok;
      if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
        LogWarn("stackhouse: cannot write profile", {{"path", path}, {"error", strerror(errno)}});
        unlink(tmp.c_str());
      }
    }
  }
}

void Profiler::AggregatorLoop() {
  MarkProfilerThread("stackhouse-agg", &threads_mu_, &own_clocks_);
  int64_t interval_ns = int64_t{config_.upload_interval_ms} * 1000000;
  int64_t next_cut = MonotonicNanos() + interval_ns;
  int64_t next_housekeeping = MonotonicNanos() + kHousekeepingNs;
  uint64_t served_flush = 0;
  int dl_adds = -1, dl_subs = -1;
  std::vector<uintptr_t> new_exact, new_return;
  std::vector<std::pair<int, bool>> thread_events;
  bool mappings_changed = false, dl_activity = false;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!stopping_ && flush_requested_ <= served_flush) {
      // Sleep until the next tick, or until the ring is half full, or a
      // stop/flush request (all of which write to the eventfd).
      lock.unlock();
      pollfd pfd{wake_fd_, POLLIN, 0};
      if (poll(&pfd, wake_fd_ >= 0 ? 1 : 0, kDrainPeriodMs) > 0) {
        uint64_t n;
        [[maybe_unused]] ssize_t r = read(wake_fd_, &n, sizeof(n));
      }
      lock.lock();
    }
    bool stopping = stopping_;
    uint64_t flush = flush_requested_;
    lock.unlock();
    int64_t now = MonotonicNanos();
    new_exact.clear();
    new_return.clear();
    thread_events.clear();
    PopThreadEvents(&thread_events);
    for (const auto& [tid, started] : thread_events) {
      if (started) {
        ThreadStarted(tid);
      } else {
        ThreadExited(tid);
      }
    }
    ring_->Rearm();
    collector_.Drain(ring_.get(), &new_exact, &new_return);
    CollectLabelSets();
    if (config_.duty_period_ms > 0 && !stopping) {
      int64_t phase = ((now - started_ns_) / 1000000) % config_.duty_period_ms;
      SetSampling(phase < config_.duty_on_ms);
    }
    if (now >= next_housekeeping && !stopping) {
      next_housekeeping = now + kHousekeepingNs;
      ScanThreads();
    }
    if (!stopping) {
      // dl_iterate_phdr's counters change when libraries are loaded/unloaded
      // (dlopen/dlclose); checked at every drain, 10 times a second.
      struct Counts { int adds, subs; } c{0, 0};
      dl_iterate_phdr([](dl_phdr_info* info, size_t size, void* data) {
        auto* c = static_cast<Counts*>(data);
        if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
          c->adds = static_cast<int>(info->dlpi_adds);
          c->subs = static_cast<int>(info->dlpi_subs);
        }
        return 1;
      }, &c);
      if (c.adds != dl_adds || c.subs != dl_subs) {
        if (dl_adds >= 0) {
          mappings_changed = true;
          dl_activity = true;
          if (tables_) {
            Status s = tables_->Refresh();
            if (!s.ok()) LogWarn("stackhouse: unwind tables", {{"error", s.message()}});
          }
        }
        dl_adds = c.adds;
        dl_subs = c.subs;
      }
      CheckSignalOwnership();
    }
    // In programs that load and unload libraries, name new stacks' frames
    // now, while their libraries are still loaded.
    if (mappings_changed || (dl_activity && !new_return.empty())) {
      ExportTask t;
      t.is_prefetch = true;
      t.mappings_changed = mappings_changed;
      t.exact = std::move(new_exact);
      t.returns = std::move(new_return);
      PushExportTask(std::move(t));
      mappings_changed = false;
    }
    if (now >= next_cut || flush > served_flush || stopping) {
      Cut(now, flush, stopping);
      next_cut = now + interval_ns;
      served_flush = flush;
      lock.lock();
      if (stopping) return;
      continue;
    }
    lock.lock();
  }
}

void Profiler::CheckSignalOwnership() {
  if (engine_ == nullptr || !state_->cpu_on.load()) return;
  if (!SignalHasForeignHandler(state_->cpu_signal)) return;
  // The program took over our signal (for SIGPROF: its own profiler and
  // probably its own ITIMER_PROF). Step aside without touching its timer.
  LogWarn("stackhouse: the program installed its own handler for our sampling signal; CPU profiling stops",
          {{"signal", state_->cpu_signal}});
  state_->cpu_on = false;
  std::lock_guard<std::mutex> lock(threads_mu_);
  cpu_disabled_ = true;
  if (std::string_view(engine_->name()) == "itimer") {
    engine_->Abandon();  // ITIMER_PROF is the program's now
  } else {
    engine_->Stop();
  }
}

void Profiler::AbandonInChild() {
  // Only the forking thread exists here; the profiler's threads do not. Stop
  // sampling in this process and leak the object rather than join threads
  // that are gone.
  g_signal_state.store(nullptr, std::memory_order_relaxed);
  ResetInFlight();
  if (engine_) engine_->Abandon();
  stopped_ = true;
}

std::string Profiler::StatsJson() {
  SignalState* st = state_.get();
  double own_cpu_ns = 0;
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    for (clockid_t c : own_clocks_) {
      timespec ts;
      if (clock_gettime(c, &ts) == 0) own_cpu_ns += ts.tv_sec * 1e9 + ts.tv_nsec;
    }
  }
  UploaderStats us = uploader_ ? uploader_->stats() : UploaderStats{};
  size_t threads;
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    threads = tids_.size();
  }
  std::string out = "{";
  out += StrCat("\"engine\":\"", engine_name(), "\",\"cpu_signal\":", st->cpu_signal,
                ",\"wall_signal\":", st->wall_signal, ",\"unwind\":\"",
                tables_ ? "dwarf" : "fp", "\",\"threads\":", threads);
  auto hist = [&](const char* name, const CostHistogram& h) {
    out += StrCat(",\"", name, "\":{\"count\":", h.count(), ",\"total_ns\":", h.total_ns(),
                  ",\"p50_ns\":", h.QuantileNs(0.5), ",\"p99_ns\":", h.QuantileNs(0.99),
                  "}");
  };
  hist("cpu_handler", st->cpu_cost);
  hist("wall_handler", st->wall_cost);
  hist("heap_sample", st->heap_cost);
  hist("heap_free", st->heap_free_cost);
  out += StrCat(",\"heap_unsampled_aligned_frees\":", HeapUnsampledAlignedFrees());
  hist("lock_sample", st->lock_cost);
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double process_cpu_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
  out += StrCat(",\"process_cpu_ns\":", process_cpu_ns, ",\"own_threads_cpu_ns\":", own_cpu_ns,
                ",\"ring_dropped\":", ring_->dropped(), ",\"truncated_stacks\":", st->truncated_stacks.load(),
                ",\"records\":", collector_.records(), ",\"intervals\":", intervals_.load(),
                ",\"profiles_exported\":", profiles_exported_.load(),
                ",\"uploads_sent\":", us.sent, ",\"upload_failures\":", us.failed_attempts,
                ",\"uploads_dropped\":", us.dropped, ",\"uploads_queued\":", us.queued,
                ",\"unwind_objects\":", tables_ ? tables_->objects() : 0,
                ",\"unwind_table_bytes\":", tables_ ? tables_->memory_bytes() : 0,
                ",\"walk_cache_hits\":", walk_cache_ ? walk_cache_->hits() : 0,
                ",\"walk_cache_misses\":", walk_cache_ ? walk_cache_->misses() : 0,
                ",\"ring_bytes\":", ring_->memory_bytes(), ",\"label_sets\":", LiveLabelSets(), "}");
  return out;
}

}  // namespace stackhouse::sampler
