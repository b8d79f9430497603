// Helpers for libstackhouse's tests: running the workload under the
// library (zero-code mode) and reading back the profiles it wrote.
// Tests only.
#ifndef STACKHOUSE_SAMPLER_TESTING_SAMPLER_TESTING_H_
#define STACKHOUSE_SAMPLER_TESTING_SAMPLER_TESTING_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/testing/testing.h"
#include "profile/profile.h"

namespace stackhouse::sampler::testing {

using Env = std::vector<std::pair<std::string, std::string>>;

std::string LibraryPath();          // build/lib/libstackhouse.so
std::string WorkloadPath(bool fp);  // with or without frame pointers
std::string PluginPath();           // the dlopen test library

// Runs the workload with LD_PRELOAD=libstackhouse.so, STACKHOUSE_OUTPUT_DIR
// = output_dir (if not empty) and `env`, under `wrapper` (e.g. valgrind)
// when given.
stackhouse::testing::CommandResult RunWorkload(const std::vector<std::string>& args, const Env& env,
                                               const std::string& output_dir, bool fp = true,
                                               const std::vector<std::string>& wrapper = {});

// Runs a workload binary that links libstackhouse.so (no LD_PRELOAD: the
// sanitizer builds need their runtime first), started by
// STACKHOUSE_AUTOSTART=1.
stackhouse::testing::CommandResult RunLinkedWorkload(const std::string& binary,
                                                     const std::vector<std::string>& args, const Env& env,
                                                     const std::string& output_dir);

// Decodes every profile of `kind` ("cpu", "wall", "heap", "lock") that the
// library wrote to `dir`.
std::vector<profile::Profile> ReadProfiles(const std::string& dir, const std::string& kind);

// Sum of sample type `type` over the samples whose stack has a frame whose
// function name contains `function` (each sample counted once); with an
// empty `function`, over all samples.
int64_t SumWhereStackHas(const std::vector<profile::Profile>& profiles, const std::string& type,
                         const std::string& function);
// Same, but only samples whose leaf frame's function contains `function`.
int64_t SumWhereLeafIs(const std::vector<profile::Profile>& profiles, const std::string& type,
                       const std::string& function);

// A number from the workload's one-line JSON output ("key":123).
double JsonField(const std::string& json, const std::string& key);

}  // namespace stackhouse::sampler::testing

#endif  // STACKHOUSE_SAMPLER_TESTING_SAMPLER_TESTING_H_
