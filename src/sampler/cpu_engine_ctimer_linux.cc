// The per-thread CPU timer engine (see cpu_engine.h). Uses the raw
// timer_create syscall: the libc wrapper does not accept another thread's
// CPU clock id.
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "base/strings.h"
#include "sampler/cpu_engine.h"

namespace stackhouse::sampler {
namespace {

// The kernel's encoding of a thread's scheduler CPU clock.
clockid_t ThreadCpuClock(int tid) { return static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6); }

class CtimerEngine : public CpuEngine {
 public:
  ~CtimerEngine() override { Stop(); }
  const char* name() const override { return "ctimer"; }
  bool per_thread() const override { return true; }

  Status Start(int signo, uint64_t period_ns) override {
    signo_ = signo;
    period_ns_ = period_ns;
    int tid = static_cast<int>(syscall(SYS_gettid));
    StatusOr<int> id = Create(tid, /*arm=*/false);
    if (!id.ok()) return id.status();
    syscall(SYS_timer_delete, *id);
    return OkStatus();
  }

  Status AddThread(int tid) override {
    if (timers_.count(tid)) return OkStatus();
    SH_ASSIGN_OR_RETURN(int id, Create(tid, enabled_));
    timers_[tid] = id;
    return OkStatus();
  }

  void RemoveThread(int tid) override {
    auto it = timers_.find(tid);
    if (it == timers_.end()) return;
    syscall(SYS_timer_delete, it->second);
    timers_.erase(it);
  }

  void SetEnabled(bool enabled) override {
    enabled_ = enabled;
    for (auto& [tid, id] : timers_) Arm(id, enabled);
  }

  void Stop() override {
    for (auto& [tid, id] : timers_) syscall(SYS_timer_delete, id);
    timers_.clear();
  }

  void Abandon() override { timers_.clear(); }  // POSIX timers are not inherited

 private:
  void Arm(int id, bool on) {
    itimerspec spec{};
    if (on) {
      spec.it_interval.tv_sec = static_cast<time_t>(period_ns_ / 1000000000);
      spec.it_interval.tv_nsec = static_cast<long>(period_ns_ % 1000000000);
      spec.it_value = spec.it_interval;
    }
    syscall(SYS_timer_settime, id, 0, &spec, nullptr);
  }

  StatusOr<int> Create(int tid, bool arm) {
    sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = signo_;
    sev._sigev_un._tid = tid;
    int id = -1;
    if (syscall(SYS_timer_create, ThreadCpuClock(tid), &sev, &id) != 0) {
      int err = errno;
      if (err == EINVAL || err == ESRCH) return NotFoundError(StrCat("thread ", tid, " has exited"));
      return UnavailableError(StrCat("timer_create: ", strerror(err)));
    }
    if (arm) Arm(id, true);
    return id;
  }

  int signo_ = 0;
  uint64_t period_ns_ = 0;
  bool enabled_ = true;
  std::unordered_map<int, int> timers_;  // tid -> kernel timer id
};

}  // namespace

std::unique_ptr<CpuEngine> NewCtimerEngine() { return std::make_unique<CtimerEngine>(); }

}  // namespace stackhouse::sampler
