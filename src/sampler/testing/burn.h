// CPU burners for the sampler's accuracy tests and the sdk benchmark.
#ifndef STACKHOUSE_SAMPLER_TESTING_BURN_H_
#define STACKHOUSE_SAMPLER_TESTING_BURN_H_

namespace stackhouse::sampler::testing {

inline constexpr long kIterationsPerUnit = 200000;

double Spin(long iterations);
double BurnA(long units);  // calls Spin
double BurnB(long units);  // calls Spin

}  // namespace stackhouse::sampler::testing

#endif  // STACKHOUSE_SAMPLER_TESTING_BURN_H_
