// exec interposers. A signal pending for a thread when it calls execve
// outlives the call, and the new program starts with every handler reset
// to the default action, which for our sampling signals (real-time ones, or
// SIGPROF) is to terminate: a profiled program that execs another would see
// it killed now and then (a third of the time for a shell that burns CPU
// and then execs). So, before the real exec, each signal our handler is
// installed for is set to SIG_IGN, which discards its pending instances and
// any that arrive until the new program starts; the new program inherits
// them ignored (libstackhouse there takes them again: FreeRtSignal). With
// the itimer engine, ITIMER_PROF (which also outlives exec) is disarmed and
// SIGPROF goes back to its default. If the exec fails, everything is
// restored.
//
// Only an exec in this process needs this: posix_spawn, system and popen
// start new processes, which have no pending signals and default handlers.
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/time.h>
#include <unistd.h>

#include "sampler/interpose/real.h"
#include "sampler/signal_state.h"

extern char** environ;

namespace stackhouse::sampler::interpose {
namespace {

class ExecGuard {
 public:
  ExecGuard() {
    const int saved_errno = errno;
    for (int s = 1; s < NSIG && n_ < kMax; ++s) {
      if (s == SIGKILL || s == SIGSTOP || !SignalHasOurHandler(s)) continue;
      struct sigaction ignore = {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      if (s == SIGPROF) {
        itimerval off = {};
        timer_saved_ = setitimer(ITIMER_PROF, &off, &timer_) == 0;
      }
      if (sigaction(s, &ignore, &old_[n_]) != 0) continue;
      signals_[n_++] = s;
      if (s == SIGPROF) {
        // No ITIMER_PROF is left to raise it: back to the default.
        struct sigaction dfl = {};
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(s, &dfl, nullptr);
      }
    }
    errno = saved_errno;
  }
  // Runs only when the exec failed.
  ~ExecGuard() {
    const int saved_errno = errno;
    for (int i = 0; i < n_; ++i) sigaction(signals_[i], &old_[i], nullptr);
    if (timer_saved_) setitimer(ITIMER_PROF, &timer_, nullptr);
    errno = saved_errno;
  }
  ExecGuard(const ExecGuard&) = delete;
  ExecGuard& operator=(const ExecGuard&) = delete;

 private:
  static constexpr int kMax = 8;
  int signals_[kMax];
  struct sigaction old_[kMax];
  int n_ = 0;
  itimerval timer_ = {};
  bool timer_saved_ = false;
};

// The arguments of an execl-style call from `first` up to the null one, into
// argv (null-terminated); `ap` is left after the null. False, with errno
// E2BIG, past kMaxArgs.
constexpr int kMaxArgs = 4096;

bool CollectArgs(const char* first, va_list* ap, char** argv) {
  int n = 0;
  argv[n++] = const_cast<char*>(first);
  while (argv[n - 1] != nullptr) {
    if (n == kMaxArgs) {
      errno = E2BIG;
      return false;
    }
    argv[n++] = va_arg(*ap, char*);
  }
  return true;
}

}  // namespace
}  // namespace stackhouse::sampler::interpose

using stackhouse::sampler::interpose::CollectArgs;
using stackhouse::sampler::interpose::ExecGuard;
using stackhouse::sampler::interpose::kMaxArgs;

extern "C" {

int execve(const char* path, char* const argv[], char* const envp[]) {
  ExecGuard guard;
  return STACKHOUSE_REAL(execve)(path, argv, envp);
}

int execv(const char* path, char* const argv[]) {
  ExecGuard guard;
  return STACKHOUSE_REAL(execve)(path, argv, environ);
}

int execvp(const char* file, char* const argv[]) {
  ExecGuard guard;
  return STACKHOUSE_REAL(execvp)(file, argv);
}

int execvpe(const char* file, char* const argv[], char* const envp[]) {
  ExecGuard guard;
  return STACKHOUSE_REAL(execvpe)(file, argv, envp);
}

int fexecve(int fd, char* const argv[], char* const envp[]) {
  ExecGuard guard;
  return STACKHOUSE_REAL(fexecve)(fd, argv, envp);
}

int execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags) {
  ExecGuard guard;
  return STACKHOUSE_REAL(execveat)(dirfd, path, argv, envp, flags);
}

int execl(const char* path, const char* arg, ...) {
  char* argv[kMaxArgs];
  va_list ap;
  va_start(ap, arg);
  const bool ok = CollectArgs(arg, &ap, argv);
  va_end(ap);
  return ok ? execv(path, argv) : -1;
}

int execlp(const char* file, const char* arg, ...) {
  char* argv[kMaxArgs];
  va_list ap;
  va_start(ap, arg);
  const bool ok = CollectArgs(arg, &ap, argv);
  va_end(ap);
  return ok ? execvp(file, argv) : -1;
}

int execle(const char* path, const char* arg, ...) {
  char* argv[kMaxArgs];
  va_list ap;
  va_start(ap, arg);
  const bool ok = CollectArgs(arg, &ap, argv);
  char* const* envp = ok ? va_arg(ap, char* const*) : nullptr;
  va_end(ap);
  return ok ? execve(path, argv, envp) : -1;
}

}  // extern "C"
