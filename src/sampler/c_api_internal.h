// Process-level entry points shared by the C API, the zero-code
// constructor and the interposers (thread start/exit).
#ifndef STACKHOUSE_SAMPLER_C_API_INTERNAL_H_
#define STACKHOUSE_SAMPLER_C_API_INTERNAL_H_

#include "sampler/config.h"

namespace stackhouse::sampler {

// Starts the process's profiler; 0 or -1 with stackhouse_last_error().
int StartWithConfig(const Config& config);
// Records the calling thread's tid and stack bounds in its ThreadLocal.
void NoteThreadStart();

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_C_API_INTERNAL_H_
