// The C API in-process: lifecycle, errors, labels, flush, duty cycling.
#include <dirent.h>
#include <gtest/gtest.h>
#include <time.h>

#include <string>

#include "base/testing/testing.h"
#include "profile/pprof.h"
#include "sampler/labels.h"
#include "sampler/testing/burn.h"
#include "stackhouse/stackhouse.h"

namespace stackhouse::sampler {
namespace {

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.ends_with(".pb.gz")) out.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  return out;
}

TEST(ApiTest, ErrorsAreReportedNotFatal) {
  stackhouse_config c{};
  c.sample_rate_hz = 5000;
  EXPECT_EQ(stackhouse_start(&c), -1);
  EXPECT_NE(std::string(stackhouse_last_error()).find("outside 1..1000"), std::string::npos);
  c = stackhouse_config{};
  c.server_address = "localhost:4040";
  EXPECT_EQ(stackhouse_start(&c), -1);
  EXPECT_NE(std::string(stackhouse_last_error()).find("http://"), std::string::npos);
  EXPECT_EQ(stackhouse_running(), 0);
  EXPECT_EQ(stackhouse_flush(0), -1);
  EXPECT_NE(std::string(stackhouse_last_error()).find("not running"), std::string::npos);
  EXPECT_STREQ(stackhouse_stats_json(), "{}");
  EXPECT_EQ(stackhouse_stop(), 0);  // stopping when stopped is fine
  EXPECT_EQ(stackhouse_label_set(nullptr, "x"), -1);
  EXPECT_EQ(stackhouse_label_set("", "x"), -1);
}

TEST(ApiTest, StartFlushStopWithLabels) {
  std::string dir = stackhouse::testing::MakeTempDir();
  stackhouse_config c{};
  c.application_name = "api-test";
  c.output_dir = dir.c_str();
  c.upload_interval_ms = 60000;  // only flushes cut intervals here
  ASSERT_EQ(stackhouse_start(&c), 0) << stackhouse_last_error();
  EXPECT_EQ(stackhouse_running(), 1);
  EXPECT_EQ(stackhouse_start(&c), -1);
  EXPECT_NE(std::string(stackhouse_last_error()).find("already running"), std::string::npos);
  {
    stackhouse::ScopedLabel outer("endpoint", "/outer");
    {
      stackhouse::ScopedLabel inner("endpoint", "/inner");
      testing::BurnA(200);
    }
    LabelPairs pairs;
    ASSERT_TRUE(ResolveLabelSet(CurrentLabelSet(), &pairs));
    ASSERT_EQ(pairs.size(), 1u);
    EXPECT_EQ(pairs[0].second, "/outer");  // restored
    testing::BurnB(200);
  }
  EXPECT_EQ(CurrentLabelSet(), 0u);
  ASSERT_EQ(stackhouse_flush(10000), 0) << stackhouse_last_error();
  std::string stats = stackhouse_stats_json();
  EXPECT_NE(stats.find("\"intervals\":1"), std::string::npos) << stats;
  EXPECT_EQ(stackhouse_stop(), 0);
  EXPECT_EQ(stackhouse_running(), 0);

  auto files = Files(dir);
  ASSERT_EQ(files.size(), 1u);
  auto p = profile::DecodePprof(stackhouse::testing::ReadOrDie(files[0]));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  int64_t inner = 0, outer = 0;
  int cpu = p->FindSampleType("cpu");
  for (size_t i = 0; i < p->samples.size(); ++i) {
    for (const profile::Label& l : p->sample_labels(i)) {
      if (p->str(l.str) == "/inner") inner += p->sample_values(i)[cpu];
      if (p->str(l.str) == "/outer") outer += p->sample_values(i)[cpu];
    }
  }
  EXPECT_GT(inner, 0);
  EXPECT_GT(outer, 0);
}

TEST(ApiTest, DutyCycleSaysWhatWasCovered) {
  std::string dir = stackhouse::testing::MakeTempDir();
  stackhouse_config c{};
  c.output_dir = dir.c_str();
  c.upload_interval_ms = 60000;
  c.duty_on_ms = 300;
  c.duty_period_ms = 1000;
  ASSERT_EQ(stackhouse_start(&c), 0) << stackhouse_last_error();
  timespec end, cpu_start, cpu_end;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_start);
  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += 2;
  for (;;) {
    testing::BurnA(10);
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec)) break;
  }
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu_end);
  ASSERT_EQ(stackhouse_stop(), 0);
  auto files = Files(dir);
  ASSERT_EQ(files.size(), 1u);
  auto p = profile::DecodePprof(stackhouse::testing::ReadOrDie(files[0]));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->comments.size(), 1u);
  EXPECT_NE(p->str(p->comments[0]).find("stackhouse: sampled"), std::string_view::npos);
  // About 30% of the time was covered, and the CPU samples say the same
  // share of the CPU the process got (on a busy machine it gets less than
  // the 2 s of wall time).
  double covered = static_cast<double>(p->duration_nanos);
  EXPECT_GT(covered, 0.3e9);
  EXPECT_LT(covered, 1.2e9);
  double cpu = static_cast<double>(p->Total(p->FindSampleType("cpu")));
  double process_cpu = (cpu_end.tv_sec - cpu_start.tv_sec) * 1e9 + (cpu_end.tv_nsec - cpu_start.tv_nsec);
  ASSERT_GT(process_cpu, 0.2e9);
  EXPECT_NEAR(cpu / process_cpu, 0.3, 0.15) << "sampled " << cpu << " ns of " << process_cpu;
}

TEST(ApiTest, ProcessFractionCanLeaveAProcessOut) {
  stackhouse_config c{};
  c.process_fraction = 1e-12;
  EXPECT_EQ(stackhouse_start(&c), 0);  // not an error: just not selected
  EXPECT_EQ(stackhouse_running(), 0);
}

}  // namespace
}  // namespace stackhouse::sampler
