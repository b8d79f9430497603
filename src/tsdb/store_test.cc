#include "tsdb/store.h"

#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/folded.h"
#include "profile/pprof.h"
#include "tsdb/merge.h"
#include "tsdb/testing/store_testing.h"

namespace stackhouse::tsdb {
namespace {

using testing::Eq;
using testing::FoldedProfile;
using testing::Labels;
using testing::MergedFolded;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kHour = 3600 * kSec;
constexpr int64_t kT0 = 1'704'067'200 * kSec;  // 2024-01-01 00:00 UTC

class StoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.dir = "/data";
    o.env = &env_;
    o.background = false;
    o.log = [this](const std::string& line) { log_.push_back(line); };
    return o;
  }
  std::unique_ptr<Store> OpenStore(StoreOptions o) {
    auto s = Store::Open(std::move(o));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::unique_ptr<Store> OpenStore() { return OpenStore(Options()); }

  static Selection Sel(std::vector<std::string> eq, int64_t from = INT64_MIN,
                       int64_t to = INT64_MAX, std::string tenant = "t1") {
    Selection s;
    s.tenant = tenant;
    s.matchers = Eq(eq);
    s.range = {from, to};
    return s;
  }

  bool LogContains(const std::string& needle) const {
    for (const auto& l : log_) {
      if (l.find(needle) != std::string::npos) return true;
    }
    return false;
  }

  MemEnv env_;
  std::vector<std::string> log_;
};

TEST_F(StoreTest, AppendQueryCutReopen) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto go_cpu = profile::DecodePprof(stackhouse::testing::ReadOrDie(
      stackhouse::testing::SharedTestdata("go_cpu.pb.gz")));
  ASSERT_TRUE(go_cpu.ok());
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "ledger"}}), *go_cpu).ok());

  // Two series, one per sample type.
  std::vector<profile::LabelSet> series;
  ASSERT_TRUE(store->GetSnapshot()->SelectSeries(Sel({"service_name=ledger"}), &series).ok());
  ASSERT_EQ(series.size(), 2u);
  std::set<std::string> types;
  ASSERT_TRUE(store->GetSnapshot()->LabelValues(Sel({}), "__profile_type__", &types).ok());
  EXPECT_EQ(types, (std::set<std::string>{"process_cpu:cpu:nanoseconds:cpu:nanoseconds",
                                          "process_cpu:samples:count:cpu:nanoseconds"}));

  Selection samples = Sel({"__profile_type__=process_cpu:samples:count:cpu:nanoseconds"});
  std::string expected = profile::WriteFolded(*go_cpu, 0);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), samples), expected);

  // The same from a block.
  ASSERT_TRUE(store->CutHead().ok());
  EXPECT_EQ(store->stats().blocks, 1u);
  EXPECT_EQ(store->stats().head_profiles, 0u);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), samples), expected);

  // And after reopening: one profile in a block, one in the WAL.
  auto second = FoldedProfile("main;work 7\n", go_cpu->time_nanos + kSec);
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "ledger"}}), second).ok());
  ASSERT_TRUE(store->Close().ok());
  store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->stats().blocks, 1u);
  EXPECT_EQ(store->stats().head_profiles, 1u);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), samples), expected);
  Selection cpu = Sel({"__profile_type__=process_cpu:cpu:nanoseconds:cpu:nanoseconds"});
  FlameTreeSink sink;
  ASSERT_TRUE(store->GetSnapshot()->MergeStacks(cpu, &sink).ok());
  EXPECT_EQ(sink.total(), 5140000000 + 7);
}

TEST_F(StoreTest, SampleLabelsBecomeSeriesAndTenantsAreIsolated) {
  auto store = OpenStore();
  auto node = profile::DecodePprof(stackhouse::testing::ReadOrDie(
      stackhouse::testing::SharedTestdata("node_1.pb.gz")));
  ASSERT_TRUE(node.ok());
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "invoices"}}), *node).ok());
  std::set<std::string> regions;
  ASSERT_TRUE(store->GetSnapshot()->LabelValues(Sel({}), "region", &regions).ok());
  EXPECT_EQ(regions, (std::set<std::string>{"eu", "us"}));
  for (bool cut : {false, true}) {
    if (cut) ASSERT_TRUE(store->CutHead().ok());
    int64_t totals[2];
    int k = 0;
    for (const char* region : {"region=eu", "region=us"}) {
      FlameTreeSink sink;
      ASSERT_TRUE(store->GetSnapshot()
                      ->MergeStacks(Sel({region, "__profile_type__=wall:samples:count:wall:nanoseconds"}),
                                    &sink)
                      .ok());
      totals[k++] = sink.total();
    }
    EXPECT_EQ(totals[0], 479);
    EXPECT_EQ(totals[1], 473);
    // Everything (labelled or not) adds up to the profile's total.
    FlameTreeSink all;
    ASSERT_TRUE(store->GetSnapshot()
                    ->MergeStacks(Sel({"__profile_type__=wall:samples:count:wall:nanoseconds"}), &all)
                    .ok());
    EXPECT_EQ(all.total(), 973);
    // Another tenant sees nothing.
    FlameTreeSink other;
    ASSERT_TRUE(store->GetSnapshot()->MergeStacks(Sel({}, INT64_MIN, INT64_MAX, "t2"), &other).ok());
    EXPECT_EQ(other.total(), 0);
    std::vector<profile::LabelSet> series;
    ASSERT_TRUE(store->GetSnapshot()->SelectSeries(Sel({}, INT64_MIN, INT64_MAX, "t2"), &series).ok());
    EXPECT_TRUE(series.empty());
  }
}

TEST_F(StoreTest, TimeRangesTotalsAndDownsampledAggregates) {
  auto store = OpenStore();
  // Three hours of profiles every 10 s, two services.
  std::string a = "main;serve;parse 3\nmain;serve;render 2\nmain;gc 1\n";
  std::string b = "main;poll 5\n";
  for (int64_t t = kT0; t < kT0 + 3 * kHour; t += 10 * kSec) {
    ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "web"}}), FoldedProfile(a, t)).ok());
    ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "db"}}), FoldedProfile(b, t)).ok());
  }
  // Reference results from the head.
  std::vector<Selection> queries = {
      Sel({"service_name=web"}),
      Sel({"service_name=web"}, kT0, kT0 + kHour),
      Sel({"service_name=web"}, kT0 + 5 * 60 * kSec, kT0 + 2 * kHour + 7 * 60 * kSec),
      Sel({}, kT0 + kHour, kT0 + 3 * kHour),
      Sel({}, kT0 + 30 * kSec, kT0 + 40 * kSec),
  };
  std::vector<std::string> expected;
  for (const auto& q : queries) expected.push_back(MergedFolded(*store->GetSnapshot(), q));
  EXPECT_EQ(expected[1], "main;gc 360\nmain;serve;parse 1080\nmain;serve;render 720\n");
  EXPECT_EQ(expected[4], "main;gc 1\nmain;poll 5\nmain;serve;parse 3\nmain;serve;render 2\n");

  TotalsRequest req;
  req.step = kHour;
  req.group_by = {"service_name"};
  TotalsResult totals(kT0, kT0 + 3 * kHour, kHour);
  ASSERT_TRUE(store->GetSnapshot()->Totals(Sel({}), req, &totals).ok());
  ASSERT_EQ(totals.groups().size(), 2u);
  EXPECT_EQ(totals.groups().at("web"), (std::vector<int64_t>{360 * 6, 360 * 6, 360 * 6}));
  EXPECT_EQ(totals.groups().at("db"), (std::vector<int64_t>{360 * 5, 360 * 5, 360 * 5}));

  // Blocks (with hourly aggregates) give the same answers, before and after
  // compaction into one 24 h block.
  ASSERT_TRUE(store->CutHead().ok());
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_EQ(MergedFolded(*store->GetSnapshot(), queries[i]), expected[i]) << i;
  }
  StoreOptions o = Options();
  o.compaction_windows = {kHour, 24 * kHour};
  ASSERT_TRUE(store->Close().ok());
  store = OpenStore(o);
  ASSERT_TRUE(store->Compact().ok());
  for (size_t i = 0; i < queries.size(); ++i) {
    EXPECT_EQ(MergedFolded(*store->GetSnapshot(), queries[i]), expected[i]) << i;
  }
  TotalsResult again(kT0, kT0 + 3 * kHour, kHour);
  ASSERT_TRUE(store->GetSnapshot()->Totals(Sel({}), req, &again).ok());
  EXPECT_EQ(again.groups(), totals.groups());
}

TEST_F(StoreTest, TotalsGroupByLabelsAndCountProfiles) {
  auto store = OpenStore();
  for (int i = 0; i < 3; ++i) {
    int64_t t = kT0 + i * 10 * kSec;
    ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "web"}, {"pod", "a"}}),
                              FoldedProfile("main 2\n", t)).ok());
    ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "web"}, {"pod", "b"}}),
                              FoldedProfile("main 4\n", t)).ok());
    ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "db"}}),
                              FoldedProfile("main 1\n", t)).ok());
  }
  for (bool cut : {false, true}) {
    if (cut) ASSERT_TRUE(store->CutHead().ok());
    TotalsRequest req;
    req.step = kHour;
    req.group_by = {"service_name", "pod"};
    TotalsResult totals(kT0, kT0 + kHour, kHour);
    ASSERT_TRUE(store->GetSnapshot()->Totals(Sel({}), req, &totals).ok());
    const char sep = TotalsRequest::kGroupSeparator;
    std::map<std::string, std::vector<int64_t>> want_sums = {
        {std::string("web") + sep + "a", {6}},
        {std::string("web") + sep + "b", {12}},
        {std::string("db") + sep, {3}}};
    EXPECT_EQ(totals.groups(), want_sums) << cut;
    for (const auto& [g, c] : totals.counts()) EXPECT_EQ(c, std::vector<int64_t>{3}) << g;
  }
}

TEST_F(StoreTest, CallSiteFilterKeepsStacksUnderThePrefix) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "web"}}),
                            FoldedProfile("main;serve;parse 3\nmain;serve 2\nmain;gc 1\n"
                                          "serve;parse 7\n", kT0)).ok());
  for (bool cut : {false, true}) {
    if (cut) ASSERT_TRUE(store->CutHead().ok());
    auto focus = [&](std::vector<std::string> call_site) {
      ProfileSink sink("cpu", "nanoseconds");
      CallSiteFilterSink filter(std::move(call_site), &sink);
      EXPECT_TRUE(store->GetSnapshot()->MergeStacks(Sel({}), &filter).ok());
      return profile::WriteFolded(sink.Finish(), 0);
    };
    EXPECT_EQ(focus({"main", "serve"}), "main;serve 2\nmain;serve;parse 3\n") << cut;
    EXPECT_EQ(focus({"main", "serve", "parse"}), "main;serve;parse 3\n") << cut;
    EXPECT_EQ(focus({"serve"}), "serve;parse 7\n") << cut;
    EXPECT_EQ(focus({"nope"}), "") << cut;
    EXPECT_EQ(focus({}), "main;gc 1\nmain;serve 2\nmain;serve;parse 3\nserve;parse 7\n") << cut;
  }
}

// A block answers for a series with a few stacks in a partition of many
// (the merge sorts the few touched nodes) as for one touching most of them
// (it scans the sums), as the head did.
TEST_F(StoreTest, BlockQueriesOfFewAndManyStacksOfAPartition) {
  auto store = OpenStore();
  std::string big;
  for (int i = 0; i < 200; ++i) {
    big += "main;f" + std::to_string(i % 17) + ";g" + std::to_string(i) + " " +
           std::to_string(i + 1) + "\n";
  }
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}, {"pod", "big"}}),
                            FoldedProfile(big, kT0))
                  .ok());
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}, {"pod", "small"}}),
                            FoldedProfile("main;f3;g3 5\nmain;other 2\n", kT0 + kSec))
                  .ok());
  Selection few = Sel({"pod=small"}), many = Sel({"pod=big"});
  std::string before_few = MergedFolded(*store->GetSnapshot(), few);
  std::string before_many = MergedFolded(*store->GetSnapshot(), many);
  EXPECT_EQ(before_few, "main;f3;g3 5\nmain;other 2\n");
  ASSERT_TRUE(store->CutHead().ok());
  EXPECT_EQ(store->stats().blocks, 1u);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), few), before_few);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), many), before_many);
}

TEST_F(StoreTest, CompactionMergesWindowsAndKeepsResults) {
  StoreOptions o = Options();
  o.compaction_windows = {2 * kHour, 24 * kHour};
  auto store = OpenStore(o);
  // Six hourly blocks.
  for (int h = 0; h < 6; ++h) {
    for (int64_t t = kT0 + h * kHour; t < kT0 + (h + 1) * kHour; t += 60 * kSec) {
      std::string folded = "main;h" + std::to_string(h) + ";work 2\nmain;common 1\n";
      ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}, {"env", "prod"}}),
                                FoldedProfile(folded, t))
                      .ok());
    }
    ASSERT_TRUE(store->CutHead().ok());
  }
  EXPECT_EQ(store->stats().blocks, 6u);
  Selection all = Sel({"env=prod"});
  Selection part = Sel({"service_name=svc"}, kT0 + 90 * 60 * kSec, kT0 + 4 * kHour);
  std::string before_all = MergedFolded(*store->GetSnapshot(), all);
  std::string before_part = MergedFolded(*store->GetSnapshot(), part);
  auto snapshot = store->GetSnapshot();  // an old reader keeps its blocks alive
  // Set the clock past the data so that every window is closed.
  env_.SetNowNanos(kT0 + 48 * kHour);
  ASSERT_TRUE(store->Compact().ok());
  // 2 h windows first (3 blocks), then one 24 h block.
  EXPECT_EQ(store->stats().blocks, 1u);
  EXPECT_GE(store->stats().compactions, 4u);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), all), before_all);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), part), before_part);
  EXPECT_EQ(MergedFolded(*snapshot, all), before_all);  // still readable
  snapshot.reset();
  ASSERT_TRUE(store->Compact().ok());  // deletes the replaced blocks now
  auto dirs = env_.ListDir("/data/tenants/t1/blocks");
  ASSERT_TRUE(dirs.ok());
  EXPECT_EQ(dirs->size(), 1u);
  // Reopen: the compacted block is all there is.
  ASSERT_TRUE(store->Close().ok());
  store = OpenStore(o);
  EXPECT_EQ(store->stats().blocks, 1u);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), all), before_all);
}

TEST_F(StoreTest, RetentionDeletesWholeExpiredBlocks) {
  StoreOptions o = Options();
  o.retention = 24 * kHour;
  o.compaction_windows = {};
  auto store = OpenStore(o);
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}}), FoldedProfile("a 1\n", kT0)).ok());
  ASSERT_TRUE(store->CutHead().ok());
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}}),
                            FoldedProfile("b 1\n", kT0 + 30 * kHour))
                  .ok());
  ASSERT_TRUE(store->CutHead().ok());
  env_.SetNowNanos(kT0 + 40 * kHour);
  ASSERT_TRUE(store->ApplyRetention().ok());
  EXPECT_EQ(store->stats().blocks, 1u);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), Sel({})), "b 1\n");
  EXPECT_TRUE(LogContains("retention deletes block"));
}

TEST_F(StoreTest, LimitsGiveDistinctCodes) {
  StoreOptions o = Options();
  o.limits.max_labels_per_series = 5;
  o.limits.max_samples_per_profile = 3;
  o.limits.max_series_per_tenant = 2;
  o.limits.max_label_value_length = 10;
  auto store = OpenStore(o);
  auto p = FoldedProfile("a 1\n", kT0);
  EXPECT_EQ(store->Append("t1", Labels({{"env", "x"}}), p).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Append("t1", Labels({{"service_name", "s"}, {"a", "1"}, {"b", "2"}, {"c", "3"}}), p)
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Append("t1", Labels({{"service_name", "s"}, {"v", "01234567890"}}), p).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Append("t1", Labels({{"service_name", "s"}}), FoldedProfile("a 1\nb 1\nc 1\nd 1\n", kT0))
                .code(),
            StatusCode::kOutOfRange);
  EXPECT_TRUE(store->Append("t1", Labels({{"service_name", "s1"}}), p).ok());
  EXPECT_TRUE(store->Append("t1", Labels({{"service_name", "s2"}}), p).ok());
  EXPECT_EQ(store->Append("t1", Labels({{"service_name", "s3"}}), p).code(),
            StatusCode::kResourceExhausted);
  // Values whose magnitudes add up past int64 (sums of them would overflow).
  auto huge = FoldedProfile("a 1\nb 1\n", kT0);
  huge.mutable_sample_values(0)[0] = INT64_MAX;
  EXPECT_EQ(store->Append("t1", Labels({{"service_name", "s1"}}), huge).code(),
            StatusCode::kInvalidArgument);
  huge.mutable_sample_values(1)[0] = 0;
  EXPECT_TRUE(store->Append("t1", Labels({{"service_name", "s1"}}), huge).ok());
  // Another tenant has its own budget; existing series still accept data.
  EXPECT_TRUE(store->Append("t2", Labels({{"service_name", "s3"}}), p).ok());
  EXPECT_TRUE(store->Append("t1", Labels({{"service_name", "s1"}}), p).ok());
}

TEST_F(StoreTest, AcknowledgedAppendsSurviveACrash) {
  auto store = OpenStore();
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}}),
                              FoldedProfile("main;f" + std::to_string(i % 7) + " 1\n", kT0 + i * kSec))
                    .ok());
    if (i == 20) ASSERT_TRUE(store->CutHead().ok());
  }
  std::string expected = MergedFolded(*store->GetSnapshot(), Sel({}));
  env_.DropUnsyncedData();  // power loss: only synced bytes remain
  store.reset();            // (its Close syncs files that are already gone)
  store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), Sel({})), expected);
}

TEST_F(StoreTest, AppendsAcknowledgedByCallbackSurviveACrash) {
  auto store = OpenStore();
  std::mutex mu;
  std::vector<std::string> acked;  // folded lines whose callback said OK
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string line = StrCat("main;t", t, ";f", i, " 1\n");
        auto ticket = store->AppendNoWait("t1", Labels({{"service_name", "svc"}}),
                                          FoldedProfile(line, kT0 + i * kSec));
        ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
        store->WhenDurable(*ticket, [&, line](Status s) {
          ASSERT_TRUE(s.ok()) << s.ToString();
          std::lock_guard<std::mutex> l(mu);
          acked.push_back(line);
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  // The callbacks come from the WAL's syncer; a Sync of the last ticket
  // means every one is due, and WaitDurable of an earlier one is at once.
  auto last = store->AppendNoWait("t1", Labels({{"service_name", "svc"}}),
                                  FoldedProfile("main;last 1\n", kT0));
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(store->WaitDurable(*last).ok());
  ASSERT_TRUE(store->WaitDurable(1).ok());
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard<std::mutex> l(mu);
      if (acked.size() == 100) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(acked.size(), 100u);
  env_.DropUnsyncedData();
  store.reset();
  store = OpenStore();
  ASSERT_TRUE(store);
  std::string got = MergedFolded(*store->GetSnapshot(), Sel({}));
  for (const std::string& line : acked) EXPECT_NE(got.find(line), std::string::npos) << line;
  EXPECT_NE(got.find("main;last 1\n"), std::string::npos);
}

TEST_F(StoreTest, FailedSyncReachesTheCallbackAndDisablesWrites) {
  FaultEnv faults(&env_);
  StoreOptions o = Options();
  o.env = &faults;
  auto store = OpenStore(o);
  faults.FailNext(FaultEnv::Op::kSync, 1, EIO, "/wal/");
  auto ticket = store->AppendNoWait("t1", Labels({{"service_name", "svc"}}), FoldedProfile("b 1\n", kT0));
  ASSERT_TRUE(ticket.ok());
  std::promise<Status> got;
  store->WhenDurable(*ticket, [&](Status s) { got.set_value(s); });
  Status s = got.get_future().get();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("not made durable"), std::string::npos) << s.message();
  EXPECT_EQ(store->AppendNoWait("t1", Labels({{"service_name", "svc"}}), FoldedProfile("c 1\n", kT0))
                .status()
                .code(),
            StatusCode::kUnavailable);
  (void)store->Close();  // reports the WAL's failure
  // After Close, a wait is answered at once with the store's failure.
  Status after;
  store->WhenDurable(*ticket, [&](Status s2) { after = s2; });
  EXPECT_EQ(after.code(), StatusCode::kUnavailable);
}

TEST_F(StoreTest, WalFaultsDisableWritesWithoutCorruption) {
  FaultEnv faults(&env_);
  StoreOptions o = Options();
  o.env = &faults;
  auto store = OpenStore(o);
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}}), FoldedProfile("a 1\n", kT0)).ok());
  faults.FailNext(FaultEnv::Op::kSync, 1, EIO, "/wal/");
  Status s = store->Append("t1", Labels({{"service_name", "svc"}}), FoldedProfile("b 1\n", kT0 + kSec));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("wal"), std::string::npos) << s.message();
  // Writes stay disabled; reads keep working.
  EXPECT_EQ(store->Append("t1", Labels({{"service_name", "svc"}}), FoldedProfile("c 1\n", kT0)).code(),
            StatusCode::kUnavailable);
  store.reset();
  store = OpenStore();  // on the underlying env, no faults
  std::string got = MergedFolded(*store->GetSnapshot(), Sel({}));
  EXPECT_TRUE(got == "a 1\n" || got == "a 1\nb 1\n") << got;
  EXPECT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}}), FoldedProfile("d 1\n", kT0)).ok());
}

TEST_F(StoreTest, DiskFullDuringCutKeepsDataAndReportsIt) {
  FaultEnv faults(&env_);
  StoreOptions o = Options();
  o.env = &faults;
  auto store = OpenStore(o);
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}}), FoldedProfile("a 5\n", kT0)).ok());
  faults.FailNext(FaultEnv::Op::kAppend, 1, ENOSPC, "/blocks/");
  Status s = store->CutHead();
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), Sel({})), "a 5\n");  // still served
  store.reset();
  store = OpenStore();  // the WAL still has it; the broken block is gone
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), Sel({})), "a 5\n");
  ASSERT_TRUE(store->CutHead().ok());
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), Sel({})), "a 5\n");
}

TEST_F(StoreTest, InterruptedWalCleanupAfterCutDoesNotReplayTwice) {
  // A head replayed on open keeps appending to the new WAL segment, which
  // has no generation marker of its own. A crash while a later cut deletes
  // the old segments (oldest first) can leave that segment behind: its
  // records are already in a block and must not come back.
  FaultEnv faults(&env_);
  StoreOptions o = Options();
  o.env = &faults;
  auto store = OpenStore(o);
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}}), FoldedProfile("a 1\n", kT0)).ok());
  ASSERT_TRUE(store->Close().ok());
  store = OpenStore(o);
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc2"}}), FoldedProfile("b 1\n", kT0 + 1)).ok());
  faults.FailNext(FaultEnv::Op::kDelete, 1, EIO, "/wal/00000002");
  EXPECT_FALSE(store->CutHead().ok());
  store.reset();
  ASSERT_TRUE(env_.FileExists("/data/wal/00000002"));
  for (int reopen = 0; reopen < 2; ++reopen) {
    store = OpenStore();
    ASSERT_TRUE(store);
    EXPECT_EQ(MergedFolded(*store->GetSnapshot(), Sel({})), "a 1\nb 1\n") << "reopen " << reopen;
    EXPECT_FALSE(LogContains("skipping a WAL record"));
    store.reset();
  }
  EXPECT_FALSE(env_.FileExists("/data/wal/00000002"));
}

TEST_F(StoreTest, CorruptBlockIsQuarantinedAndTheRestServes) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "a"}}), FoldedProfile("x 1\n", kT0)).ok());
  ASSERT_TRUE(store->CutHead().ok());
  // Later, so that its block id sorts second.
  ASSERT_TRUE(
      store->Append("t1", Labels({{"service_name", "b"}}), FoldedProfile("y 2\n", kT0 + kHour)).ok());
  ASSERT_TRUE(store->CutHead().ok());
  auto blocks = env_.ListDir("/data/tenants/t1/blocks");
  ASSERT_TRUE(blocks.ok() && blocks->size() == 2);
  ASSERT_TRUE(store->Close().ok());
  store.reset();
  // Flip a byte in the first section (a profiles table) of the first block's samples.
  std::string path = "/data/tenants/t1/blocks/" + (*blocks)[0] + "/samples.bin";
  std::string data = *env_.ReadFile(path);
  data[10] ^= 0x5a;
  ASSERT_TRUE(env_.WriteFileAtomic(path, data).ok());
  // Corrupt index.bin of the second: it fails to open.
  std::string ipath = "/data/tenants/t1/blocks/" + (*blocks)[1] + "/index.bin";
  std::string idx = *env_.ReadFile(ipath);
  ASSERT_TRUE(env_.WriteFileAtomic(ipath, idx.substr(0, idx.size() - 3)).ok());
  store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_TRUE(LogContains("quarantining block")) << (log_.empty() ? "" : log_.back());
  EXPECT_EQ(store->stats().quarantined, 1u);
  EXPECT_TRUE(env_.FileExists("/data/tenants/t1/quarantine/" + (*blocks)[1]));
  // The block with the bad chunk opens; a query touching it reports the CRC
  // error with the file, and other queries work.
  FlameTreeSink sink;
  Status s = store->GetSnapshot()->MergeStacks(Sel({"service_name=a"}), &sink);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("samples.bin"), std::string::npos) << s.message();
  EXPECT_TRUE(store->Append("t1", Labels({{"service_name", "c"}}), FoldedProfile("z 3\n", kT0)).ok());
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), Sel({"service_name=c"})), "z 3\n");
}

TEST_F(StoreTest, TornWalTailIsTruncatedAndReported) {
  auto store = OpenStore();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}}), FoldedProfile("a 1\n", kT0 + i)).ok());
  }
  ASSERT_TRUE(store->Close().ok());
  store.reset();
  auto segs = env_.ListDir("/data/wal");
  ASSERT_TRUE(segs.ok());
  std::string last;
  for (const auto& s : *segs) {
    if (s != "corrupt") last = s;
  }
  std::string seg = "/data/wal/" + last;
  std::string data = *env_.ReadFile(seg);
  // Append half of a frame: a torn write at the end.
  ASSERT_TRUE(env_.WriteFileAtomic(seg, data + std::string("\x40\x00\x00\x00\x11\x22", 6)).ok());
  store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(MergedFolded(*store->GetSnapshot(), Sel({})), "a 5\n");
  bool reported = false;
  for (const auto& l : log_) reported |= l.find(last) != std::string::npos && l.find("offset") != std::string::npos;
  EXPECT_TRUE(reported);
}

TEST_F(StoreTest, BackgroundCutsByAgeAndSize) {
  StoreOptions o = Options();
  o.background = true;
  o.background_interval_ms = 20;
  o.head_max_bytes = 4096;
  o.retention = 0;  // the test data is from 2024
  auto store = OpenStore(o);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(store->Append("t1", Labels({{"service_name", "svc"}}),
                              FoldedProfile("main;f" + std::to_string(i) + " 1\n", kT0 + i * kSec))
                    .ok());
  }
  for (int i = 0; i < 200 && store->stats().cuts == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(store->stats().cuts, 1u);
  FlameTreeSink sink;
  ASSERT_TRUE(store->GetSnapshot()->MergeStacks(Sel({}), &sink).ok());
  EXPECT_EQ(sink.total(), 200);
}

}  // namespace
}  // namespace stackhouse::tsdb
