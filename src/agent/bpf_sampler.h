// BpfSampler: the agent's BPF engine (bpf/profile.bpf.c, loaded through a
// bpftool skeleton with libbpf). A perf-event CPU clock on every online CPU
// runs the program, which counts the stacks of processes with frame
// pointers in the kernel (a stack map plus counts by pid, thread, user and
// kernel stack) and sends the samples of unclassified processes and of
// processes without frame pointers to a ring buffer with their user
// registers and a copy of the top of the user stack, for .eh_frame
// unwinding in user space. A process's first sample always goes to user
// space, which reads what it needs from /proc while the process lives and
// classifies it (SetMode). With off_cpu it also counts the time threads
// spend blocked, on the stack they blocked on (scheduler tracepoint).
//
// Drain flips the live counts map (two generations) and reads and clears
// the other one. Thread-compatible.
#ifndef STACKHOUSE_AGENT_BPF_SAMPLER_H_
#define STACKHOUSE_AGENT_BPF_SAMPLER_H_

#include <cstdint>
#include <memory>

#include "agent/engine.h"
#include "base/status.h"

namespace stackhouse::agent {

struct BpfOptions {
  int hz = 19;                 // CPU samples per second per CPU
  bool off_cpu = false;        // also count time spent blocked
  int64_t off_cpu_min_ns = 0;  // ignore shorter blocked periods
  bool per_thread = false;     // count by thread as well as by process
};

class BpfSampler : public Engine {
 public:
  // Whether this build includes the BPF program.
  static bool Built();
  // Loads and attaches the program. Errors say why (no BTF, no permission:
  // CAP_BPF and CAP_PERFMON, or root, are needed).
  static StatusOr<std::unique_ptr<BpfSampler>> Open(const BpfOptions& options);
  ~BpfSampler() override;

  const char* name() const override { return "bpf"; }
  void SetEnabled(bool enabled) override;
  void Poll(int timeout_ms, const SampleFn& fn) override;
  void Drain(const SampleFn& fn) override;
  void SetMode(int pid, ProcessMode mode) override;
  uint64_t samples() const override;
  uint64_t lost() const override;
  int cpus() const override;

  struct Impl;

 private:
  explicit BpfSampler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stackhouse::agent

#endif  // STACKHOUSE_AGENT_BPF_SAMPLER_H_
