// Interoperability: what our pprof encoder writes must be read back by an
// independent decoder, `go tool pprof` (Debian's golang-go), with the same
// totals. Covers re-encoded testdata and every readable format converted to
// pprof.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/formats.h"
#include "profile/pprof.h"

namespace stackhouse::profile {
namespace {

using stackhouse::testing::MakeTempDir;
using stackhouse::testing::ReadOrDie;
using stackhouse::testing::RunCommand;
using stackhouse::testing::SharedTestdata;

// Sums of each value column of `go tool pprof -raw FILE`.
std::vector<int64_t> GoPprofTotals(const std::string& path) {
  auto r = RunCommand({"/usr/bin/go", "tool", "pprof", "-raw", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  bool in_samples = false, header = false;
  std::vector<int64_t> totals;
  while (std::getline(in, line)) {
    if (line == "Samples:") {
      in_samples = header = true;
      continue;
    }
    if (!in_samples) continue;
    if (header) {  // "samples/count cpu/nanoseconds"
      totals.assign(Split(std::string(TrimSpace(line)), ' ').size(), 0);
      header = false;
      continue;
    }
    if (!line.empty() && line[0] != ' ') break;  // "Locations"
    size_t colon = line.find(':');
    std::string_view values = TrimSpace(std::string_view(line).substr(0, colon));
    if (colon == std::string::npos || values.empty() || !(isdigit(values[0]) || values[0] == '-')) {
      continue;  // a label line
    }
    size_t k = 0;
    for (std::string_view v : Split(values, ' ')) {
      if (v.empty()) continue;
      auto n = ParseInt64(v);
      EXPECT_TRUE(n.has_value()) << line;
      if (n && k < totals.size()) totals[k++] += *n;
    }
  }
  return totals;
}

std::vector<int64_t> Totals(const Profile& p) {
  std::vector<int64_t> t;
  for (size_t i = 0; i < p.num_types(); ++i) t.push_back(p.Total(i));
  return t;
}

class InteropTest : public ::testing::TestWithParam<std::string> {};

TEST_P(InteropTest, GoPprofReadsOurEncodingWithTheSameTotals) {
  auto p = ReadProfile(ReadOrDie(SharedTestdata(GetParam())), std::nullopt);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::string path = MakeTempDir() + "/out.pb.gz";
  std::ofstream(path, std::ios::binary) << EncodePprofGzip(*p);
  EXPECT_EQ(GoPprofTotals(path), Totals(*p)) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Testdata, InteropTest,
                         ::testing::Values("go_cpu.pb.gz", "go_heap.pb.gz", "go_mutex.pb.gz",
                                           "go_block.pb.gz", "gperftools_cpu.pb.gz",
                                           "node_1.pb.gz", "node_2.pb.gz", "folded.txt",
                                           "perf_folded.txt", "perf_script.txt",
                                           "gperftools_cpu.prof"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace stackhouse::profile
