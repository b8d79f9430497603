// Zero-code mode: when libstackhouse.so is loaded through LD_PRELOAD (or
// STACKHOUSE_AUTOSTART=1 is set), a constructor reads STACKHOUSE_* /
// PYROSCOPE_* from the environment and starts profiling before main().
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "sampler/c_api_internal.h"
#include "sampler/config.h"
#include "sampler/thread_local.h"

namespace stackhouse::sampler::interpose {
namespace {

bool WantAutostart() {
  const char* force = getenv("STACKHOUSE_AUTOSTART");
  if (force != nullptr) return strcmp(force, "1") == 0 || strcmp(force, "true") == 0;
  const char* preload = getenv("LD_PRELOAD");
  return preload != nullptr && strstr(preload, "libstackhouse") != nullptr;
}

__attribute__((constructor)) void Autostart() {
  if (!WantAutostart()) return;
  InternalScope internal;
  auto config = ConfigFromEnv([](const char* name) -> const char* { return getenv(name); });
  if (!config.ok()) {
    fprintf(stderr, "libstackhouse: not profiling: %s\n", config.status().message().c_str());
    return;
  }
  StartWithConfig(*config);  // logs its own failure
}

}  // namespace
}  // namespace stackhouse::sampler::interpose
