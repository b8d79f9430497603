// x86_64 stack walking over this process's memory (see stack_walk_core.h for
// the stepping rules).
#include <ucontext.h>

#include "sampler/unwind/safe_load.h"
#include "sampler/unwind/stack_walker.h"
#include "sampler/unwind/stack_walk_core.h"

namespace stackhouse::sampler::unwind {
Regs RegsFromUcontext(const void* ucontext) {
  const auto* uc = static_cast<const ucontext_t*>(ucontext);
  return Regs{static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]),
              static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]),
              static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RBP])};
}

int WalkStack(const Regs& start, uintptr_t stack_hi, WalkMode mode, const UnwindTables* tables,
              uintptr_t* pcs, int max_frames, WalkReads* reads) {
  const bool use_cfi = mode == WalkMode::kDwarf && tables != nullptr;
  const int shard = use_cfi ? tables->Enter() : 0;
  auto load = [reads](uintptr_t addr, uintptr_t* out) {
    const bool ok = SafeLoad(addr, out);
    if (reads != nullptr) {
      if (ok && reads->count < reads->capacity) {
        reads->addrs[reads->count] = addr;
        reads->words[reads->count] = *out;
        ++reads->count;
      } else {
        reads->complete = false;
      }
    }
    return ok;
  };
  int n = WalkStackWith(
      start, stack_hi, load, [&](uintptr_t pc) { return use_cfi ? tables->Find(pc) : nullptr; }, pcs,
      max_frames);
  if (use_cfi) tables->Exit(shard);
  return n;
}

}  // namespace stackhouse::sampler::unwind
