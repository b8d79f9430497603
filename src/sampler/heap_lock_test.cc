// Heap, lock and wall profiles of libstackhouse against workloads with a
// known truth.
#include <gtest/gtest.h>

#include "base/file.h"
#include "sampler/testing/sampler_testing.h"

namespace stackhouse::sampler::testing {
namespace {

// Runs a heap workload (1 GiB per call site: about 2,000 samples each at the
// default mean of 512 KiB, so the estimates' spread is about 2%) and checks
// its first profile, taken while KeepAlive's blocks were live, against the
// truth.
void CheckHeapEstimates(const std::string& mode, Env env) {
  std::string dir = stackhouse::testing::MakeTempDir();
  // The profiler's own accounting, to tell a biased estimate from samples
  // the ring dropped (its consumer starved of CPU).
  env.push_back({"WORKLOAD_STATS", dir + "/stats.json"});
  auto res = RunWorkload({mode, "1024"}, env, dir);
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto stats = ReadFile(dir + "/stats.json");
  const std::string why = mode + ", ring_dropped " +
                          (stats.ok() ? std::to_string(JsonField(*stats, "ring_dropped")) : "?");
  double truth = JsonField(res.out, "keep_bytes");
  ASSERT_GT(truth, 0);
  auto profiles = ReadProfiles(dir, "heap");
  ASSERT_FALSE(profiles.empty()) << res.err;
  std::vector<profile::Profile> first(profiles.begin(), profiles.begin() + 1);
  for (const auto& p : profiles) {
    if (p.time_nanos < first[0].time_nanos) first[0] = p;
  }
  double keep_alloc = SumWhereStackHas(first, "alloc_space", "KeepAlive");
  double churn_alloc = SumWhereStackHas(first, "alloc_space", "Churn");
  double keep_inuse = SumWhereStackHas(first, "inuse_space", "KeepAlive");
  double churn_inuse = SumWhereStackHas(first, "inuse_space", "Churn");
  EXPECT_NEAR(keep_alloc / truth, 1.0, 0.10) << why;
  EXPECT_NEAR(churn_alloc / truth, 1.0, 0.10) << why;
  EXPECT_NEAR(keep_inuse / truth, 1.0, 0.10) << why;
  EXPECT_LT(churn_inuse, 0.01 * truth) << why;  // freed at once
  double keep_objects = SumWhereStackHas(first, "alloc_objects", "KeepAlive");
  EXPECT_NEAR(keep_objects / (truth / 65536), 1.0, 0.10) << why;
}

TEST(SamplerHeapTest, AllocAndInuseSpaceMatchWithinTenPercent) {
  CheckHeapEstimates("heap", {{"STACKHOUSE_PROFILES", "heap"}, {"STACKHOUSE_UPLOAD_INTERVAL", "60s"}});
}

// The allocation hooks read no on/off switch: while heap profiling is off a
// thread's byte budget is only re-armed every 4 MiB. Turned on later (the
// profiler restarted from the C API), the estimates are as good.
TEST(SamplerHeapTest, HeapProfilingTurnedOnLaterIsUnbiased) {
  CheckHeapEstimates("heaplate", {{"STACKHOUSE_PROFILES", "cpu"}, {"STACKHOUSE_UPLOAD_INTERVAL", "60s"}});
}

// Sampled blocks are page-aligned and reused after they are freed: every
// allocation function must still keep its promises with most blocks sampled.
TEST(SamplerHeapTest, AllocationFunctionsKeepTheirPromisesWhenSampled) {
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"allocheck", "60000", "3"},
                         {{"STACKHOUSE_PROFILES", "heap"}, {"STACKHOUSE_HEAP_SAMPLE_BYTES", "8192"},
                          {"STACKHOUSE_UPLOAD_INTERVAL", "60s"}},
                         dir);
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("\"failures\":0"), std::string::npos) << res.out;
  // Heap sampling was really on: the profile has many allocation samples.
  auto profiles = ReadProfiles(dir, "heap");
  ASSERT_FALSE(profiles.empty()) << res.err;
  double objects = SumWhereStackHas(profiles, "alloc_objects", "AllocCheck");
  EXPECT_GT(objects, 1000);
}

TEST(SamplerLockTest, ContendedMutexShowsItsCallSite) {
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"lock", "2", "4"}, {{"STACKHOUSE_PROFILES", "lock"}}, dir);
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto profiles = ReadProfiles(dir, "lock");
  ASSERT_FALSE(profiles.empty()) << res.err;
  double all = SumWhereStackHas(profiles, "delay", "");
  double at_site = SumWhereStackHas(profiles, "delay", "ContendedSection");
  double contentions = SumWhereStackHas(profiles, "contentions", "ContendedSection");
  EXPECT_GT(contentions, 10);
  // 4 threads on one lock for 2 s: most of their time is waiting.
  EXPECT_GT(at_site, 1e9);
  EXPECT_GT(at_site / all, 0.9);
  // The leaf is the call site itself (our interposer is not in the stack).
  EXPECT_GT(SumWhereLeafIs(profiles, "delay", "ContendedSection"), 0.9 * at_site);
}

TEST(SamplerWallTest, SleepingThreadsShowUp) {
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"wall", "2"}, {{"STACKHOUSE_PROFILES", "cpu,wall"}}, dir);
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto wall = ReadProfiles(dir, "wall");
  auto cpu = ReadProfiles(dir, "cpu");
  ASSERT_FALSE(wall.empty()) << res.err;
  double sleeping = SumWhereStackHas(wall, "wall", "SleepyWait");
  double burning = SumWhereStackHas(wall, "wall", "BurnA");
  // Each thread accounts for about 2 s of wall time.
  EXPECT_NEAR(sleeping / 2e9, 1.0, 0.25);
  EXPECT_NEAR(burning / 2e9, 1.0, 0.25);
  // The CPU profile has the burner and not the sleeper (the burner's CPU
  // time depends on how busy the machine is: at least a sixth of its 2 s).
  EXPECT_EQ(SumWhereStackHas(cpu, "cpu", "SleepyWait"), 0);
  EXPECT_GT(SumWhereStackHas(cpu, "cpu", "BurnA"), 0.33e9);
}

}  // namespace
}  // namespace stackhouse::sampler::testing
