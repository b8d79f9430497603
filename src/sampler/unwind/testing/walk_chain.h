// Test-only call chains for stack_walker_test: A -> B -> C -> D, where D
// sends itself a signal (a raw tgkill syscall, so the signal lands inside D),
// and QsortOuter -> qsort (libc) -> QsortCompare -> D. The same code is
// compiled twice: walk_chain_nofp.cc (-O2 -fomit-frame-pointer) and
// walk_chain_fp.cc (-O2 -fno-omit-frame-pointer).
#ifndef STACKHOUSE_SAMPLER_UNWIND_TESTING_WALK_CHAIN_H_
#define STACKHOUSE_SAMPLER_UNWIND_TESTING_WALK_CHAIN_H_

namespace stackhouse::sampler::unwind::walk_chain {

// The signal D sends to the calling thread; 0 means none. Set by the test.
extern int g_chain_signal;

namespace nofp {
int A(int x);
int B(int x);
int C(int x);
int D(int x);
int QsortOuter(int x);
int QsortCompare(const void* a, const void* b);
}  // namespace nofp

namespace fp {
int A(int x);
int B(int x);
int C(int x);
int D(int x);
int QsortOuter(int x);
int QsortCompare(const void* a, const void* b);
}  // namespace fp

}  // namespace stackhouse::sampler::unwind::walk_chain

#endif  // STACKHOUSE_SAMPLER_UNWIND_TESTING_WALK_CHAIN_H_
