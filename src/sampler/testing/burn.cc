// The CPU-burning functions of the accuracy workload, in their own file so
// that they can be built with or without frame pointers. Spin is the only
// leaf: attributing its time to BurnA or BurnB needs a real unwind step.
#include "sampler/testing/burn.h"

#include <time.h>

namespace stackhouse::sampler::testing {

__attribute__((noinline)) double Spin(long iterations) {
  volatile double x = 1.0;
  for (long i = 0; i < iterations; ++i) x = x * 1.0000001 + 0.5;
  return x;
}

__attribute__((noinline)) double BurnA(long units) {
  double r = Spin(units * kIterationsPerUnit);
  asm volatile("" ::: "memory");  // keep the call from becoming a tail call
  return r + 1;
}

__attribute__((noinline)) double BurnB(long units) {
  double r = Spin(units * kIterationsPerUnit);
  asm volatile("" ::: "memory");
  return r + 2;
}

}  // namespace stackhouse::sampler::testing
