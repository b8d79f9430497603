// The online CPUs (/sys/devices/system/cpu/online), on which the agent's
// engines open one CPU-clock event each.
#ifndef STACKHOUSE_AGENT_CPUS_H_
#define STACKHOUSE_AGENT_CPUS_H_

#include <vector>

namespace stackhouse::agent {

// CPU numbers, from the kernel's list ("0-3,8"); all configured CPUs if it
// cannot be read.
std::vector<int> OnlineCpus();

}  // namespace stackhouse::agent

#endif  // STACKHOUSE_AGENT_CPUS_H_
