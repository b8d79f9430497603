// The perf_event CPU engine (see cpu_engine.h).
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "base/strings.h"
#include "sampler/cpu_engine.h"

namespace stackhouse::sampler {
namespace {

class PerfEngine : public CpuEngine {
 public:
  ~PerfEngine() override { Stop(); }
  const char* name() const override { return "perf"; }
  bool per_thread() const override { return true; }

  Status Start(int signo, uint64_t period_ns) override {
    signo_ = signo;
    period_ns_ = period_ns;
    // Probe on this thread, then close: threads are added one by one.
    int tid = static_cast<int>(syscall(SYS_gettid));
    StatusOr<int> fd = Open(tid, /*enable=*/false);
    if (!fd.ok()) return fd.status();
    close(*fd);
    return OkStatus();
  }

  Status AddThread(int tid) override {
    if (fds_.count(tid)) return OkStatus();
    SH_ASSIGN_OR_RETURN(int fd, Open(tid, enabled_));
    fds_[tid] = fd;
    return OkStatus();
  }

  void RemoveThread(int tid) override {
    auto it = fds_.find(tid);
    if (it == fds_.end()) return;
    close(it->second);
    fds_.erase(it);
  }

  void SetEnabled(bool enabled) override {
    enabled_ = enabled;
    for (auto& [tid, fd] : fds_) {
      ioctl(fd, enabled ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
    }
  }

  void Stop() override {
    for (auto& [tid, fd] : fds_) {
      ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
      close(fd);
    }
    fds_.clear();
  }

  void Abandon() override {
    for (auto& [tid, fd] : fds_) close(fd);
    fds_.clear();
  }

 private:
  StatusOr<int> Open(int tid, bool enable) {
    perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.sample_period = period_ns_;
    attr.disabled = 1;
    attr.wakeup_events = 1;
    attr.exclude_hv = 1;
    int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      int err = errno;
      if (err == ESRCH) return NotFoundError(StrCat("thread ", tid, " has exited"));
      return UnavailableError(StrCat("perf_event_open: ", strerror(err)));
    }
    f_owner_ex owner{F_OWNER_TID, tid};
    if (fcntl(fd, F_SETFL, O_ASYNC) != 0 || fcntl(fd, F_SETSIG, signo_) != 0 ||
        fcntl(fd, F_SETOWN_EX, &owner) != 0) {
      int err = errno;
      close(fd);
      return UnavailableError(StrCat("perf event signal setup: ", strerror(err)));
    }
    if (enable) {
      ioctl(fd, PERF_EVENT_IOC_RESET, 0);
      ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    }
    return fd;
  }

  int signo_ = 0;
  uint64_t period_ns_ = 0;
  bool enabled_ = true;
  std::unordered_map<int, int> fds_;  // tid -> perf fd
};

}  // namespace

std::unique_ptr<CpuEngine> NewPerfEngine() { return std::make_unique<PerfEngine>(); }

}  // namespace stackhouse::sampler
