// The real libc functions behind our interposers, found with
// dlsym(RTLD_NEXT) on first use. While dlsym itself runs (it may allocate),
// allocations are served from a small static arena.
#ifndef STACKHOUSE_SAMPLER_INTERPOSE_REAL_H_
#define STACKHOUSE_SAMPLER_INTERPOSE_REAL_H_

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

namespace stackhouse::sampler::interpose {

// Looks up `name` in the objects after ours; aborts with a message if it is
// missing (the process cannot work without it).
void* NextSymbol(const char* name);

#define STACKHOUSE_REAL(name)                                                      \
  ([]() {                                                                          \
    static decltype(&::name) fn = nullptr;                                         \
    if (__builtin_expect(fn == nullptr, 0))                                        \
      fn = reinterpret_cast<decltype(&::name)>(                                    \
          ::stackhouse::sampler::interpose::NextSymbol(#name));                    \
    return fn;                                                                     \
  }())

}  // namespace stackhouse::sampler::interpose

#endif  // STACKHOUSE_SAMPLER_INTERPOSE_REAL_H_
