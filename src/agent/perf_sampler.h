// PerfSampler: whole-host CPU sampling with perf_event_open, one software
// CPU-clock event per online CPU, each with a ring buffer of
// PERF_RECORD_SAMPLE records carrying the pid/tid and the call chain the
// kernel walked (kernel frames, then user frames by frame pointer).
//
// This is the agent's perf engine (the fallback when no BPF program is
// loaded). Thread-compatible: one thread opens, polls and reads.
#ifndef STACKHOUSE_AGENT_PERF_SAMPLER_H_
#define STACKHOUSE_AGENT_PERF_SAMPLER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace stackhouse::agent {

struct RawSample {
  int pid = 0;
  int tid = 0;
  std::vector<uint64_t> kernel;  // innermost first
  std::vector<uint64_t> user;    // innermost first, by frame pointer
  // With user-stack copies: the user registers and the top of the user
  // stack at the sample (valid during the callback only).
  bool has_user_regs = false;
  uint64_t ip = 0, sp = 0, bp = 0;
  const char* stack = nullptr;
  size_t stack_size = 0;
};

class PerfSampler {
 public:
  PerfSampler() = default;
  ~PerfSampler();
  PerfSampler(const PerfSampler&) = delete;
  PerfSampler& operator=(const PerfSampler&) = delete;

  // One event per online CPU, sampling every 1/hz seconds of CPU time.
  // With stack_copy_bytes > 0 each sample also carries the user registers
  // and that many bytes of the user stack, for unwinding code without frame
  // pointers in user space (as `perf --call-graph dwarf`). Permission errors
  // say what is missing (root or CAP_PERFMON, kernel.perf_event_paranoid).
  Status Open(int hz, uint32_t stack_copy_bytes = 0);
  // Pauses or resumes sampling on every CPU (duty cycling).
  void SetEnabled(bool enabled);
  // Waits up to timeout_ms for data and hands every sample to `fn`.
  void Poll(int timeout_ms, const std::function<void(const RawSample&)>& fn);

  // Called with the pid of every process that execs (PERF_RECORD_COMM with
  // the exec flag): what was known about that pid is stale.
  void SetExecCallback(std::function<void(int pid)> fn) { on_exec_ = std::move(fn); }

  uint64_t samples() const { return samples_; }
  uint64_t lost() const { return lost_; }
  int cpus() const { return static_cast<int>(rings_.size()); }

 private:
  struct Ring {
    int fd = -1;
    void* base = nullptr;
    size_t size = 0;  // bytes mapped (1 + data pages)
  };
  void Drain(Ring& r, const std::function<void(const RawSample&)>& fn);

  std::vector<Ring> rings_;
  std::vector<char> scratch_;
  std::function<void(int)> on_exec_;
  uint64_t samples_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace stackhouse::agent

#endif  // STACKHOUSE_AGENT_PERF_SAMPLER_H_
