// scripts/bench explain: the interpreter's accuracy over its evaluation set
// (testdata/explain/labels.json: the share of cases whose top finding names
// the right category and function) and its speed on a profile of about
// 100,000 flame-graph nodes (generated like bench ingest's profiles). Prints
// one JSON line.
//
//   explain_benchmark REPO_TESTDATA_DIR SHARED_TESTDATA_DIR [RUNS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/file.h"
#include "bench/profile_gen.h"
#include "profile/flame_tree.h"
#include "profile/formats.h"
#include "profile/ops.h"
#include "query/explain.h"

using namespace stackhouse;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: explain_benchmark REPO_TESTDATA_DIR SHARED_TESTDATA_DIR [RUNS]\n");
    return 2;
  }
  std::string testdata = argv[1];
  int runs = argc > 3 ? std::atoi(argv[3]) : 21;
  // Accuracy.
  auto text = ReadFile(testdata + "/explain/labels.json");
  if (!text.ok()) {
    std::fprintf(stderr, "%s\n", text.status().ToString().c_str());
    return 1;
  }
  auto labels = nlohmann::json::parse(*text);
  auto load = [&](const std::string& f) {
    auto p = profile::ReadProfile(*ReadFile(testdata + "/explain/profiles/" + f), std::nullopt);
    return p.ok() ? std::move(*p) : profile::Profile();
  };
  int right = 0, total = 0;
  for (const auto& c : labels["cases"]) {
    profile::Profile p = load(c["file"]);
    query::ExplainOptions o;
    if (c.contains("sample_type")) o.type_index = p.FindSampleType(c["sample_type"].get<std::string>());
    auto e = c.contains("baseline") ? query::ExplainDiff(load(c["baseline"]), p, o) : query::Explain(p, o);
    ++total;
    if (!e.ok() || e->findings.empty()) {
      std::fprintf(stderr, "miss: %s (no findings)\n", c["file"].get<std::string>().c_str());
      continue;
    }
    const auto& top = e->findings[0];
    bool named = std::find(top.functions.begin(), top.functions.end(), c["function"]) != top.functions.end() ||
                 std::find(top.path.begin(), top.path.end(), c["function"]) != top.path.end();
    if (top.category == c["category"] && named) {
      ++right;
    } else {
      std::fprintf(stderr, "miss: %s: %s\n", c["file"].get<std::string>().c_str(), top.title.c_str());
    }
  }
  // Speed: merge generated profiles until the flame graph has ~100,000 nodes.
  bench::GenOptions go;
  go.functions = 3000;
  go.live_stacks = 8000;
  go.min_depth = 20;
  go.max_depth = 39;
  go.ticks_per_profile = 20000;
  bench::ServiceGenerator g("big", bench::TestdataFunctionNames(argv[2]), go);
  profile::Profile big = g.Next(0);
  size_t nodes = profile::FlameTree::FromProfile(big, 0).nodes().size();
  for (int i = 1; nodes < 100000 && i < 200; ++i) {
    profile::Profile next = g.Next(0);
    const profile::Profile* both[] = {&big, &next};
    big = *profile::Merge(both);
    nodes = profile::FlameTree::FromProfile(big, 0).nodes().size();
  }
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t = std::chrono::steady_clock::now();
    auto e = query::Explain(big);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count());
    if (!e.ok()) return 1;
  }
  std::sort(ms.begin(), ms.end());
  std::printf("{\"accuracy_pct\":%.1f,\"cases\":%d,\"right\":%d,\"p50_ms\":%.1f,\"nodes\":%zu,\"samples\":%zu,"
              "\"targets\":{\"accuracy_pct\":90,\"p50_ms\":200},\"met\":%s}\n",
              100.0 * right / std::max(total, 1), total, right, ms[ms.size() / 2], nodes, big.samples.size(),
              (100.0 * right / std::max(total, 1) >= 90 && ms[ms.size() / 2] <= 200) ? "true" : "false");
  return 0;
}
