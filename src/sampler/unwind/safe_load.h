// Fault-tolerant memory reads for the sampler's signal handler.
//
// SafeLoad reads one word and reports failure instead of crashing when the
// address is unmapped or unreadable. It works by letting the load fault: a
// SIGSEGV/SIGBUS handler (InstallSafeLoadHandler) recognises faults raised by
// the one load instruction inside SafeLoad and resumes at a failure path. All
// other faults are passed on to the handler that was installed before ours.
//
// Thread-safety: SafeLoad is async-signal-safe and lock-free; it may be called
// from any thread and from signal handlers (SIGSEGV and SIGBUS must not be
// blocked at that point, so do not put them in a sampler signal's sa_mask).
// InstallSafeLoadHandler is thread-safe and idempotent but is not
// async-signal-safe.
//
// Caveat: if another component replaces our handler and later chains back to
// it, calling InstallSafeLoadHandler again makes the two chain to each other.
#ifndef STACKHOUSE_SAMPLER_UNWIND_SAFE_LOAD_H_
#define STACKHOUSE_SAMPLER_UNWIND_SAFE_LOAD_H_

#include <cstdint>

namespace stackhouse::sampler::unwind {

// Reads the 8-byte word at addr into *out; returns false (instead of crashing)
// if the memory is unmapped or unreadable. Without an installed handler a bad
// address crashes the process as an ordinary load would (addresses below 4096
// are always rejected without touching memory).
bool SafeLoad(uintptr_t addr, uintptr_t* out);

// Installs a SIGSEGV and SIGBUS handler that turns faults at SafeLoad's load
// instruction into a false return. Every other fault goes to the previously
// installed disposition: a previous handler is called with the same arguments;
// if it was SIG_DFL/SIG_IGN, that disposition is restored and the handler
// returns, so the fault re-occurs and the process dies as it would have.
// Returns true if our handler is active afterwards.
bool InstallSafeLoadHandler();

// True while our handler is the active SIGSEGV and SIGBUS handler.
bool SafeLoadHandlerInstalled();

}  // namespace stackhouse::sampler::unwind

#endif  // STACKHOUSE_SAMPLER_UNWIND_SAFE_LOAD_H_
