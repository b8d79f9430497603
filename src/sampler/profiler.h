// Profiler: one running profiling session in this process. It owns the
// sample ring, the CPU engine, the unwind tables, the collector, the pprof
// exporter and the uploader, and runs the profiler's threads:
//   stackhouse-agg    drains the ring every 100 ms (sooner when it is half
//                     full); once a second picks up new threads; notices
//                     loaded libraries; every upload interval cuts an interval
//   stackhouse-exp    symbolizes, encodes and queues the cut intervals (so a
//                     slow first symbolization never stalls the draining)
//   stackhouse-wall   (wall profile) signals up to N threads per tick
//   stackhouse-upload (uploader.h)
// At most one Profiler runs at a time (the C API keeps it).
#ifndef STACKHOUSE_SAMPLER_PROFILER_H_
#define STACKHOUSE_SAMPLER_PROFILER_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "sampler/collector.h"
#include "sampler/config.h"
#include "sampler/cpu_engine.h"
#include "sampler/pprof_export.h"
#include "sampler/signal_state.h"
#include "sampler/uploader.h"

namespace stackhouse::sampler {

class Profiler {
 public:
  // Starts a session. Fails with the reasons if no engine works.
  static StatusOr<std::unique_ptr<Profiler>> Start(const Config& config);
  // Stops sampling, exports and uploads what is left (waiting up to
  // `upload_timeout_ms`) and releases everything.
  ~Profiler();
  void Stop(int64_t upload_timeout_ms);

  // Cuts the interval now and waits up to timeout_ms for its upload.
  bool Flush(int64_t timeout_ms);

  // Threads, from the pthread_create interposer's events and the periodic
  // /proc scan (on the aggregation thread).
  void ThreadStarted(int tid);
  void ThreadExited(int tid);

  // Diagnostics as one JSON object (samples, self cost, engine, uploads).
  std::string StatsJson();
  const char* engine_name() const { return engine_ ? engine_->name() : "none"; }

  // After fork, in the child: forgets every resource without touching the
  // parent's threads (they do not exist here). The object is leaked.
  void AbandonInChild();

 private:
  explicit Profiler(const Config& config);
  Status Init();
  void AggregatorLoop();
  void WallLoop();
  void ScanThreads();
  struct ExportTask {
    bool is_prefetch = false;
    // Prefetch: symbolize these while their libraries are loaded.
    bool mappings_changed = false;
    std::vector<uintptr_t> exact, returns;
    // Export: one closed interval; flush_id is set as done afterwards.
    Interval interval;
    uint64_t flush_id = 0;
    bool last = false;
  };
  void Cut(int64_t now_mono, uint64_t flush_id, bool last);
  void PushExportTask(ExportTask task);
  void ExportLoop();
  void ExportInterval(const Interval& iv);
  void SetSampling(bool on);
  void CheckSignalOwnership();
  void Wake();  // interrupts the aggregator's sleep

  Config config_;
  std::unique_ptr<SampleRing> ring_;
  std::unique_ptr<unwind::UnwindTables> tables_;
  std::unique_ptr<unwind::WalkCache> walk_cache_;
  std::unique_ptr<SignalState> state_;
  std::unique_ptr<CpuEngine> engine_;
  std::unique_ptr<Uploader> uploader_;
  Collector collector_;
  PprofExporter exporter_;
  ExportOptions export_options_;

  std::mutex threads_mu_;  // guards tids_ and engine_'s thread set
  std::unordered_set<int> tids_;
  std::unordered_set<int> own_tids_;  // our threads, found by name once
  bool cpu_disabled_ = false;  // the program took our signal over
  std::vector<clockid_t> own_clocks_;  // CPU clocks of our own threads

  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t flush_requested_ = 0;
  uint64_t flush_done_ = 0;
  std::string last_error_;

  bool sampling_on_ = true;
  int64_t covered_ns_ = 0;       // sampling-on time in the current interval
  int64_t on_since_ns_ = 0;
  int64_t started_ns_ = 0;
  std::atomic<uint64_t> intervals_{0};
  std::atomic<uint64_t> profiles_exported_{0};
  bool stopped_ = false;

  int wake_fd_ = -1;  // eventfd the aggregator sleeps on
  std::mutex export_mu_;
  std::condition_variable export_cv_;
  std::deque<ExportTask> export_tasks_;
  std::thread export_thread_;
  std::thread aggregator_;
  std::thread wall_;
};

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_PROFILER_H_
