// A library the dlopen test loads and unloads while profiling.
#include "sampler/testing/burn.h"

extern "C" __attribute__((visibility("default"))) double plugin_burn(long units) {
  volatile double x = 1;
  for (long i = 0; i < units * stackhouse::sampler::testing::kIterationsPerUnit; ++i) x = x * 1.0000001 + 1;
  return x;
}
