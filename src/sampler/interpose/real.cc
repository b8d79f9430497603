#include "sampler/interpose/real.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

namespace stackhouse::sampler::interpose {

void* NextSymbol(const char* name) {
  void* fn = dlsym(RTLD_NEXT, name);
  if (fn == nullptr) {
    char msg[160];
    int n = snprintf(msg, sizeof(msg), "libstackhouse: cannot find the real %s\n", name);
    (void)!write(2, msg, n > 0 ? static_cast<size_t>(n) : 0);
    abort();
  }
  return fn;
}

}  // namespace stackhouse::sampler::interpose
