// Shared by the block file fuzzers (header-only so that fuzz builds, which
// have no test libraries, can use it): the files of a small valid block,
// and a driver that replaces one file with fuzz input and exercises every
// read path. Any input must give errors, never crashes.
#ifndef STACKHOUSE_TSDB_TESTING_BLOCK_FUZZ_H_
#define STACKHOUSE_TSDB_TESTING_BLOCK_FUZZ_H_

#include <cstdlib>
#include <map>
#include <string>

#include "base/env.h"
#include "profile/folded.h"
#include "tsdb/block.h"
#include "tsdb/merge.h"

namespace stackhouse::tsdb::testing {

inline std::map<std::string, std::string> SampleBlockFiles() {
  MemEnv env;
  profile::FoldedOptions fo;
  fo.sample_type = "cpu";
  fo.sample_unit = "nanoseconds";
  auto p = profile::ParseFolded(
      "main;serve;parse 30\nmain;serve;render 20\nmain;gc 10\nmain;serve;parse;json 5\n", fo);
  if (!p.ok()) std::abort();
  SymbolTable table;
  ProfileInterner interner(&table, *p);
  std::vector<NodeValue> samples;
  for (size_t i = 0; i < p->samples.size(); ++i) {
    samples.push_back({interner.Stack(i), p->sample_values(i)[0]});
  }
  std::sort(samples.begin(), samples.end(),
            [](const NodeValue& a, const NodeValue& b) { return a.node < b.node; });
  BlockWriter w(&env, "/b", "t");
  if (!w.Begin().ok()) std::abort();
  auto part = w.AddPartition("svc", table);
  if (!part.ok()) std::abort();
  for (const char* env_name : {"dev", "prod"}) {
    auto labels = profile::LabelSet::FromPairs(
        {{"service_name", "svc"}, {"env", env_name}, {"__name__", "process_cpu"}});
    std::vector<BlockProfile> profiles;
    for (int i = 0; i < 5; ++i) {
      profiles.push_back({int64_t{1704067200} * 1000000000 + i * int64_t{1800} * 1000000000,
                          10000000000, samples});
    }
    if (!w.AddSeries(*labels, *part, profiles).ok()) std::abort();
  }
  if (!w.Finish(1, 1, {}, nullptr).ok()) std::abort();
  std::map<std::string, std::string> files;
  for (const char* f : {"meta.json", "index.bin", "symbols.bin", "samples.bin"}) {
    files[f] = *env.ReadFile(std::string("/b/") + f);
  }
  return files;
}

inline void FuzzBlockFile(const std::string& name, std::string_view data) {
  static const std::map<std::string, std::string> kFiles = SampleBlockFiles();
  MemEnv env;
  if (!env.CreateDirs("/b").ok()) std::abort();
  for (const auto& [f, content] : kFiles) {
    std::string_view bytes = f == name ? data : std::string_view(content);
    auto file = env.NewWritableFile("/b/" + f);
    if (!file.ok() || !(*file)->Append(bytes).ok() || !(*file)->Close().ok()) std::abort();
  }
  auto block = Block::Open(&env, "/b");
  if (!block.ok()) return;
  (*block)->Verify().ok();
  Selection sel;
  sel.tenant = (*block)->meta().tenant;
  FlameTreeSink sink;
  (*block)->MergeStacks(sel, &sink).ok();
  sink.Finish();
  sel.range = {int64_t{1704067200} * 1000000000 + 1, int64_t{1704067200} * 1000000000 + 7200000000000};
  ProfileSink psink("cpu", "nanoseconds");
  (*block)->MergeStacks(sel, &psink).ok();
  psink.Finish();
  TotalsRequest req;
  req.step = 60000000000;
  req.group_by = {"env"};
  TotalsResult totals(sel.range.from, sel.range.to, req.step);
  (*block)->Totals(sel, req, &totals).ok();
  std::set<std::string> names;
  (*block)->LabelNames(sel, &names).ok();
  (*block)->IterateProfiles(sel, [](const RawProfile&) { return OkStatus(); }).ok();
  (*block)->VisitSeries([](const profile::LabelSet&, uint32_t, std::vector<BlockProfile>) {
    return OkStatus();
  }).ok();
}

}  // namespace stackhouse::tsdb::testing

#endif  // STACKHOUSE_TSDB_TESTING_BLOCK_FUZZ_H_
