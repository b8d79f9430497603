// Agent: the whole-host profiler behind `stackhouse agent`. It samples
// every CPU (the BPF engine, or perf_event ring buffers when BPF cannot be
// loaded), aggregates identical (process, stack) samples, and every upload
// interval turns them into one pprof CPU profile per service (and an
// off-CPU profile with --off-cpu), with kernel frames (kallsyms) and
// symbolized user frames, and labels pid, comm, exe, container_id and host,
// which it uploads to the server's /ingest through a bounded queue with
// backoff.
#ifndef STACKHOUSE_AGENT_AGENT_H_
#define STACKHOUSE_AGENT_AGENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "agent/kallsyms.h"
#include "agent/engine.h"
#include "agent/process_table.h"
#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::sampler {
class Uploader;
}

namespace stackhouse::agent {

struct AgentOptions {
  std::string server;            // http://host:port; "" = do not upload
  // Also (or instead) send every interval's profiles as one OTLP/HTTP export
  // to this URL (an OpenTelemetry Collector; "/v1development/profiles" is
  // added when the URL has no path).
  std::string otlp_endpoint;
  std::string tenant;
  int sample_rate_hz = 19;       // per CPU
  int64_t upload_interval_ms = 10000;
  std::unordered_set<int> pids;  // only these processes (empty = all)
  std::string comm_regex;        // only processes whose comm matches (RE2, partial)
  std::string cgroup_regex;      // only processes whose cgroup path matches (RE2, partial)
  std::string service_rules;     // see ParseServiceRules (process_table.h)
  std::string host;              // the host label; default: hostname
  std::string output_dir;        // also write each profile here (.pb.gz)
  // "auto": BPF, or perf when BPF cannot be loaded (the reason is logged);
  // "bpf" or "perf": only that one.
  std::string engine = "auto";
  bool simulate_no_bpf = false;  // behave as if BPF could not be loaded (tests)
  // Unwind user stacks from copies with .eh_frame (code without frame
  // pointers); costs a stack copy per sample. With the BPF engine only the
  // processes whose executable has no frame pointers pay it.
  bool dwarf_unwind = true;
  // Also profile time spent blocked (BPF engine only), ignoring blocked
  // periods shorter than off_cpu_min_ns.
  bool off_cpu = false;
  int64_t off_cpu_min_ns = 0;
  // Duty cycling: sample duty_on_ms of every duty_period_ms (0 = always);
  // host_fraction: sample in an interval only with this probability, as
  // Google-Wide Profiling and the OTel eBPF profiler's probabilistic mode.
  int64_t duty_on_ms = 0;
  int64_t duty_period_ms = 0;
  double host_fraction = 1.0;
  uint32_t stack_copy_bytes = 16384;
};

struct AgentStats {
  uint64_t samples = 0;
  uint64_t lost = 0;
  uint64_t profiles = 0;
  uint64_t uploads_sent = 0;
  uint64_t upload_failures = 0;
  size_t processes = 0;
  uint64_t unwound = 0;    // samples unwound from stack copies
  uint64_t execs = 0;      // exec notifications seen
  int64_t unwind_ns = 0;   // time spent doing so, table building excluded
  int64_t table_build_ns = 0;  // building .eh_frame tables (once per ELF file)
  std::string engine;          // "bpf" or "perf"
};

class Agent {
 public:
  static StatusOr<std::unique_ptr<Agent>> Create(const AgentOptions& options);
  ~Agent();

  // Samples and uploads until *stop becomes true, then exports and uploads
  // the last interval (waiting up to 5 s).
  void Run(const std::atomic<bool>* stop);
  // A snapshot, safe to call from any thread (refreshed 10 times a second).
  AgentStats stats() const;

  // One interval's profiles by service (for tests and the output folder).
  std::vector<std::pair<std::string, profile::Profile>> Export(int64_t start_ns, int64_t end_ns);

 private:
  explicit Agent(const AgentOptions& options);
  void OnSample(const RawSample& s, int64_t now_ns);
  void OnOffCpu(const RawSample& s, ProcessInfo* p);
  void Ship(int64_t start_ns, int64_t end_ns);

  struct Key {
    int pid;
    bool off_cpu;
    uint32_t kernel_frames;
    std::vector<uint64_t> pcs;  // kernel frames then user frames, innermost first
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };

  AgentOptions options_;
  std::unique_ptr<Engine> engine_;
  std::optional<Kallsyms> kallsyms_;
  ProcessTable processes_;
  std::unique_ptr<sampler::Uploader> uploader_;
  AgentStats Collect() const;
  mutable std::mutex stats_mu_;
  AgentStats stats_snapshot_;  // guarded by stats_mu_
  struct Value {
    int64_t count = 0;
    int64_t off_cpu_ns = 0;
  };
  std::unordered_map<Key, Value, KeyHash> counts_;
  std::unordered_set<int> skipped_;  // pids the filters rejected
  static constexpr int kMaxUserFrames = 127;
  uintptr_t unwound_[kMaxUserFrames];
  uint64_t dwarf_unwound_ = 0;
  uint64_t execs_ = 0;
  int64_t dwarf_unwind_ns_ = 0;
  uint64_t profiles_ = 0;
};

}  // namespace stackhouse::agent

#endif  // STACKHOUSE_AGENT_AGENT_H_
