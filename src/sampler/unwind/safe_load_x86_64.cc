// x86_64 Linux implementation of SafeLoad: a leaf function written in
// assembly whose single load instruction is recognised by our SIGSEGV/SIGBUS
// handler, which then resumes execution at a fix-up that returns false.
#include <signal.h>
#include <ucontext.h>

#include <mutex>

#include "sampler/unwind/safe_load.h"

// bool sh_unwind_safe_load_impl(uintptr_t addr /*rdi*/, uintptr_t* out /*rsi*/)
// The load at sh_unwind_safe_load_insn is the only instruction that may fault;
// the handler sets RIP to sh_unwind_safe_load_fixup, which returns 0. The
// function does not touch the stack, so resuming at the fix-up is safe.
asm(R"(
  .pushsection .text
  .p2align 4
  .globl sh_unwind_safe_load_impl
  .hidden sh_unwind_safe_load_impl
  .type sh_unwind_safe_load_impl, @function
sh_unwind_safe_load_impl:
  .cfi_startproc
  .globl sh_unwind_safe_load_insn
  .hidden sh_unwind_safe_load_insn
sh_unwind_safe_load_insn:
  movq (%rdi), %rax
  movq %rax, (%rsi)
  movl $1, %eax
  ret
  .globl sh_unwind_safe_load_fixup
  .hidden sh_unwind_safe_load_fixup
sh_unwind_safe_load_fixup:
  xorl %eax, %eax
  ret
  .cfi_endproc
  .size sh_unwind_safe_load_impl, .-sh_unwind_safe_load_impl
  .popsection
)");

extern "C" {
bool sh_unwind_safe_load_impl(uintptr_t addr, uintptr_t* out);
extern const char sh_unwind_safe_load_insn[];
extern const char sh_unwind_safe_load_fixup[];
}

namespace stackhouse::sampler::unwind {
namespace {

// The dispositions replaced by ours, indexed by Slot(). Written under
// g_install_mutex before our handler becomes active.
struct sigaction g_previous[2];
std::mutex g_install_mutex;

int Slot(int sig) { return sig == SIGBUS ? 1 : 0; }

void Handler(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  if (info != nullptr && info->si_code > 0 && uc != nullptr &&
      uc->uc_mcontext.gregs[REG_RIP] == reinterpret_cast<greg_t>(sh_unwind_safe_load_insn)) {
    uc->uc_mcontext.gregs[REG_RIP] = reinterpret_cast<greg_t>(sh_unwind_safe_load_fixup);
    return;
  }
  const struct sigaction& prev = g_previous[Slot(sig)];
  if (prev.sa_flags & SA_SIGINFO) {
    if (prev.sa_sigaction != nullptr) {
      prev.sa_sigaction(sig, info, context);
      return;
    }
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
    prev.sa_handler(sig);
    return;
  }
  // SIG_DFL or SIG_IGN: put it back and return; the faulting instruction runs
  // again and the kernel applies the default action (a synchronous fault is
  // never ignored).
  sigaction(sig, &prev, nullptr);
}

bool IsOurs(int sig) {
  struct sigaction current;
  if (sigaction(sig, nullptr, &current) != 0) return false;
  return (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == Handler;
}

bool InstallOne(int sig) {
  if (IsOurs(sig)) return true;
  struct sigaction current;
  if (sigaction(sig, nullptr, &current) != 0) return false;
  g_previous[Slot(sig)] = current;
  struct sigaction ours = {};
  ours.sa_sigaction = Handler;
  sigemptyset(&ours.sa_mask);
  ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
  struct sigaction replaced;
  if (sigaction(sig, &ours, &replaced) != 0) return false;
  // Someone may have changed the disposition between the two calls.
  if ((replaced.sa_flags & SA_SIGINFO) == 0 || replaced.sa_sigaction != Handler) {
    g_previous[Slot(sig)] = replaced;
  }
  return true;
}

}  // namespace

bool SafeLoad(uintptr_t addr, uintptr_t* out) {
  if (addr < 4096) return false;
  return sh_unwind_safe_load_impl(addr, out);
}

bool InstallSafeLoadHandler() {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  return InstallOne(SIGSEGV) && InstallOne(SIGBUS);
}

bool SafeLoadHandlerInstalled() { return IsOurs(SIGSEGV) && IsOurs(SIGBUS); }

}  // namespace stackhouse::sampler::unwind
