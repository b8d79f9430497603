// Engine: what the agent samples with. Two implementations:
//  - BpfSampler (bpf_sampler.h): a CO-RE BPF program on a perf-event CPU
//    clock that counts frame-pointer stacks in the kernel and sends samples
//    of processes without frame pointers to user space with a stack copy;
//    optionally off-CPU time from the scheduler.
//  - PerfSampler (perf_sampler.h): plain perf_event ring buffers, one
//    sample per record; the fallback when BPF cannot be loaded.
// Thread-compatible: one thread opens, polls and drains.
#ifndef STACKHOUSE_AGENT_ENGINE_H_
#define STACKHOUSE_AGENT_ENGINE_H_

#include <cstdint>
#include <functional>
#include <vector>

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
  // Counted samples (in-kernel aggregation hands over many at once).
  int64_t count = 1;
  // An off-CPU record: `count` blocked periods that lasted off_cpu_ns in all.
  bool off_cpu = false;
  int64_t off_cpu_ns = 0;
  // Off-CPU: the user pc where the thread blocked and, when known, the
  // caller of the function it blocked in (`user` is then a frame-pointer
  // walk, meaningful only for programs with frame pointers).
  uint64_t blocked_pc = 0;
  uint64_t blocked_caller = 0;
  // The engine does not know how to treat this process yet: the agent
  // should call SetMode for it.
  bool classify = false;
};

using SampleFn = std::function<void(const RawSample&)>;

// How the engine treats a process's samples.
enum class ProcessMode {
  kFramePointers,  // its code keeps frame pointers: walk them (in the kernel)
  kStackCopy,      // copy the user stack with each sample to unwind with .eh_frame
  kSkip,           // filtered out
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* name() const = 0;
  // Pauses or resumes sampling on every CPU (duty cycling).
  virtual void SetEnabled(bool enabled) = 0;
  // Waits up to timeout_ms for samples sent to user space and hands each to `fn`.
  virtual void Poll(int timeout_ms, const SampleFn& fn) = 0;
  // Hands over what the engine counted by itself since the last call.
  virtual void Drain(const SampleFn& fn) { (void)fn; }
  virtual void SetMode(int pid, ProcessMode mode) {
    (void)pid;
    (void)mode;
  }
  // Called with the pid of every process that execs: what was known about
  // that pid is stale.
  void SetExecCallback(std::function<void(int pid)> fn) { on_exec_ = std::move(fn); }
  // Asked where the return address is when a thread of `pid` is stopped at
  // `pc`: its offset from the stack pointer (> 0), 0 if the function has a
  // frame, < 0 if unknown. Off-CPU stacks use it to name the caller of a
  // function without a frame (which a frame-pointer walk skips).
  void SetLeafResolver(std::function<int(int pid, uint64_t pc)> fn) { leaf_resolver_ = std::move(fn); }
  virtual uint64_t samples() const = 0;  // CPU samples taken
  virtual uint64_t lost() const = 0;     // samples dropped (full buffers or maps)
  virtual int cpus() const = 0;

 protected:
  std::function<void(int)> on_exec_;
  std::function<int(int, uint64_t)> leaf_resolver_;
};

}  // namespace stackhouse::agent

#endif  // STACKHOUSE_AGENT_ENGINE_H_
