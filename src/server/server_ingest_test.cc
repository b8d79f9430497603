// Every profile of ../shared/testdata goes through every ingest endpoint and
// format that fits it (Pyroscope's /ingest and push, OTLP/HTTP), over real HTTP; the totals and top functions read
// back through the query APIs must equal the ground truth of the .txt files.
#include <gtest/gtest.h>

#include <map>

#include "api/google/v1/profile.pb.h"
#include "api/push/v1/push.pb.h"
#include "api/querier/v1/querier.pb.h"
#include "base/gzip.h"
#include "otlp/otlp.h"
#include "base/strings.h"
#include "base/testing/testing.h"
#include "base/time_parse.h"
#include "profile/formats.h"
#include "profile/pprof.h"
#include "profile/profile_type.h"
#include "profile/testing/ground_truth.h"
#include "profile/top.h"
#include "server/testing/test_server.h"

namespace stackhouse::server {
namespace {

using profile::testing::GroundTruth;
using profile::testing::PprofTestdataNames;
using profile::testing::ReadGroundTruth;
using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;
using testing::TestServer;

constexpr int64_t kSec = 1000000000;
constexpr int64_t kHour = 3600 * kSec;
// Where profiles without a time of their own are put by /ingest.
constexpr int64_t kT0 = int64_t{1795600000} * kSec;

enum class Route { kIngestRaw, kIngestMultipart, kPushProto, kPushJson, kOtlpProto, kOtlpJson, kOtlpGzip };
const char* RouteName(Route r) {
  switch (r) {
    case Route::kIngestRaw: return "ingest-raw";
    case Route::kIngestMultipart: return "ingest-multipart";
    case Route::kPushProto: return "push-proto";
    case Route::kPushJson: return "push-json";
    case Route::kOtlpProto: return "otlp-proto";
    case Route::kOtlpJson: return "otlp-json";
    case Route::kOtlpGzip: return "otlp-gzip";
  }
  return "";
}

std::string Service(const std::string& file) { return file.substr(0, file.find('.')); }

std::string Multipart(const std::string& pprof) {
  return "--BOUNDARY\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"p.pprof\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n" +
         pprof + "\r\n--BOUNDARY--\r\n";
}

class ServerIngestTest : public ::testing::Test {
 protected:
  // Sends a pprof file by one route; returns where its data lies in time.
  int64_t Send(Route route, const std::string& file) {
    std::string bytes = ReadOrDie(SharedTestdata(file));
    profile::Profile p = *profile::DecodePprof(bytes);
    std::string svc = Service(file);
    if (route == Route::kIngestRaw || route == Route::kIngestMultipart) {
      int64_t t = p.time_nanos != 0 ? p.time_nanos : kT0;
      std::string q = StrCat("/ingest?name=", svc, "&format=pprof&from=", t / kSec,
                             "&until=", t / kSec + 10);
      HttpClientResponse r =
          route == Route::kIngestRaw
              ? server_.Post(q, bytes, "application/octet-stream", RouteName(route))
              : server_.Post(q, Multipart(bytes), "multipart/form-data; boundary=BOUNDARY",
                             RouteName(route));
      EXPECT_EQ(r.status, 200) << file << " " << RouteName(route) << ": " << r.body;
      return t;
    }
    if (route == Route::kOtlpProto || route == Route::kOtlpJson || route == Route::kOtlpGzip) {
      // OTLP/HTTP: one OTLP profile per sample type, merged back by the server.
      if (p.time_nanos == 0) p.time_nanos = kT0;
      otlp::ExportRequest req;
      otlp::AppendProfile(p, {{"service.name", svc}}, &req);
      HttpHeaders h = {{"X-Scope-OrgID", RouteName(route)}};
      std::string body;
      if (route == Route::kOtlpJson) {
        body = *otlp::ToJson(req);
        h.push_back({"Content-Type", "application/json"});
      } else {
        body = req.SerializeAsString();
        h.push_back({"Content-Type", "application/x-protobuf"});
      }
      if (route == Route::kOtlpGzip) {
        body = Gzip(body);
        h.push_back({"Content-Encoding", "gzip"});
      }
      HttpClientResponse r = server_.PostWithHeaders("/v1development/profiles", body, h);
      EXPECT_EQ(r.status, 200) << file << " " << RouteName(route) << ": " << r.body;
      otlp::ExportResponse resp;
      if (route == Route::kOtlpJson) {
        EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.body, &resp).ok()) << r.body;
      } else {
        EXPECT_TRUE(resp.ParseFromString(r.body));
      }
      EXPECT_FALSE(resp.has_partial_success()) << resp.partial_success().error_message();
      return p.time_nanos;
    }
    push::v1::PushRequest req;
    auto* series = req.add_series();
    auto* l = series->add_labels();
    l->set_name("service_name");
    l->set_value(svc);
    series->add_samples()->set_raw_profile(bytes);
    push::v1::PushResponse resp;
    int status = server_.Call("/push.v1.PusherService/Push", req, &resp,
                              route == Route::kPushJson, RouteName(route));
    EXPECT_EQ(status, 200) << file << " " << RouteName(route);
    return p.time_nanos != 0 ? p.time_nanos : NowNanos();
  }

  // The profile type IDs of a service, by "sample_type/unit".
  std::map<std::string, std::string> TypesOf(const std::string& tenant, const std::string& svc,
                                             bool json) {
    types::v1::LabelValuesRequest req;
    req.set_name("__profile_type__");
    req.add_matchers(StrCat("{service_name=\"", svc, "\"}"));
    types::v1::LabelValuesResponse resp;
    EXPECT_EQ(server_.Call("/querier.v1.QuerierService/LabelValues", req, &resp, json, tenant),
              200);
    std::map<std::string, std::string> out;
    for (const std::string& id : resp.names()) {
      auto t = profile::ProfileType::Parse(id);
      EXPECT_TRUE(t.ok()) << id;
      if (t.ok()) out[t->sample_type + "/" + t->sample_unit] = id;
    }
    return out;
  }

  // Total through SelectMergeStacktraces (flame graph) and the merged pprof.
  void Fetch(const std::string& tenant, const std::string& type, const std::string& svc,
             int64_t t, bool json, int64_t* flame_total, profile::Profile* merged) {
    querier::v1::SelectMergeStacktracesRequest req;
    req.set_profile_typeid(type);
    req.set_label_selector(StrCat("{service_name=\"", svc, "\"}"));
    req.set_start((t - kHour) / 1000000);
    req.set_end((t + kHour) / 1000000);
    querier::v1::SelectMergeStacktracesResponse resp;
    ASSERT_EQ(server_.Call("/querier.v1.QuerierService/SelectMergeStacktraces", req, &resp, json,
                           tenant),
              200);
    *flame_total = resp.flamegraph().total();
    querier::v1::SelectMergeProfileRequest preq;
    preq.set_profile_typeid(type);
    preq.set_label_selector(req.label_selector());
    preq.set_start(req.start());
    preq.set_end(req.end());
    google::v1::Profile presp;
    ASSERT_EQ(server_.Call("/querier.v1.QuerierService/SelectMergeProfile", preq, &presp, json,
                           tenant),
              200);
    auto p = profile::DecodePprof(presp.SerializeAsString());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    *merged = std::move(*p);
  }

  TestServer server_;
};

// Compares a merged profile's top table with the ground truth's.
void ExpectTopMatches(const profile::Profile& p,
                      const std::vector<std::pair<int64_t, std::string>>& want,
                      const std::string& what) {
  profile::TopTable top = profile::ComputeTop(p, 0);
  ASSERT_GE(top.entries.size(), want.size()) << what;
  for (size_t k = 0; k < want.size(); ++k) {
    // Same values in the same order; names may differ only among ties.
    EXPECT_EQ(top.entries[k].flat, want[k].first) << what << " row " << k;
    bool found = false;
    for (const profile::TopEntry& e : top.entries) {
      if (e.name == want[k].second) {
        EXPECT_EQ(e.flat, want[k].first) << what << " " << want[k].second;
        found = true;
      }
    }
    EXPECT_TRUE(found) << what << " missing " << want[k].second;
  }
}

TEST_F(ServerIngestTest, EveryPprofThroughEveryRouteMatchesGroundTruth) {
  const Route routes[] = {Route::kIngestRaw, Route::kIngestMultipart, Route::kPushProto, Route::kPushJson,
                          Route::kOtlpProto,  Route::kOtlpJson,        Route::kOtlpGzip};
  std::map<std::pair<int, std::string>, int64_t> when;
  for (Route r : routes) {
    for (const std::string& file : PprofTestdataNames()) when[{int(r), file}] = Send(r, file);
  }
  for (Route r : routes) {
    const std::string tenant = RouteName(r);
    bool json = r == Route::kPushJson || r == Route::kIngestMultipart;
    for (const std::string& file : PprofTestdataNames()) {
      GroundTruth truth = ReadGroundTruth(SharedTestdata(file + ".txt"));
      ASSERT_FALSE(truth.totals.empty()) << file;
      std::map<std::string, std::string> types = TypesOf(tenant, Service(file), json);
      EXPECT_EQ(types.size(), truth.totals.size()) << file << " " << tenant;
      for (const auto& [key, total] : truth.totals) {
        std::string what = StrCat(file, " ", key, " via ", tenant);
        ASSERT_TRUE(types.count(key)) << what;
        int64_t flame_total = 0;
        profile::Profile merged;
        Fetch(tenant, types[key], Service(file), when[{int(r), file}], json, &flame_total,
              &merged);
        EXPECT_EQ(flame_total, total) << what;
        ASSERT_EQ(merged.num_types(), 1u) << what;
        EXPECT_EQ(merged.Total(0), total) << what;
        ASSERT_TRUE(truth.top_flat.count(key)) << what;
        ExpectTopMatches(merged, truth.top_flat[key], what);
      }
    }
  }
}

// Java Flight Recorder through /ingest (raw, and multipart with `jfr`):
// one profile per event kind with Pyroscope's type IDs, matching `jfr print`.
TEST_F(ServerIngestTest, JfrThroughIngestMatchesGroundTruth) {
  std::string jfr = ReadOrDie(SharedTestdata("java.jfr"));
  std::string q = StrCat("/ingest?name=javaapp&format=jfr&from=", kT0 / kSec, "&until=", kT0 / kSec + 10);
  HttpClientResponse r = server_.Post(q, jfr, "application/octet-stream", "jfr-raw");
  EXPECT_EQ(r.status, 200) << r.body;
  std::string multipart = "--B\r\nContent-Disposition: form-data; name=\"jfr\"; filename=\"jfr\"\r\n"
                          "Content-Type: application/octet-stream\r\n\r\n" +
                          Gzip(jfr) + "\r\n--B--\r\n";
  r = server_.Post(q, multipart, "multipart/form-data; boundary=B", "jfr-multipart");
  EXPECT_EQ(r.status, 200) << r.body;
  for (const std::string tenant : {"jfr-raw", "jfr-multipart"}) {
    std::map<std::string, std::string> types = TypesOf(tenant, "javaapp", false);
    ASSERT_EQ(types.count("alloc_size/bytes"), 1u) << tenant;
    EXPECT_EQ(types["alloc_size/bytes"], "process_cpu:alloc_size:bytes:cpu:nanoseconds");
    EXPECT_EQ(types["cpu/nanoseconds"], "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
    int64_t total = 0;
    profile::Profile merged;
    Fetch(tenant, types["samples/count"], "javaapp", kT0, false, &total, &merged);
    EXPECT_EQ(total, 850) << tenant;
    ExpectTopMatches(merged, {{503, "TextIndexer.stemWord"}, {99, "java.util.Arrays.copyOf"},
                              {98, "TextIndexer.indexCorpus"}}, tenant);
    Fetch(tenant, types["alloc_size/bytes"], "javaapp", kT0, false, &total, &merged);
    EXPECT_EQ(total, 2934274464) << tenant;
  }
}

// Tenants never see each other's data.
TEST_F(ServerIngestTest, TenantsAreIsolated) {
  Send(Route::kPushProto, "go_cpu.pb.gz");
  EXPECT_EQ(TypesOf(RouteName(Route::kPushProto), "go_cpu", false).size(), 2u);
  EXPECT_TRUE(TypesOf("someone-else", "go_cpu", false).empty());
  EXPECT_TRUE(TypesOf("", "go_cpu", true).empty());  // "anonymous"
  HttpClientResponse r = server_.Get("/pyroscope/label-values?label=service_name", "someone-else");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "[]");
}

// Text formats through /ingest: folded, lines and speedscope, with the
// sample rate scaling of CPU samples.
TEST_F(ServerIngestTest, TextFormatsMatchGroundTruth) {
  std::string folded = ReadOrDie(SharedTestdata("folded.txt"));
  // lines: every stack repeated as many times as its count.
  std::string lines;
  for (std::string_view l : Split(folded, '\n')) {
    size_t sp = l.rfind(' ');
    if (sp == std::string_view::npos) continue;
    for (int64_t i = *ParseInt64(l.substr(sp + 1)); i > 0; --i) {
      lines += std::string(l.substr(0, sp)) + "\n";
    }
  }
  profile::Profile go = *profile::DecodePprof(ReadOrDie(SharedTestdata("go_cpu.pb.gz")));
  profile::WriteOptions wo;
  wo.type_index = go.FindSampleType("cpu");
  std::string speedscope = *profile::WriteProfile(go, profile::Format::kSpeedscope, wo);
  struct Case {
    std::string name, format, body;
  } cases[] = {{"folded", "folded", folded}, {"lines", "lines", lines},
               {"speedscope", "speedscope", speedscope}};
  for (const Case& c : cases) {
    HttpClientResponse r = server_.Post(
        StrCat("/ingest?name=", c.name, ".cpu&format=", c.format, "&sampleRate=100&from=",
               kT0 / kSec, "&until=", kT0 / kSec + 10),
        c.body, "text/plain");
    EXPECT_EQ(r.status, 200) << c.name << ": " << r.body;
  }
  GroundTruth truth = ReadGroundTruth(SharedTestdata("go_cpu.pb.gz.txt"));
  for (const Case& c : cases) {
    std::map<std::string, std::string> types = TypesOf("", c.name, false);
    // Speedscope files carry units, not kinds: time values read back as wall
    // nanoseconds (the name's suffix is for the text formats).
    std::string key = c.format == "speedscope" ? "wall/nanoseconds" : "cpu/nanoseconds";
    ASSERT_TRUE(types.count(key)) << c.name << " " << types.begin()->first;
    int64_t total;
    profile::Profile merged;
    Fetch("", types[key], c.name, kT0, false, &total, &merged);
    // 514 samples at 100 Hz = 5.14 s of CPU, as in the pprof original.
    EXPECT_EQ(total, truth.totals["cpu/nanoseconds"]) << c.name;
    ExpectTopMatches(merged, truth.top_flat["cpu/nanoseconds"], c.name);
  }
}

// Formats the server does not take directly are converted by the client
// (as `stackhouse push` does) and pushed as pprof.
TEST_F(ServerIngestTest, ConvertedFormatsThroughPush) {
  struct Case {
    std::string file, service;
  } cases[] = {{"gperftools_cpu.prof", "gperf"}, {"perf_script.txt", "perf"},
               {"perf_folded.txt", "perffolded"}};
  for (const Case& c : cases) {
    auto p = profile::ReadProfile(ReadOrDie(SharedTestdata(c.file)), std::nullopt, {});
    ASSERT_TRUE(p.ok()) << c.file << ": " << p.status().ToString();
    push::v1::PushRequest req;
    auto* series = req.add_series();
    auto* l = series->add_labels();
    l->set_name("service_name");
    l->set_value(c.service);
    p->time_nanos = kT0;
    series->add_samples()->set_raw_profile(Gzip(profile::EncodePprof(*p)));
    push::v1::PushResponse resp;
    ASSERT_EQ(server_.Call("/push.v1.PusherService/Push", req, &resp, false), 200) << c.file;
    // Every sample type reads back with the exact total of the converted file.
    std::map<std::string, std::string> types = TypesOf("", c.service, false);
    EXPECT_EQ(types.size(), p->num_types()) << c.file;
    for (size_t k = 0; k < p->num_types(); ++k) {
      std::string key = StrCat(p->str(p->sample_types[k].type), "/", p->str(p->sample_types[k].unit));
      ASSERT_TRUE(types.count(key)) << c.file << " " << key;
      int64_t total;
      profile::Profile merged;
      Fetch("", types[key], c.service, kT0, k % 2 == 1, &total, &merged);
      EXPECT_EQ(total, p->Total(k)) << c.file << " " << key;
    }
  }
  // And against the ground truth of the producers.
  GroundTruth gperf = ReadGroundTruth(SharedTestdata("gperftools_cpu.pb.gz.txt"));
  int64_t total;
  profile::Profile merged;
  Fetch("", TypesOf("", "gperf", false)["cpu/nanoseconds"], "gperf", kT0, false, &total, &merged);
  // (The legacy file has addresses only, so only totals compare with pprof's.)
  EXPECT_EQ(total, gperf.totals["cpu/nanoseconds"]);
  std::map<std::string, std::string> perf = TypesOf("", "perf", false);
  ASSERT_FALSE(perf.empty());
  Fetch("", perf.begin()->second, "perf", kT0, false, &total, &merged);
  profile::TopTable top = profile::ComputeTop(merged, 0);
  ASSERT_FALSE(top.entries.empty());
  EXPECT_EQ(top.entries[0].name, "lz_match_find");
}

}  // namespace
}  // namespace stackhouse::server
