// The x86_64 stack-walking loop, over any memory and any unwind-row lookup:
// WalkStack (stack_walker.h) runs it over this process's memory through
// SafeLoad; the host agent runs it over a copy of another process's stack.
//
// A step takes the caller's frame from a CFI row (CFA = rsp/rbp + offset,
// return address at CFA - 8, rbp optionally saved relative to the CFA) or,
// without a usable row, from the frame-pointer chain ([fp] = caller's fp,
// [fp + 8] = return address, caller's sp = fp + 16). Every read must be an
// aligned word within [sp, stack_hi); frames must move up the stack.
// No allocation, no locks: safe in a signal handler when `load` and `find`
// are.
#ifndef STACKHOUSE_SAMPLER_UNWIND_STACK_WALK_CORE_H_
#define STACKHOUSE_SAMPLER_UNWIND_STACK_WALK_CORE_H_

#include <cstdint>

#include "sampler/unwind/stack_walker.h"
#include "sampler/unwind/unwind_table.h"

namespace stackhouse::sampler::unwind {
namespace walk_internal {

struct Frame {
  uintptr_t pc;
  uintptr_t sp;
  uintptr_t fp;
};

// True if [addr, addr + 8) is an aligned word inside [lo, hi).
inline bool InStack(uintptr_t addr, uintptr_t lo, uintptr_t hi) {
  return (addr & 7) == 0 && addr >= lo && addr < hi && hi - addr >= 8;
}

template <typename Load>
bool StepWithRow(const UnwindRow& row, const Frame& cur, uintptr_t stack_hi, Load& load, Frame* next) {
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
  if (!load(cfa - 8, &ra)) return false;
  uintptr_t fp = cur.fp;
  if (row.rbp == RbpRule::kAtCfaOffset) {
    const uintptr_t slot = cfa + static_cast<uintptr_t>(static_cast<intptr_t>(row.rbp_offset));
    if (!InStack(slot, cur.sp, stack_hi) || !load(slot, &fp)) return false;
  }
  *next = {ra, cfa, fp};
  return true;
}

template <typename Load>
bool StepWithFramePointer(const Frame& cur, uintptr_t stack_hi, Load& load, Frame* next) {
  const uintptr_t fp = cur.fp;
  if (!InStack(fp, cur.sp, stack_hi) || !InStack(fp + 8, cur.sp, stack_hi)) return false;
  uintptr_t caller_fp = 0, ra = 0;
  if (!load(fp, &caller_fp) || !load(fp + 8, &ra)) return false;
  *next = {ra, fp + 16, caller_fp};
  return true;
}

}  // namespace walk_internal

// `load(addr, &word)` reads a word (false if it cannot); `find(pc)` returns
// the CFI row covering pc or nullptr. Writes up to max_frames pcs (the
// first is start.pc) and returns the count.
template <typename Load, typename Find>
int WalkStackWith(const Regs& start, uintptr_t stack_hi, Load load, Find find, uintptr_t* pcs, int max_frames) {
  using walk_internal::Frame;
  if (pcs == nullptr || max_frames <= 0 || start.pc == 0) return 0;
  Frame cur{start.pc, start.sp, start.fp};
  int n = 0;
  pcs[n++] = cur.pc;
  while (n < max_frames) {
    // Past the first frame the pc is a return address, which may already
    // belong to the next function (calls to noreturn functions): look up pc-1.
    const UnwindRow* row = find(n == 1 ? cur.pc : cur.pc - 1);
    Frame next;
    if (row != nullptr && row->cfa == CfaRule::kOutermost) break;
    const bool stepped = row != nullptr && row->cfa != CfaRule::kUnsupported
                             ? walk_internal::StepWithRow(*row, cur, stack_hi, load, &next)
                             : walk_internal::StepWithFramePointer(cur, stack_hi, load, &next);
    if (!stepped || next.pc == 0 || next.sp <= cur.sp) break;
    pcs[n++] = next.pc;
    cur = next;
  }
  return n;
}

}  // namespace stackhouse::sampler::unwind

#endif  // STACKHOUSE_SAMPLER_UNWIND_STACK_WALK_CORE_H_
