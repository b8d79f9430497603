#include "sampler/interpose/sampling_math.h"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace stackhouse::sampler::interpose {
namespace {

double RelativeError(double got, double want) { return std::fabs(got - want) / std::fabs(want); }

TEST(SamplingMathTest, NegLogMatchesLibmOverTheUnitInterval) {
  // The sampler's uniforms: (k + 1) / 2^53 for 53-bit k, so from 2^-53 to 1.
  std::mt19937_64 rng(7);
  double worst = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    double u = (static_cast<double>(rng() >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    if (u == 1.0) continue;
    worst = std::max(worst, RelativeError(NegLog(u), -std::log(u)));
  }
  // Edges: the smallest uniform, values near 1 (where -ln u is tiny), and
  // both sides of the sqrt(2) split.
  for (double u : {1.0 / 9007199254740992.0, 0.5, 0.25, 0.7071067811865475, 0.7071067811865476,
                   0.999999, 1.0 - 1e-12, 0.1, 1e-300}) {
    worst = std::max(worst, RelativeError(NegLog(u), -std::log(u)));
  }
  EXPECT_LT(worst, 1e-8);
  EXPECT_EQ(NegLog(1.0), 0.0);
}

TEST(SamplingMathTest, NegLogKeepsTheExponentialsMean) {
  // What sampling depends on: the variates' mean and tail.
  std::mt19937_64 rng(11);
  const int n = 2'000'000;
  double sum = 0, tail = 0;
  for (int i = 0; i < n; ++i) {
    double u = (static_cast<double>(rng() >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double x = NegLog(u);
    sum += x;
    tail += x > 3.0;
  }
  EXPECT_NEAR(sum / n, 1.0, 0.003);
  EXPECT_NEAR(tail / n, std::exp(-3.0), 0.001);
}

TEST(SamplingMathTest, SampledProbabilityMatchesLibm) {
  double worst = 0;
  for (double x = 1e-12; x < 50; x *= 1.001) {
    worst = std::max(worst, RelativeError(SampledProbability(x), -std::expm1(-x)));
  }
  EXPECT_LT(worst, 1e-12);
  EXPECT_EQ(SampledProbability(0.0), 0.0);
  EXPECT_EQ(SampledProbability(1000.0), 1.0);
}

}  // namespace
}  // namespace stackhouse::sampler::interpose
