#include "query/query.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/env.h"
#include "tsdb/store.h"
#include "tsdb/testing/store_testing.h"

namespace stackhouse::query {
namespace {

using tsdb::testing::FoldedProfile;
using tsdb::testing::Labels;

constexpr int64_t kSec = 1000000000;
constexpr int64_t kT0 = int64_t{1704067200} * kSec;  // 2024-01-01

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tsdb::StoreOptions o;
    o.dir = "/data";
    o.env = &env_;
    o.background = false;
    auto s = tsdb::Store::Open(o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    // Two pods of one service, one minute apart; a second service.
    Append("api", "a", "main;serve;parse 30\nmain;serve;write 10\n", kT0);
    Append("api", "b", "main;serve;parse 5\nmain;gc 5\n", kT0 + 60 * kSec);
    Append("db", "a", "main;query 7\n", kT0 + 30 * kSec);
    snap_ = store_->GetSnapshot();
  }
  void Append(const std::string& service, const std::string& pod, const std::string& folded,
              int64_t t) {
    Status st = store_->Append("t", Labels({{"service_name", service}, {"pod", pod}}),
                               FoldedProfile(folded, t), t);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  std::string TypeId() {
    tsdb::Selection all;
    all.tenant = "t";
    all.range = {0, kT0 * 2};
    auto types = ProfileTypes(*snap_, all);
    EXPECT_TRUE(types.ok());
    EXPECT_EQ(types->size(), 1u);
    return types->empty() ? "" : (*types)[0].Id();
  }
  ParsedQuery Query(const std::string& q, int64_t from = kT0 - 3600 * kSec,
                    int64_t to = kT0 + 3600 * kSec) {
    auto p = ParseQueryRange(q, from, to, "t", QueryLimits());
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : ParsedQuery();
  }

  MemEnv env_;
  std::unique_ptr<tsdb::Store> store_;
  std::shared_ptr<const tsdb::Snapshot> snap_;
};

TEST_F(QueryTest, ParseErrors) {
  QueryLimits limits;
  auto bad_syntax = ParseQuery("{service_name=", "", "", "t", kT0, limits);
  EXPECT_EQ(bad_syntax.status().code(), StatusCode::kInvalidArgument);
  auto bad_time = ParseQuery("{}", "yesterday-ish", "", "t", kT0, limits);
  EXPECT_EQ(bad_time.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_time.status().message().find("from"), std::string::npos);
  auto empty = ParseQuery("{}", "now", "now-1h", "t", kT0, limits);
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  auto too_long = ParseQuery("{}", "now-90d", "now", "t", kT0, limits);
  EXPECT_EQ(too_long.status().code(), StatusCode::kOutOfRange);
  auto bad_type = ParseQuery("nope{}", "now-1h", "now", "t", kT0, limits);
  EXPECT_EQ(bad_type.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(QueryTest, ParseDefaultsToTheLastHour) {
  auto q = ParseQuery("{service_name=\"api\"}", "", "", "t", kT0, QueryLimits());
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->selection.range.to, kT0);
  EXPECT_EQ(q->selection.range.from, kT0 - 3600 * kSec);
  EXPECT_EQ(q->selection.tenant, "t");
}

TEST_F(QueryTest, MaxNodes) {
  QueryLimits limits;
  EXPECT_EQ(*ParseMaxNodes("", limits), limits.default_max_nodes);
  EXPECT_EQ(*ParseMaxNodes("0", limits), limits.default_max_nodes);
  EXPECT_EQ(*ParseMaxNodes("12", limits), 12u);
  EXPECT_EQ(ParseMaxNodes("-1", limits).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMaxNodes("x", limits).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseMaxNodes("999999999", limits).status().code(), StatusCode::kOutOfRange);
}

TEST_F(QueryTest, TimelineStep) {
  EXPECT_EQ(TimelineStep(0, 60 * kSec), 10 * kSec);
  EXPECT_EQ(TimelineStep(0, 24 * 3600 * kSec), 87 * kSec);  // 86.4 s rounded up
  EXPECT_LE(30 * 24 * 3600 * kSec / TimelineStep(0, 30 * 24 * 3600 * kSec), 1000);
}

TEST_F(QueryTest, RenderMergesTheSelection) {
  ParsedQuery q = Query(TypeId() + "{service_name=\"api\"}");
  auto json = RenderJson(*snap_, q, RenderOptions());
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto j = nlohmann::json::parse(*json);
  EXPECT_EQ(j["flamebearer"]["numTicks"], 50);
  EXPECT_EQ(j["metadata"]["format"], "single");
  // The timeline covers the range in 10 s steps and sums to the total.
  const auto& tl = j["timeline"];
  EXPECT_EQ(tl["durationDelta"], 10);
  int64_t sum = 0;
  for (const auto& v : tl["samples"]) sum += v.get<int64_t>();
  EXPECT_EQ(sum, 50);
  EXPECT_EQ(tl["startTime"].get<int64_t>(), (kT0 - 3600 * kSec) / kSec);
  // The profile at kT0 falls in bucket 360, the one at kT0+60s in bucket 366.
  EXPECT_EQ(tl["samples"][360], 40);
  EXPECT_EQ(tl["samples"][366], 10);
}

TEST_F(QueryTest, RenderGroups) {
  RenderOptions opt;
  opt.group_by = "pod";
  auto json = RenderJson(*snap_, Query(TypeId() + "{}"), opt);
  ASSERT_TRUE(json.ok());
  auto j = nlohmann::json::parse(*json);
  ASSERT_TRUE(j["groups"].is_object());
  auto total = [](const nlohmann::json& tl) {
    int64_t s = 0;
    for (const auto& v : tl["samples"]) s += v.get<int64_t>();
    return s;
  };
  EXPECT_EQ(total(j["groups"]["a"]), 47);
  EXPECT_EQ(total(j["groups"]["b"]), 10);
  EXPECT_EQ(total(j["timeline"]), 57);
}

TEST_F(QueryTest, RenderAverages) {
  Append("api", "b", "main;serve;parse 20\n", kT0 + 61 * kSec);  // same bucket as kT0+60s
  snap_ = store_->GetSnapshot();
  RenderOptions opt;
  opt.average = true;
  opt.group_by = "pod";
  auto json = RenderJson(*snap_, Query(TypeId() + "{service_name=\"api\"}"), opt);
  ASSERT_TRUE(json.ok());
  auto j = nlohmann::json::parse(*json);
  EXPECT_EQ(j["timeline"]["samples"][366], 15);  // (10 + 20) / 2 profiles
  EXPECT_EQ(j["timeline"]["samples"][360], 40);
  EXPECT_EQ(j["groups"]["b"]["samples"][366], 15);
  EXPECT_EQ(j["flamebearer"]["numTicks"], 70);  // the flame graph still sums
}

TEST_F(QueryTest, RenderTruncatesToMaxNodes) {
  RenderOptions opt;
  opt.max_nodes = 2;
  auto json = RenderJson(*snap_, Query(TypeId() + "{}"), opt);
  ASSERT_TRUE(json.ok());
  auto j = nlohmann::json::parse(*json);
  EXPECT_EQ(j["flamebearer"]["numTicks"], 57);  // the total is kept
  EXPECT_LE(j["flamebearer"]["names"].size(), 4u);
}

// The binary form carries the same response: JSON header + varint levels.
TEST_F(QueryTest, RenderBinaryMatchesJson) {
  ParsedQuery q = Query(TypeId() + "{}");
  RenderOptions opt;
  auto json = RenderJson(*snap_, q, opt);
  opt.binary = true;
  auto bin = RenderJson(*snap_, q, opt);
  ASSERT_TRUE(json.ok() && bin.ok());
  const std::string& b = *bin;
  ASSERT_EQ(b.substr(0, 4), "SHFB");
  ASSERT_EQ(b[4], 1);
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= static_cast<uint32_t>(static_cast<uint8_t>(b[5 + i])) << (8 * i);
  auto header = nlohmann::json::parse(b.substr(9, len));
  size_t pos = 9 + len;
  auto uvarint = [&]() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t c = static_cast<uint8_t>(b.at(pos++));
      v |= static_cast<uint64_t>(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
  };
  const int64_t unit = static_cast<int64_t>(uvarint());
  EXPECT_GE(unit, 1);
  nlohmann::json levels = nlohmann::json::array();
  for (uint64_t l = uvarint(), i = 0; i < l; ++i) {
    nlohmann::json level = nlohmann::json::array();
    for (uint64_t n = uvarint(), k = 0; k < n; ++k) {
      uint64_t z = uvarint();
      int64_t v = static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
      level.push_back(k % 4 == 3 ? v : v * unit);  // name indexes are not scaled
    }
    levels.push_back(level);
  }
  EXPECT_EQ(pos, b.size());
  auto j = nlohmann::json::parse(*json);
  EXPECT_TRUE(header["flamebearer"]["levels"].empty());
  EXPECT_EQ(levels, j["flamebearer"]["levels"]);
  header["flamebearer"]["levels"] = levels;
  EXPECT_EQ(header, j);
}

TEST_F(QueryTest, Diff) {
  std::string type = TypeId();
  ParsedQuery left = Query(type + "{pod=\"a\"}");
  ParsedQuery right = Query(type + "{pod=\"b\"}");
  auto json = RenderDiffJson(*snap_, left, right, 100);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  auto j = nlohmann::json::parse(*json);
  EXPECT_EQ(j["metadata"]["format"], "double");
  EXPECT_EQ(j["leftTicks"], 47);
  EXPECT_EQ(j["rightTicks"], 10);
  EXPECT_TRUE(j["leftTimeline"].is_object());
  EXPECT_TRUE(j["rightTimeline"].is_object());

  ParsedQuery untyped = Query("{pod=\"b\"}");
  EXPECT_EQ(RenderDiffJson(*snap_, left, untyped, 100).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(QueryTest, OtherTenantsSeeNothing) {
  auto q = ParseQueryRange(TypeId() + "{}", kT0 - 3600 * kSec, kT0 + 3600 * kSec, "other",
                           QueryLimits());
  ASSERT_TRUE(q.ok());
  auto json = RenderJson(*snap_, *q, RenderOptions());
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(nlohmann::json::parse(*json)["flamebearer"]["numTicks"], 0);
}

}  // namespace
}  // namespace stackhouse::query
