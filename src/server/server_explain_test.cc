// GET /api/v1/explain on a real server: the interpreter's findings for a
// selection and for a change between two ranges, in JSON and markdown.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "base/time_parse.h"
#include "profile/folded.h"
#include "profile/pprof.h"
#include "server/http_client.h"
#include "server/testing/test_server.h"

namespace stackhouse::server {
namespace {

using testing::TestServer;

constexpr int64_t kSec = 1000000000;

void Ingest(TestServer& s, const std::string& folded, int64_t t) {
  HttpClientResponse r = s.Post(StrCat("/ingest?name=shop.cpu&format=folded&sampleRate=100&from=", t / kSec,
                                       "&until=", t / kSec + 10),
                                folded, "text/plain");
  ASSERT_EQ(r.status, 200) << r.body;
}

TEST(ServerExplainTest, ExplainsASelectionAndAChange) {
  TestServer s;
  int64_t t0 = NowNanos() - 2 * 3600 * kSec, t1 = NowNanos() - 1800 * kSec;
  Ingest(s, "main;serve;route 50\nmain;serve;respond 50\n", t0);
  Ingest(s, "main;serve;route 50\nmain;serve;respond 50\nmain;serve;handle;nlohmann::json::dump 300\n", t1);
  const std::string q = UrlEncode("process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"shop\"}");
  // The second range alone: JSON serialization dominates.
  HttpClientResponse r = s.Get(StrCat("/api/v1/explain?query=", q, "&from=", (t1 - 60 * kSec) / kSec, "&until=now"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  ASSERT_FALSE(j["findings"].empty());
  EXPECT_EQ(j["findings"][0]["category"], "serialization") << r.body;
  EXPECT_EQ(j["total"], 4000000000LL);  // 400 samples at 100 Hz
  // The change: where the added time is.
  r = s.Get(StrCat("/api/v1/explain?query=", q, "&from=", (t0 - 60 * kSec) / kSec, "&until=", (t0 + 60 * kSec) / kSec,
                   "&diffFrom=", (t1 - 60 * kSec) / kSec, "&diffUntil=now&format=markdown"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "text/markdown; charset=utf-8");
  EXPECT_NE(r.body.find("## Bottleneck"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("main → serve → handle"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("cpu went from 1.00 s to 4.00 s (+300%)"), std::string::npos) << r.body;
  // The same change as baseline and comparison selections.
  r = s.Get(StrCat("/api/v1/explain?query=", q, "&from=", (t1 - 60 * kSec) / kSec, "&until=now&baselineFrom=",
                   (t0 - 60 * kSec) / kSec, "&baselineUntil=", (t0 + 60 * kSec) / kSec));
  ASSERT_EQ(r.status, 200) << r.body;
  j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["diff"], true);
  EXPECT_EQ(j["baseline_total"], 1000000000LL);
  EXPECT_EQ(j["findings"][0]["category"], "regression") << r.body;
  // Errors.
  EXPECT_EQ(s.Get(StrCat("/api/v1/explain?query=", q, "&diffFrom=now-1h&baselineFrom=now-2h")).status, 400);
  EXPECT_EQ(s.Get("/api/v1/explain").status, 400);
  EXPECT_EQ(s.Get(StrCat("/api/v1/explain?query=", q, "&format=xml")).status, 400);
  EXPECT_EQ(s.Get(StrCat("/api/v1/explain?query=", UrlEncode("{service_name=\"shop\"}"))).status, 400);
}

// Without a baseline: functions whose share moved against the preceding
// period (and the same hours a day and a week before, when there is data).
TEST(ServerExplainTest, AnomaliesAgainstEarlierPeriods) {
  TestServer s;
  int64_t now = NowNanos();
  Ingest(s, "main;serve;route 50\nmain;serve;respond 50\n", now - 90 * 60 * kSec);
  Ingest(s, "main;serve;route 50\nmain;serve;respond 50\nmain;serve;handle;cache_miss 100\n", now - 30 * 60 * kSec);
  const std::string q = UrlEncode("process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"shop\"}");
  HttpClientResponse r = s.Get(StrCat("/api/v1/explain?query=", q, "&from=now-1h&until=now"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  bool found = false;
  for (const auto& f : j["findings"]) {
    if (f["category"] == "anomaly" && f["functions"][0] == "cache_miss") {
      found = true;
      EXPECT_NEAR(f["delta_share"].get<double>(), 0.5, 1e-6);
      EXPECT_NE(f["title"].get<std::string>().find("the preceding period"), std::string::npos) << f["title"];
    }
  }
  EXPECT_TRUE(found) << r.body;
  // The command line against the server finds the same.
  auto cli = stackhouse::testing::RunCommand({stackhouse::testing::BinPath("stackhouse"), "explain",
                                              "process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"shop\"}",
                                              "--server", s.base(), "--from", "now-1h", "--format", "json"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("\"category\":\"anomaly\""), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("cache_miss"), std::string::npos);
  // Turned off on request.
  r = s.Get(StrCat("/api/v1/explain?query=", q, "&from=now-1h&until=now&anomalies=false"));
  EXPECT_EQ(r.body.find("\"anomaly\""), std::string::npos);
}

}  // namespace
}  // namespace stackhouse::server
