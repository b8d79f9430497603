// CPU accuracy of libstackhouse against a workload whose split is known:
// two threads burn CPU in BurnA and BurnB (both call the leaf Spin) in a
// 30/70 ratio that the workload measures with its thread CPU clocks.
#include <gtest/gtest.h>

#include <cmath>

#include "sampler/testing/sampler_testing.h"

namespace stackhouse::sampler::testing {
namespace {

struct CpuRun {
  double truth_a = 0;      // share of BurnA by the workload's own clocks
  double profile_a = 0;    // share of BurnA in the profile
  double truth_total_ns = 0;
  double profile_total_ns = 0;
  std::vector<profile::Profile> profiles;
  std::string out;
};

CpuRun RunCpu(bool fp, const Env& env, double seconds = 5) {
  CpuRun r;
  std::string dir = stackhouse::testing::MakeTempDir();
  Env e = env;
  e.push_back({"STACKHOUSE_APPLICATION_NAME", "burn"});
  auto res = RunWorkload({"cpu", std::to_string(seconds), "2"}, e, dir, fp);
  EXPECT_EQ(res.exit_code, 0) << res.err;
  r.out = res.out;
  double a = JsonField(res.out, "a_ns"), b = JsonField(res.out, "b_ns");
  r.truth_a = a / (a + b);
  r.truth_total_ns = JsonField(res.out, "threads_cpu_ns");
  r.profiles = ReadProfiles(dir, "cpu");
  EXPECT_FALSE(r.profiles.empty()) << "no cpu profiles written; stderr: " << res.err;
  double pa = SumWhereStackHas(r.profiles, "cpu", "BurnA");
  double pb = SumWhereStackHas(r.profiles, "cpu", "BurnB");
  r.profile_a = pa / (pa + pb);
  // The burning threads' CPU: samples with either burner on the stack.
  r.profile_total_ns = pa + pb;
  return r;
}

void ExpectAccurate(const CpuRun& r, double total_tolerance) {
  EXPECT_NEAR(r.truth_a, 0.30, 0.03) << "the workload itself is off: " << r.out;
  EXPECT_NEAR(r.profile_a, r.truth_a, 0.05) << r.out;
  EXPECT_NEAR(r.profile_total_ns / r.truth_total_ns, 1.0, total_tolerance)
      << "profile " << r.profile_total_ns << " ns vs getrusage " << r.truth_total_ns << " ns";
}

TEST(SamplerCpuTest, SplitAndTotalWithFramePointers) {
  CpuRun r = RunCpu(/*fp=*/true, {});
  ExpectAccurate(r, 0.05);
  // Spin is the leaf of nearly every burner sample.
  EXPECT_GT(SumWhereLeafIs(r.profiles, "cpu", "Spin"), 0.9 * r.profile_total_ns);
}

TEST(SamplerCpuTest, SplitAndTotalWithoutFramePointers) {
  // BurnA/BurnB/Spin are built with -fomit-frame-pointer: only the
  // .eh_frame unwinder can tell which of them called Spin.
  CpuRun r = RunCpu(/*fp=*/false, {});
  ExpectAccurate(r, 0.05);
}

TEST(SamplerCpuTest, FramePointerOnlyModeLosesCallersWithoutFramePointers) {
  // The control experiment: without CFI the callers of Spin are lost, so
  // the test above really exercises DWARF unwinding.
  CpuRun r = RunCpu(/*fp=*/false, {{"STACKHOUSE_UNWIND", "fp"}}, 2);
  double attributed = r.profile_total_ns;
  double all = SumWhereStackHas(r.profiles, "cpu", "");
  EXPECT_LT(attributed, 0.5 * all);
}

TEST(SamplerCpuTest, CtimerEngine) {
  CpuRun r = RunCpu(true, {{"STACKHOUSE_ENGINE", "ctimer"}}, 3);
  // POSIX CPU timers fire on scheduler ticks: totals are a little looser.
  ExpectAccurate(r, 0.10);
}

TEST(SamplerCpuTest, ItimerEngine) {
  CpuRun r = RunCpu(true, {{"STACKHOUSE_ENGINE", "itimer"}}, 3);
  ExpectAccurate(r, 0.15);
}

TEST(SamplerCpuTest, ThreadLabelsSplitTheSamples) {
  CpuRun r = RunCpu(true, {{"WORKLOAD_LABELS", "1"}}, 2);
  int64_t with_a = 0, a_and_burn_a = 0;
  for (const profile::Profile& p : r.profiles) {
    int t = p.FindSampleType("cpu");
    for (size_t i = 0; i < p.samples.size(); ++i) {
      bool label_a = false;
      for (const profile::Label& l : p.sample_labels(i)) {
        if (p.str(l.key) == "endpoint" && p.str(l.str) == "/a") label_a = true;
      }
      if (!label_a) continue;
      with_a += p.sample_values(i)[t];
      std::vector<profile::Profile> one;
      bool has_burn_a = false;
      for (uint32_t loc : p.sample_stack(i)) {
        for (const profile::Line& line : p.location_lines(p.locations[loc])) {
          if (p.str(p.function(line.function)->name).find("BurnA") != std::string_view::npos) has_burn_a = true;
        }
      }
      if (has_burn_a) a_and_burn_a += p.sample_values(i)[t];
    }
  }
  ASSERT_GT(with_a, 0);
  EXPECT_GT(static_cast<double>(a_and_burn_a) / with_a, 0.95);
}

TEST(SamplerCpuTest, ProfilesCarrySymbolsLinesAndBuildIds) {
  CpuRun r = RunCpu(true, {}, 1);
  ASSERT_FALSE(r.profiles.empty());
  const profile::Profile& p = r.profiles[0];
  EXPECT_EQ(p.str(p.period_type.type), "cpu");
  EXPECT_EQ(p.period, 10000000);
  bool found_line = false, found_build_id = false;
  for (const profile::Function& f : p.functions) {
    if (p.str(f.name).find("stackhouse::sampler::testing::Spin") != std::string_view::npos &&
        p.str(f.filename).ends_with("burn.cc")) {
      found_line = true;
    }
  }
  for (const profile::Mapping& m : p.mappings) {
    if (p.str(m.filename).ends_with("sampler_workload") && p.str(m.build_id).size() == 40) found_build_id = true;
  }
  EXPECT_TRUE(found_line);
  EXPECT_TRUE(found_build_id);
}

}  // namespace
}  // namespace stackhouse::sampler::testing
