#include "sampler/testing/sampler_testing.h"

#include <dirent.h>

#include <cstdlib>

#include "profile/pprof.h"

namespace stackhouse::sampler::testing {

std::string LibraryPath() { return stackhouse::testing::BinPath("../lib/libstackhouse.so"); }
std::string WorkloadPath(bool fp) {
  return stackhouse::testing::BinPath(fp ? "sampler_workload" : "sampler_workload_nofp");
}
std::string PluginPath() { return stackhouse::testing::BinPath("../lib/libsampler_plugin.so"); }

stackhouse::testing::CommandResult RunWorkload(const std::vector<std::string>& args, const Env& env,
                                               const std::string& output_dir, bool fp,
                                               const std::vector<std::string>& wrapper) {
  std::vector<std::string> argv = {"/usr/bin/env"};
  argv.push_back("LD_PRELOAD=" + LibraryPath());
  if (!output_dir.empty()) argv.push_back("STACKHOUSE_OUTPUT_DIR=" + output_dir);
  for (const auto& [k, v] : env) argv.push_back(k + "=" + v);
  for (const std::string& w : wrapper) argv.push_back(w);
  argv.push_back(WorkloadPath(fp));
  for (const std::string& a : args) argv.push_back(a);
  return stackhouse::testing::RunCommand(argv);
}

stackhouse::testing::CommandResult RunLinkedWorkload(const std::string& binary,
                                                     const std::vector<std::string>& args, const Env& env,
                                                     const std::string& output_dir) {
  std::vector<std::string> argv = {"/usr/bin/env", "STACKHOUSE_AUTOSTART=1"};
  if (!output_dir.empty()) argv.push_back("STACKHOUSE_OUTPUT_DIR=" + output_dir);
  for (const auto& [k, v] : env) argv.push_back(k + "=" + v);
  argv.push_back(stackhouse::testing::BinPath(binary));
  for (const std::string& a : args) argv.push_back(a);
  return stackhouse::testing::RunCommand(argv);
}

std::vector<profile::Profile> ReadProfiles(const std::string& dir, const std::string& kind) {
  std::vector<profile::Profile> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  std::string infix = "." + kind + ".";
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.find(infix) == std::string::npos || !name.ends_with(".pb.gz")) continue;
    auto p = profile::DecodePprof(stackhouse::testing::ReadOrDie(dir + "/" + name));
    if (p.ok()) {
      out.push_back(std::move(*p));
    } else {
      fprintf(stderr, "cannot decode %s: %s\n", name.c_str(), p.status().ToString().c_str());
      abort();
    }
  }
  closedir(d);
  return out;
}

namespace {

bool FrameHas(const profile::Profile& p, uint32_t loc_index, const std::string& function) {
  const profile::Location& loc = p.locations[loc_index];
  for (const profile::Line& line : p.location_lines(loc)) {
    const profile::Function* f = p.function(line.function);
    if (f != nullptr && p.str(f->name).find(function) != std::string_view::npos) return true;
  }
  return false;
}

template <typename Pred>
int64_t Sum(const std::vector<profile::Profile>& profiles, const std::string& type, Pred pred) {
  int64_t sum = 0;
  for (const profile::Profile& p : profiles) {
    int t = p.FindSampleType(type);
    if (t < 0) continue;
    for (size_t i = 0; i < p.samples.size(); ++i) {
      if (pred(p, p.sample_stack(i))) sum += p.sample_values(i)[t];
    }
  }
  return sum;
}

}  // namespace

int64_t SumWhereStackHas(const std::vector<profile::Profile>& profiles, const std::string& type,
                         const std::string& function) {
  return Sum(profiles, type, [&](const profile::Profile& p, std::span<const uint32_t> stack) {
    if (function.empty()) return true;
    for (uint32_t loc : stack) {
      if (FrameHas(p, loc, function)) return true;
    }
    return false;
  });
}

int64_t SumWhereLeafIs(const std::vector<profile::Profile>& profiles, const std::string& type,
                       const std::string& function) {
  return Sum(profiles, type, [&](const profile::Profile& p, std::span<const uint32_t> stack) {
    return !stack.empty() && FrameHas(p, stack[0], function);
  });
}

double JsonField(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return atof(json.c_str() + at + key.size() + 3);
}

}  // namespace stackhouse::sampler::testing
