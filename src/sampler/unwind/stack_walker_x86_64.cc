// x86_64 stack walking: the caller's frame from a CFI row (CFA = rsp/rbp +
// offset, return address at CFA - 8, rbp optionally saved relative to the CFA)
// or from the frame-pointer chain ([fp] = caller's fp, [fp + 8] = return
// address, caller's sp = fp + 16).
#include <ucontext.h>

#include "sampler/unwind/safe_load.h"
#include "sampler/unwind/stack_walker.h"

namespace stackhouse::sampler::unwind {
namespace {

struct Frame {
  uintptr_t pc;
  uintptr_t sp;
  uintptr_t fp;
};

// True if [addr, addr + 8) is an aligned word inside [lo, hi).
bool InStack(uintptr_t addr, uintptr_t lo, uintptr_t hi) {
  return (addr & 7) == 0 && addr >= lo && addr < hi && hi - addr >= 8;
}

bool StepWithRow(const UnwindRow& row, const Frame& cur, uintptr_t stack_hi, Frame* next) {
  uintptr_t base = 0;
  switch (row.cfa) {
    case CfaRule::kRspOffset:
      base = cur.sp;
      break;
    case CfaRule::kRbpOffset:
      base = cur.fp;
      break;
    case CfaRule::kPlt:
      base = cur.sp + ((cur.pc & 15) >= static_cast<uintptr_t>(row.plt_threshold()) ? 8 : 0);
      break;
    default:
      return false;
  }
  const uintptr_t cfa = base + static_cast<uintptr_t>(static_cast<intptr_t>(row.cfa_offset));
  // The return address sits at cfa - 8, which must be inside the frame.
  if (cfa <= cur.sp || cfa - cur.sp < 8 || !InStack(cfa - 8, cur.sp, stack_hi)) return false;
  uintptr_t ra = 0;
  if (!SafeLoad(cfa - 8, &ra)) return false;
  uintptr_t fp = cur.fp;
  if (row.rbp == RbpRule::kAtCfaOffset) {
    const uintptr_t slot = cfa + static_cast<uintptr_t>(static_cast<intptr_t>(row.rbp_offset));
    if (!InStack(slot, cur.sp, stack_hi) || !SafeLoad(slot, &fp)) return false;
  }
  *next = {ra, cfa, fp};
  return true;
}

bool StepWithFramePointer(const Frame& cur, uintptr_t stack_hi, Frame* next) {
  const uintptr_t fp = cur.fp;
  if (!InStack(fp, cur.sp, stack_hi) || !InStack(fp + 8, cur.sp, stack_hi)) return false;
  uintptr_t caller_fp = 0, ra = 0;
  if (!SafeLoad(fp, &caller_fp) || !SafeLoad(fp + 8, &ra)) return false;
  *next = {ra, fp + 16, caller_fp};
  return true;
}

}  // namespace

Regs RegsFromUcontext(const void* ucontext) {
  const auto* uc = static_cast<const ucontext_t*>(ucontext);
  return Regs{static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]),
              static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]),
              static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RBP])};
}

int WalkStack(const Regs& start, uintptr_t stack_hi, WalkMode mode, const UnwindTables* tables,
              uintptr_t* pcs, int max_frames) {
  if (pcs == nullptr || max_frames <= 0 || start.pc == 0) return 0;
  const bool use_cfi = mode == WalkMode::kDwarf && tables != nullptr;
  if (use_cfi) tables->Enter();
  Frame cur{start.pc, start.sp, start.fp};
  int n = 0;
  pcs[n++] = cur.pc;
  while (n < max_frames) {
    // Past the first frame the pc is a return address, which may already
    // belong to the next function (calls to noreturn functions): look up pc-1.
    const UnwindRow* row = use_cfi ? tables->Find(n == 1 ? cur.pc : cur.pc - 1) : nullptr;
    Frame next;
    if (row != nullptr && row->cfa == CfaRule::kOutermost) break;
    const bool stepped = row != nullptr && row->cfa != CfaRule::kUnsupported
                             ? StepWithRow(*row, cur, stack_hi, &next)
                             : StepWithFramePointer(cur, stack_hi, &next);
    if (!stepped || next.pc == 0 || next.sp <= cur.sp) break;
    pcs[n++] = next.pc;
    cur = next;
  }
  if (use_cfi) tables->Exit();
  return n;
}

}  // namespace stackhouse::sampler::unwind
