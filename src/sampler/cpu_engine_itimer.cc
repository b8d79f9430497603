// The process-wide ITIMER_PROF engine (see cpu_engine.h), and the engine
// selection.
#include <signal.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>

#include "base/strings.h"
#include "sampler/cpu_engine.h"

namespace stackhouse::sampler {
namespace {

class ItimerEngine : public CpuEngine {
 public:
  ~ItimerEngine() override { Stop(); }
  const char* name() const override { return "itimer"; }
  bool per_thread() const override { return false; }

  Status Start(int signo, uint64_t period_ns) override {
    if (signo != SIGPROF) return FailedPreconditionError("itimer delivers SIGPROF only");
    period_ns_ = period_ns;
    itimerval current{};
    getitimer(ITIMER_PROF, &current);
    if (current.it_interval.tv_sec != 0 || current.it_interval.tv_usec != 0) {
      return FailedPreconditionError("ITIMER_PROF is already in use by the program");
    }
    started_ = true;
    return Arm(true);
  }
  Status AddThread(int) override { return OkStatus(); }
  void RemoveThread(int) override {}
  void SetEnabled(bool enabled) override {
    if (started_) (void)Arm(enabled);
  }
  void Stop() override {
    if (started_) (void)Arm(false);
    started_ = false;
  }
  void Abandon() override { started_ = false; }  // fork resets the child's itimers

 private:
  Status Arm(bool on) {
    itimerval v{};
    if (on) {
      uint64_t us = period_ns_ / 1000;
      v.it_interval.tv_sec = static_cast<time_t>(us / 1000000);
      v.it_interval.tv_usec = static_cast<suseconds_t>(us % 1000000);
      v.it_value = v.it_interval;
    }
    if (setitimer(ITIMER_PROF, &v, nullptr) != 0) {
      return UnavailableError(StrCat("setitimer: ", strerror(errno)));
    }
    return OkStatus();
  }

  uint64_t period_ns_ = 0;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<CpuEngine> NewItimerEngine() { return std::make_unique<ItimerEngine>(); }

StatusOr<std::unique_ptr<CpuEngine>> SelectCpuEngine(Engine want, int signo, uint64_t period_ns,
                                                     bool sigprof_free) {
  std::string reasons;
  auto attempt = [&](std::unique_ptr<CpuEngine> e, int sig) -> std::unique_ptr<CpuEngine> {
    Status s = e->Start(sig, period_ns);
    if (s.ok()) return e;
    if (!reasons.empty()) reasons += "; ";
    reasons += StrCat(e->name(), ": ", s.message());
    return nullptr;
  };
  std::unique_ptr<CpuEngine> e;
  if (want == Engine::kAuto || want == Engine::kPerf) e = attempt(NewPerfEngine(), signo);
  if (!e && (want == Engine::kAuto || want == Engine::kCtimer)) e = attempt(NewCtimerEngine(), signo);
  if (!e && (want == Engine::kAuto || want == Engine::kItimer)) {
    if (sigprof_free) {
      e = attempt(NewItimerEngine(), SIGPROF);
    } else {
      if (!reasons.empty()) reasons += "; ";
      reasons += "itimer: the program has its own SIGPROF handler";
    }
  }
  if (!e) return UnavailableError(StrCat("no CPU sampling engine works here (", reasons, ")"));
  return e;
}

}  // namespace stackhouse::sampler
