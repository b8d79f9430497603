// The query APIs of the server over real HTTP: Connect methods in both
// codecs, their semantics on known data, Pyroscope's HTTP API, and metrics.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/google/v1/profile.pb.h"
#include "api/querier/v1/querier.pb.h"
#include "base/strings.h"
#include "profile/pprof.h"
#include "server/testing/test_server.h"

namespace stackhouse::server {
namespace {

using testing::TestServer;

constexpr int64_t kSec = 1000000000;
constexpr int64_t kT0 = int64_t{1795600000} * kSec;  // 2026-11-25 (a multiple of 60 s)
constexpr int64_t kT0Ms = kT0 / 1000000;
constexpr int64_t kU = 10000000;  // one sample at 100 Hz, in ns
const char kCpu[] = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
const std::string kQ = "/querier.v1.QuerierService/";

class ServerApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Ingest("api.cpu{pod=a}", "main;serve;parse 3\nmain;serve;write 1\n", 0);
    Ingest("api.cpu{pod=b}", "main;serve;parse 1\nmain;gc 1\n", 60);
    Ingest("api.cpu{pod=a}", "main;serve;parse 2\n", 70);
    Ingest("db.cpu{pod=a}", "main;query 7\n", 30);
  }
  void Ingest(const std::string& name, const std::string& folded, int64_t at_s) {
    HttpClientResponse r = server_.Post(
        StrCat("/ingest?name=", UrlEncode(name), "&from=", kT0 / kSec + at_s), folded);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // Calls a method in both codecs, checks that the answers are the same
  // message, and returns it.
  template <typename Resp>
  Resp Both(const std::string& method, const google::protobuf::Message& req) {
    Resp proto, json;
    EXPECT_EQ(server_.Call(kQ + method, req, &proto, false), 200) << method;
    EXPECT_EQ(server_.Call(kQ + method, req, &json, true), 200) << method;
    std::string diff;
    google::protobuf::util::MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    EXPECT_TRUE(d.Compare(proto, json)) << method << ": " << diff;
    return proto;
  }

  querier::v1::SelectSeriesRequest SeriesReq(const std::string& selector, double step) {
    querier::v1::SelectSeriesRequest r;
    r.set_profile_typeid(kCpu);
    r.set_label_selector(selector);
    r.set_start(kT0Ms);
    r.set_end(kT0Ms + 120000);
    r.set_step(step);
    return r;
  }

  TestServer server_;
};

std::string Points(const types::v1::Series& s) {
  std::string out;
  for (const auto& p : s.points()) {
    out += StrCat((p.timestamp() - kT0Ms) / 1000, "s=", static_cast<int64_t>(p.value() / kU), " ");
  }
  return out;
}

std::string LabelsOf(const types::v1::Series& s) {
  std::string out;
  for (const auto& l : s.labels()) out += l.name() + "=" + l.value() + " ";
  return out;
}

TEST_F(ServerApiTest, Listings) {
  querier::v1::ProfileTypesRequest pt;
  auto types = Both<querier::v1::ProfileTypesResponse>("ProfileTypes", pt);
  ASSERT_EQ(types.profile_types_size(), 1);
  EXPECT_EQ(types.profile_types(0).id(), kCpu);
  EXPECT_EQ(types.profile_types(0).name(), "process_cpu");
  EXPECT_EQ(types.profile_types(0).sample_unit(), "nanoseconds");

  types::v1::LabelNamesRequest ln;
  auto names = Both<types::v1::LabelNamesResponse>("LabelNames", ln);
  std::set<std::string> got(names.names().begin(), names.names().end());
  for (const char* n : {"__name__", "__profile_type__", "pod", "service_name"}) {
    EXPECT_TRUE(got.count(n)) << n;
  }

  types::v1::LabelValuesRequest lv;
  lv.set_name("pod");
  lv.add_matchers("{service_name=\"db\"}");
  auto values = Both<types::v1::LabelValuesResponse>("LabelValues", lv);
  ASSERT_EQ(values.names_size(), 1);
  EXPECT_EQ(values.names(0), "a");
  lv.add_matchers("{service_name=\"api\", pod!=\"a\"}");  // matchers are a union
  values = Both<types::v1::LabelValuesResponse>("LabelValues", lv);
  EXPECT_EQ(values.names_size(), 2);

  querier::v1::SeriesRequest sr;
  sr.add_label_names("service_name");
  auto series = Both<querier::v1::SeriesResponse>("Series", sr);
  ASSERT_EQ(series.labels_set_size(), 2);
  EXPECT_EQ(series.labels_set(0).labels(0).value(), "api");
  EXPECT_EQ(series.labels_set(1).labels(0).value(), "db");
  sr.clear_label_names();
  sr.add_matchers("{pod=\"b\"}");
  series = Both<querier::v1::SeriesResponse>("Series", sr);
  ASSERT_EQ(series.labels_set_size(), 1);
  EXPECT_GE(series.labels_set(0).labels_size(), 4);

  types::v1::GetProfileStatsRequest gs;
  auto stats = Both<types::v1::GetProfileStatsResponse>("GetProfileStats", gs);
  EXPECT_TRUE(stats.data_ingested());
  EXPECT_EQ(stats.oldest_profile_time(), kT0Ms);
  EXPECT_EQ(stats.newest_profile_time(), kT0Ms + 70000);
  types::v1::GetProfileStatsResponse none;
  ASSERT_EQ(server_.Call(kQ + "GetProfileStats", gs, &none, true, "empty-tenant"), 200);
  EXPECT_FALSE(none.data_ingested());

  // Pyroscope's HTTP listings.
  HttpClientResponse r = server_.Get("/pyroscope/label-values?label=__name__");
  EXPECT_EQ(r.body, StrCat("[\"", kCpu, "\"]"));
  r = server_.Get("/pyroscope/label-values?label=pod&query=" + UrlEncode("{service_name=\"api\"}"));
  EXPECT_EQ(r.body, "[\"a\",\"b\"]");
}

TEST_F(ServerApiTest, SelectMergeStacktracesFormatsAndFocus) {
  querier::v1::SelectMergeStacktracesRequest req;
  req.set_profile_typeid(kCpu);
  req.set_label_selector("{service_name=\"api\"}");
  req.set_start(kT0Ms);
  req.set_end(kT0Ms + 120000);
  auto fg = Both<querier::v1::SelectMergeStacktracesResponse>("SelectMergeStacktraces", req);
  EXPECT_EQ(fg.flamegraph().total(), 8 * kU);
  EXPECT_EQ(fg.flamegraph().names(0), "total");
  // Call-site focus: only stacks under main;serve.
  req.mutable_stack_trace_selector()->add_call_site()->set_name("main");
  req.mutable_stack_trace_selector()->add_call_site()->set_name("serve");
  fg = Both<querier::v1::SelectMergeStacktracesResponse>("SelectMergeStacktraces", req);
  EXPECT_EQ(fg.flamegraph().total(), 7 * kU);
  // pprof format, same focus.
  req.set_format(querier::v1::PROFILE_FORMAT_PPROF);
  auto pp = Both<querier::v1::SelectMergeStacktracesResponse>("SelectMergeStacktraces", req);
  auto p = profile::DecodePprof(pp.pprof().profile().SerializeAsString());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Total(0), 7 * kU);
  // max_nodes truncates but keeps the total.
  req.clear_stack_trace_selector();
  req.set_format(querier::v1::PROFILE_FORMAT_FLAMEGRAPH);
  req.set_max_nodes(2);
  fg = Both<querier::v1::SelectMergeStacktracesResponse>("SelectMergeStacktraces", req);
  EXPECT_EQ(fg.flamegraph().total(), 8 * kU);
  EXPECT_LE(fg.flamegraph().names_size(), 4);

  querier::v1::SelectMergeProfileRequest mp;
  mp.set_profile_typeid(kCpu);
  mp.set_label_selector("{pod=\"a\"}");
  mp.set_start(kT0Ms);
  mp.set_end(kT0Ms + 120000);
  auto prof = Both<google::v1::Profile>("SelectMergeProfile", mp);
  auto merged = profile::DecodePprof(prof.SerializeAsString());
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->Total(0), 13 * kU);
  EXPECT_EQ(merged->str(merged->sample_types[0].type), "cpu");
}

TEST_F(ServerApiTest, SelectSeries) {
  auto by_pod = SeriesReq("{service_name=\"api\"}", 60);
  by_pod.add_group_by("pod");
  auto r = Both<querier::v1::SelectSeriesResponse>("SelectSeries", by_pod);
  ASSERT_EQ(r.series_size(), 2);
  EXPECT_EQ(LabelsOf(r.series(0)), "pod=a ");
  EXPECT_EQ(Points(r.series(0)), "0s=4 60s=2 ");
  EXPECT_EQ(LabelsOf(r.series(1)), "pod=b ");
  EXPECT_EQ(Points(r.series(1)), "60s=2 ");

  auto avg = SeriesReq("{service_name=\"api\"}", 60);
  avg.set_aggregation(types::v1::TIME_SERIES_AGGREGATION_TYPE_AVERAGE);
  r = Both<querier::v1::SelectSeriesResponse>("SelectSeries", avg);
  ASSERT_EQ(r.series_size(), 1);
  EXPECT_EQ(Points(r.series(0)), "0s=4 60s=2 ");  // (2 + 2) / 2 profiles
  avg.clear_aggregation();
  r = Both<querier::v1::SelectSeriesResponse>("SelectSeries", avg);
  EXPECT_EQ(Points(r.series(0)), "0s=4 60s=4 ");

  auto top = SeriesReq("{}", 120);
  top.add_group_by("pod");
  top.set_limit(1);
  r = Both<querier::v1::SelectSeriesResponse>("SelectSeries", top);
  ASSERT_EQ(r.series_size(), 1);
  EXPECT_EQ(LabelsOf(r.series(0)), "pod=a ");
  EXPECT_EQ(Points(r.series(0)), "0s=13 ");

  auto two = SeriesReq("{}", 120);
  two.add_group_by("service_name");
  two.add_group_by("pod");
  r = Both<querier::v1::SelectSeriesResponse>("SelectSeries", two);
  ASSERT_EQ(r.series_size(), 3);
  EXPECT_EQ(LabelsOf(r.series(0)), "service_name=api pod=a ");
  EXPECT_EQ(LabelsOf(r.series(2)), "service_name=db pod=a ");

  auto focus = SeriesReq("{service_name=\"api\"}", 60);
  focus.mutable_stack_trace_selector()->add_call_site()->set_name("main");
  focus.mutable_stack_trace_selector()->add_call_site()->set_name("serve");
  r = Both<querier::v1::SelectSeriesResponse>("SelectSeries", focus);
  ASSERT_EQ(r.series_size(), 1);
  EXPECT_EQ(Points(r.series(0)), "0s=4 60s=3 ");
}

TEST_F(ServerApiTest, DiffAndRender) {
  querier::v1::DiffRequest d;
  for (auto [side, pod] : {std::pair{d.mutable_left(), "a"}, std::pair{d.mutable_right(), "b"}}) {
    side->set_profile_typeid(kCpu);
    side->set_label_selector(StrCat("{service_name=\"api\",pod=\"", pod, "\"}"));
    side->set_start(kT0Ms);
    side->set_end(kT0Ms + 120000);
  }
  auto diff = Both<querier::v1::DiffResponse>("Diff", d);
  EXPECT_EQ(diff.flamegraph().leftticks(), 6 * kU);
  EXPECT_EQ(diff.flamegraph().rightticks(), 2 * kU);
  EXPECT_EQ(diff.flamegraph().levels(0).values_size(), 7);

  std::string range = StrCat("&from=", kT0 / kSec, "&until=", kT0 / kSec + 120);
  HttpClientResponse r = server_.Get(
      "/pyroscope/render?query=" + UrlEncode(StrCat(kCpu, "{service_name=\"api\"}")) + range +
      "&groupBy=pod&maxNodes=2");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["flamebearer"]["numTicks"], 8 * kU);
  EXPECT_GT(j["truncation"]["foldedNodes"].get<int>(), 0);
  EXPECT_EQ(j["timeline"]["durationDelta"], 10);
  EXPECT_TRUE(j["groups"].contains("a"));
  EXPECT_TRUE(j["groups"].contains("b"));

  // The UI's binary form: JSON header, then values in units of the period.
  HttpClientResponse bin = server_.Get(
      "/pyroscope/render?query=" + UrlEncode(StrCat(kCpu, "{service_name=\"api\"}")) + range +
      "&format=binary");
  ASSERT_EQ(bin.status, 200);
  ASSERT_EQ(bin.body.substr(0, 4), "SHFB");
  EXPECT_EQ(bin.Header("content-type"), "application/vnd.stackhouse.flamebearer");
  size_t len = 0;
  for (int i = 0; i < 4; ++i) len |= size_t{static_cast<uint8_t>(bin.body[5 + i])} << (8 * i);
  EXPECT_EQ(nlohmann::json::parse(bin.body.substr(9, len))["flamebearer"]["numTicks"], 8 * kU);
  uint64_t unit = 0;
  for (size_t pos = 9 + len, shift = 0;; ++pos, shift += 7) {
    uint8_t c = static_cast<uint8_t>(bin.body[pos]);
    unit |= uint64_t{c & 0x7fu} << shift;
    if (!(c & 0x80)) break;
  }
  EXPECT_EQ(unit, static_cast<uint64_t>(kU));

  std::string left = UrlEncode(StrCat(kCpu, "{pod=\"a\"}"));
  std::string right = UrlEncode(StrCat(kCpu, "{pod=\"b\"}"));
  r = server_.Get(StrCat("/pyroscope/render-diff?leftQuery=", left, "&rightQuery=", right,
                         "&leftFrom=", kT0 / kSec, "&leftUntil=", kT0 / kSec + 120,
                         "&rightFrom=", kT0 / kSec, "&rightUntil=", kT0 / kSec + 120));
  ASSERT_EQ(r.status, 200) << r.body;
  j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["metadata"]["format"], "double");
  EXPECT_EQ(j["leftTicks"], 13 * kU);
  EXPECT_EQ(j["rightTicks"], 2 * kU);
}

// Query errors: documented status codes, and the server stays up.
TEST_F(ServerApiTest, QueryErrors) {
  std::string q = UrlEncode(StrCat(kCpu, "{}"));
  struct Case {
    std::string path;
    int status;
  } cases[] = {
      {"/pyroscope/render", 400},                                       // no query
      {"/pyroscope/render?query=" + UrlEncode("{a=") , 400},           // bad selector
      {"/pyroscope/render?query=" + q + "&from=soonish", 400},          // bad time
      {"/pyroscope/render?query=" + q + "&from=now-90d", 400},          // range over the limit
      {"/pyroscope/render?query=" + q + "&maxNodes=99999999", 400},     // nodes over the limit
      {"/pyroscope/render?query=" + q + "&format=dot", 400},            // unsupported format
      {"/pyroscope/render-diff?leftQuery=" + q, 400},                   // no right query
      {"/pyroscope/label-values", 400},                                 // no label
      {"/nope", 404},
  };
  for (const Case& c : cases) {
    HttpClientResponse r = server_.Get(c.path);
    EXPECT_EQ(r.status, c.status) << c.path << ": " << r.body;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object() && j.contains("code") && j.contains("message")) << r.body;
  }
  // An unknown tenant gets an empty answer, not an error.
  HttpClientResponse r = server_.Get("/pyroscope/render?query=" + q, "unknown-tenant");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["flamebearer"]["numTicks"], 0);
  // A malformed tenant ID is refused.
  EXPECT_EQ(server_.Get("/pyroscope/render?query=" + q, "../etc").status, 400);

  querier::v1::SelectMergeStacktracesRequest bad;
  bad.set_profile_typeid("not-a-type");
  querier::v1::SelectMergeStacktracesResponse resp;
  std::string body;
  for (bool json : {false, true}) {
    EXPECT_EQ(server_.Call(kQ + "SelectMergeStacktraces", bad, &resp, json, "", &body), 400);
    EXPECT_EQ(nlohmann::json::parse(body)["code"], "invalid_argument") << body;
  }
  bad.set_profile_typeid(kCpu);
  bad.set_format(querier::v1::PROFILE_FORMAT_DOT);
  EXPECT_EQ(server_.Call(kQ + "SelectMergeStacktraces", bad, &resp, true, "", &body), 501);
  querier::v1::SelectHeatmapRequest heat;
  querier::v1::SelectHeatmapResponse heat_resp;
  EXPECT_EQ(server_.Call(kQ + "SelectHeatmap", heat, &heat_resp, true, "", &body), 501);
  EXPECT_EQ(server_.Post(kQ + "ProfileTypes", "{}", "text/plain").status, 415);
  EXPECT_EQ(server_.Post(kQ + "ProfileTypes", "{nope", "application/json").status, 400);
  EXPECT_EQ(server_.Get(kQ + "ProfileTypes").status, 405);
  EXPECT_EQ(server_.Get("/healthz").status, 200);
  EXPECT_EQ(server_.Get("/ready").status, 200);
}

TEST_F(ServerApiTest, MetricsCoverIngestQueriesAndStorage) {
  server_.Get("/pyroscope/render?query=" + UrlEncode(StrCat(kCpu, "{}")));
  server_.Post("/ingest", "a 1\n");  // no name: rejected
  std::string m = server_.Get("/metrics").body;
  for (const char* want : {"stackhouse_ingest_profiles_total 4",
                           "stackhouse_ingest_samples_total 6",
                           "stackhouse_ingest_rejected_total{reason=\"bad_request\"} 1",
                           "stackhouse_head_series 3",
                           "stackhouse_blocks 0",
                           "stackhouse_wal_sync_duration_seconds_count",
                           "stackhouse_query_duration_seconds_count{endpoint=\"/pyroscope/render\"} 1",
                           "# TYPE stackhouse_query_duration_seconds histogram"}) {
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m.substr(0, 3000);
  }
}

}  // namespace
}  // namespace stackhouse::server
