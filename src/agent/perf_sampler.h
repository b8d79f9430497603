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

#include "agent/engine.h"
#include "base/status.h"

namespace stackhouse::agent {

class PerfSampler : public Engine {
 public:
  PerfSampler() = default;
  ~PerfSampler() override;
  PerfSampler(const PerfSampler&) = delete;
  PerfSampler& operator=(const PerfSampler&) = delete;

  // One event per online CPU, sampling every 1/hz seconds of CPU time.
  // With stack_copy_bytes > 0 each sample also carries the user registers
  // and that many bytes of the user stack, for unwinding code without frame
  // pointers in user space (as `perf --call-graph dwarf`). Permission errors
  // say what is missing (root or CAP_PERFMON, kernel.perf_event_paranoid).
  Status Open(int hz, uint32_t stack_copy_bytes = 0);
  const char* name() const override { return "perf"; }
  void SetEnabled(bool enabled) override;
  // Exec notifications come from PERF_RECORD_COMM with the exec flag.
  void Poll(int timeout_ms, const SampleFn& fn) override;
  uint64_t samples() const override { return samples_; }
  uint64_t lost() const override { return lost_; }
  int cpus() const override { return static_cast<int>(rings_.size()); }

 private:
  struct Ring {
    int fd = -1;
    void* base = nullptr;
    size_t size = 0;  // bytes mapped (1 + data pages)
  };
  void DrainRing(Ring& r, const SampleFn& fn);

  std::vector<Ring> rings_;
  std::vector<char> scratch_;
  uint64_t samples_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace stackhouse::agent

#endif  // STACKHOUSE_AGENT_PERF_SAMPLER_H_
