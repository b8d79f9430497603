// The two functions the allocation sampler evaluates per sample, inline and
// without libm: a sampled allocation is rare enough that libm's log and
// expm1 are no longer in the caches when it comes, and fetching their code
// cost more than the arithmetic (~60 ns of a ~500 ns sample). Both are
// accurate to a few parts in 10^9, far below the sampling noise; the tests
// compare them with libm over their whole domains.
#ifndef STACKHOUSE_SAMPLER_INTERPOSE_SAMPLING_MATH_H_
#define STACKHOUSE_SAMPLER_INTERPOSE_SAMPLING_MATH_H_

#include <cmath>
#include <cstdint>
#include <cstring>

namespace stackhouse::sampler::interpose {

// -ln(u) for u in (0, 1]: the exponential variate of a uniform one.
inline double NegLog(double u) {
  // u = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln(m) = 2 atanh(s) with
  // s = (m - 1) / (m + 1), |s| < 0.172, by its series to s^11.
  uint64_t bits;
  std::memcpy(&bits, &u, sizeof(bits));
  int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1023} << 52);
  double m;
  std::memcpy(&m, &bits, sizeof(m));
  if (m > 1.4142135623730951) {
    m *= 0.5;
    ++e;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  const double series =
      s * (2.0 + s2 * (2.0 / 3 + s2 * (2.0 / 5 + s2 * (2.0 / 7 + s2 * (2.0 / 9 + s2 * (2.0 / 11))))));
  return -(series + e * 0.6931471805599453);
}

// 1 - e^(-x) for x >= 0: the probability that an allocation of x sampling
// means is sampled. Small x (all but huge allocations) by its series; the
// rest through libm.
inline double SampledProbability(double x) {
  if (__builtin_expect(x < 0.01, 1)) {
    return x * (1.0 - x * (0.5 - x * (1.0 / 6 - x * (1.0 / 24 - x * (1.0 / 120)))));
  }
  return -std::expm1(-x);
}

}  // namespace stackhouse::sampler::interpose

#endif  // STACKHOUSE_SAMPLER_INTERPOSE_SAMPLING_MATH_H_
