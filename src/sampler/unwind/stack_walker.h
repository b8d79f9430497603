// Stack walking for the sampler's signal handler: frame-pointer chains and
// .eh_frame CFI rows (UnwindTables), with every stack read fault-tolerant.
//
// Thread-safety: all functions are async-signal-safe (no allocation, no
// locks, no syscalls). WalkStack reads memory through SafeLoad, so
// InstallSafeLoadHandler() must have succeeded before it runs on a stack it
// does not trust.
#ifndef STACKHOUSE_SAMPLER_UNWIND_STACK_WALKER_H_
#define STACKHOUSE_SAMPLER_UNWIND_STACK_WALKER_H_

#include <cstdint>

#include "sampler/unwind/unwind_tables.h"

namespace stackhouse::sampler::unwind {

// The registers a walk starts from.
struct Regs {
  uintptr_t pc;
  uintptr_t sp;
  uintptr_t fp;
};

// The interrupted thread's registers from a signal handler's ucontext_t*.
Regs RegsFromUcontext(const void* ucontext);

// The stack_hi to pass when the thread's stack top is unknown: start.sp + this.
inline constexpr uintptr_t kDefaultStackSpan = uintptr_t{8} << 20;

enum class WalkMode {
  kFramePointer,  // follow the rbp chain only
  kDwarf,         // use a CFI row when one exists for the pc, frame pointers otherwise
};

// Walks from `start` and writes up to max_frames pcs: pcs[0] = start.pc, then
// the callers' return addresses. Returns the count. Every read lies in
// [sp, stack_hi) of the current frame, frames move strictly upward, and the
// walk stops cleanly at the outermost frame (return address undefined in CFI,
// fp == 0, a zero return address, or no row and no valid fp). `tables` may be
// null (frame pointers only); with tables, the walk brackets its lookups with
// tables->Enter()/Exit() itself.
//
// With `reads`, the stack words the walk read are recorded there, in order
// (WalkCache re-reads them to reuse the walk).
struct WalkReads {
  uintptr_t* addrs;
  uintptr_t* words;
  int capacity;
  int count = 0;
  bool complete = true;  // false if a read failed or did not fit
};
int WalkStack(const Regs& start, uintptr_t stack_hi, WalkMode mode, const UnwindTables* tables,
              uintptr_t* pcs, int max_frames, WalkReads* reads = nullptr);

}  // namespace stackhouse::sampler::unwind

#endif  // STACKHOUSE_SAMPLER_UNWIND_STACK_WALKER_H_
