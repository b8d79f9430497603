#include "profile/testing/ground_truth.h"

#include <sstream>

#include "base/strings.h"
#include "base/testing/testing.h"

namespace stackhouse::profile::testing {

GroundTruth ReadGroundTruth(const std::string& path) {
  GroundTruth gt;
  std::istringstream in(stackhouse::testing::ReadOrDie(path));
  std::string line;
  std::string current_top;
  while (std::getline(in, line)) {
    std::string_view t = TrimSpace(line);
    if (t.starts_with("total ") && t.find(" = ") != std::string_view::npos && t.find('/') != std::string_view::npos) {
      size_t eq = t.find(" = ");
      std::string key(TrimSpace(t.substr(6, eq - 6)));
      if (key.find("total") != std::string::npos) continue;
      auto v = ParseInt64(TrimSpace(t.substr(eq + 3)));
      if (v) gt.totals.emplace(key, *v);  // the first (go tool pprof -raw) wins
      current_top.clear();
      continue;
    }
    if (t.starts_with("top ") && t.find(" by flat ") != std::string_view::npos && t.ends_with(":")) {
      size_t by = t.find(" by flat ");
      current_top = std::string(t.substr(by + 9, t.size() - by - 10));
      if (gt.top_flat.count(current_top)) current_top = "#dup";
      continue;
    }
    if (!current_top.empty()) {
      size_t tab = t.find('\t');
      auto v = tab == std::string_view::npos ? std::nullopt : ParseInt64(t.substr(0, tab));
      if (!v) {
        current_top.clear();
        continue;
      }
      if (current_top != "#dup") {
        gt.top_flat[current_top].push_back({*v, std::string(t.substr(tab + 1))});
      }
    }
  }
  return gt;
}

std::vector<std::string> PprofTestdataNames() {
  return {"go_cpu.pb.gz",  "go_heap.pb.gz", "go_mutex.pb.gz", "go_block.pb.gz",
          "gperftools_cpu.pb.gz", "node_1.pb.gz", "node_2.pb.gz", "node_3.pb.gz",
          "node_4.pb.gz",  "node_5.pb.gz"};
}

}  // namespace stackhouse::profile::testing
