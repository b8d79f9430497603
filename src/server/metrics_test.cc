#include "server/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace stackhouse::server {
namespace {

TEST(MetricsTest, RendersGoldenText) {
  MetricsRegistry r;
  Counter* ok = r.GetCounter("http_requests_total", "Requests served.",
                             {{"handler", "/ingest"}, {"code", "200"}});
  Counter* err =
      r.GetCounter("http_requests_total", "ignored", {{"code", "500"}, {"handler", "/ingest"}});
  ok->Inc();
  ok->Inc(2);
  err->Inc(0.5);
  r.GetGauge("active_connections", "Open connections.")->Set(3);
  r.AddGaugeCallback("uptime_seconds", "Seconds since start.", [] { return 12.25; });
  Histogram* h = r.GetHistogram("request_seconds", "Latency.\nSecond line \\ backslash.",
                                {0.1, 1, 10}, {{"path", "a\"b\\c\nd"}});
  h->Observe(0.05);
  h->Observe(0.1);  // le is inclusive
  h->Observe(5);
  h->Observe(100);
  r.GetCounter("a_total", "Sorted first.");

  EXPECT_EQ(r.Render(),
            "# HELP a_total Sorted first.\n"
            "# TYPE a_total counter\n"
            "a_total 0\n"
            "# HELP active_connections Open connections.\n"
            "# TYPE active_connections gauge\n"
            "active_connections 3\n"
            "# HELP http_requests_total Requests served.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{code=\"200\",handler=\"/ingest\"} 3\n"
            "http_requests_total{code=\"500\",handler=\"/ingest\"} 0.5\n"
            "# HELP request_seconds Latency.\\nSecond line \\\\ backslash.\n"
            "# TYPE request_seconds histogram\n"
            "request_seconds_bucket{path=\"a\\\"b\\\\c\\nd\",le=\"0.1\"} 2\n"
            "request_seconds_bucket{path=\"a\\\"b\\\\c\\nd\",le=\"1\"} 2\n"
            "request_seconds_bucket{path=\"a\\\"b\\\\c\\nd\",le=\"10\"} 3\n"
            "request_seconds_bucket{path=\"a\\\"b\\\\c\\nd\",le=\"+Inf\"} 4\n"
            "request_seconds_sum{path=\"a\\\"b\\\\c\\nd\"} 105.15\n"
            "request_seconds_count{path=\"a\\\"b\\\\c\\nd\"} 4\n"
            "# HELP uptime_seconds Seconds since start.\n"
            "# TYPE uptime_seconds gauge\n"
            "uptime_seconds 12.25\n");
}

TEST(MetricsTest, SameNameAndLabelsGiveTheSamePointer) {
  MetricsRegistry r;
  Counter* a = r.GetCounter("c_total", "h", {{"x", "1"}, {"y", "2"}});
  EXPECT_EQ(a, r.GetCounter("c_total", "h", {{"y", "2"}, {"x", "1"}}));
  EXPECT_NE(a, r.GetCounter("c_total", "h", {{"x", "2"}, {"y", "2"}}));
  Gauge* g = r.GetGauge("g", "h");
  EXPECT_EQ(g, r.GetGauge("g", "h"));
  Histogram* h = r.GetHistogram("h_seconds", "h", {1, 2});
  EXPECT_EQ(h, r.GetHistogram("h_seconds", "h", {5}));
  EXPECT_EQ(h->upper_bounds(), (std::vector<double>{1, 2}));
}

TEST(MetricsTest, CounterIgnoresNegativeGaugeGoesBothWays) {
  MetricsRegistry r;
  Counter* c = r.GetCounter("c_total", "h");
  c->Inc(5);
  c->Inc(-3);
  c->Inc(NAN);
  EXPECT_EQ(c->value(), 5);
  Gauge* g = r.GetGauge("g", "h");
  g->Add(2.5);
  g->Add(-4);
  EXPECT_EQ(g->value(), -1.5);
  g->Set(7);
  EXPECT_EQ(g->value(), 7);
}

TEST(MetricsTest, SpecialValuesAndEmptyHistogram) {
  MetricsRegistry r;
  r.GetGauge("inf", "h")->Set(INFINITY);
  r.GetGauge("nan", "h")->Set(NAN);
  r.GetGauge("big", "h")->Set(1e21);
  r.GetHistogram("empty", "h", {});
  EXPECT_EQ(r.Render(),
            "# HELP big h\n# TYPE big gauge\nbig 1e+21\n"
            "# HELP empty h\n# TYPE empty histogram\n"
            "empty_bucket{le=\"+Inf\"} 0\nempty_sum 0\nempty_count 0\n"
            "# HELP inf h\n# TYPE inf gauge\ninf +Inf\n"
            "# HELP nan h\n# TYPE nan gauge\nnan NaN\n");
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r] {
      Counter* c = r.GetCounter("c_total", "h", {{"k", "v"}});
      Histogram* h = r.GetHistogram("h", "h", {1, 2, 3});
      for (int i = 0; i < 20000; ++i) {
        c->Inc();
        h->Observe(i % 4);
      }
    });
  }
  std::string last;
  for (int i = 0; i < 50; ++i) last = r.Render();  // scrapes while writing
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.GetCounter("c_total", "h", {{"k", "v"}})->value(), 80000);
  Histogram* h = r.GetHistogram("h", "h", {});
  EXPECT_EQ(h->count(), 80000u);
  EXPECT_EQ(h->sum(), 4 * 20000 / 4 * (0 + 1 + 2 + 3));
  EXPECT_EQ(h->CumulativeCounts(), (std::vector<uint64_t>{40000, 60000, 80000, 80000}));
}

TEST(MetricsTest, ExponentialBuckets) {
  EXPECT_EQ(ExponentialBuckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1.0}));
  EXPECT_EQ(ExponentialBuckets(1, 2, 5), (std::vector<double>{1, 2, 4, 8, 16}));
  EXPECT_TRUE(ExponentialBuckets(1, 2, 0).empty());
}

TEST(MetricsDeathTest, TypeMismatchAndBadNamesAbort) {
  MetricsRegistry r;
  r.GetCounter("x_total", "h");
  EXPECT_DEATH(r.GetGauge("x_total", "h"), "is a counter, not a gauge");
  EXPECT_DEATH(r.GetCounter("bad-name", "h"), "invalid metric name");
  EXPECT_DEATH(r.GetCounter("ok", "h", {{"bad label", "v"}}), "invalid label name");
  EXPECT_DEATH(r.GetHistogram("hh", "h", {1}, {{"le", "1"}}), "label named le");
}

}  // namespace
}  // namespace stackhouse::server
