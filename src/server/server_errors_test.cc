// Every ingest error path over real HTTP: the documented status code, a JSON
// error body, a count in the metrics, and a server that stays up.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/push/v1/push.pb.h"
#include "base/gzip.h"
#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/folded.h"
#include "profile/pprof.h"
#include "server/testing/test_server.h"

namespace stackhouse::server {
namespace {

using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;
using testing::TestConfig;
using testing::TestServer;

void ExpectJsonError(const HttpClientResponse& r, int status, const std::string& what) {
  EXPECT_EQ(r.status, status) << what << ": " << r.body;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_TRUE(j.is_object() && j["code"].is_string() && j["message"].is_string())
      << what << ": " << r.body;
}

std::string PushBody(const std::string& raw_profile, int extra_labels = 0) {
  push::v1::PushRequest req;
  auto* s = req.add_series();
  auto* l = s->add_labels();
  l->set_name("service_name");
  l->set_value("svc");
  for (int i = 0; i < extra_labels; ++i) {
    auto* e = s->add_labels();
    e->set_name(StrCat("l", i));
    e->set_value("v");
  }
  s->add_samples()->set_raw_profile(raw_profile);
  return req.SerializeAsString();
}

TEST(ServerErrorsTest, IngestErrorsGetTheirStatus) {
  TestServer server;
  const std::string pprof = ReadOrDie(SharedTestdata("go_cpu.pb.gz"));
  // 40 MiB of zeros gzip to ~40 KiB: over the 32 MiB decompressed limit.
  const std::string bomb = Gzip(std::string(40 << 20, '\0'), 9);
  ASSERT_LT(bomb.size(), 1u << 20);
  std::string many_labels = "app{";
  for (int i = 0; i < 40; ++i) many_labels += StrCat(i ? "," : "", "l", i, "=v");
  many_labels += "}";
  // Values whose sum overflows int64: the store refuses them (400).
  auto huge = profile::ParseFolded("a 1\nb 1\n");
  ASSERT_TRUE(huge.ok());
  huge->mutable_sample_values(0)[0] = INT64_MAX;
  const std::string huge_pprof = profile::EncodePprofGzip(*huge);
  struct Case {
    std::string what, path, body, content_type;
    int status;
  } cases[] = {
      {"no name", "/ingest", "a;b 1\n", "", 400},
      {"bad name", "/ingest?name=" + UrlEncode("app{x"), "a;b 1\n", "", 400},
      {"empty app name", "/ingest?name=" + UrlEncode("{env=prod}"), "a;b 1\n", "", 400},
      {"bad time", "/ingest?name=app&from=someday", "a;b 1\n", "", 400},
      {"bad sample rate", "/ingest?name=app&sampleRate=-5", "a;b 1\n", "", 400},
      {"bad folded", "/ingest?name=app", "a;b notanumber\n", "", 400},
      {"corrupt pprof", "/ingest?name=app&format=pprof", "\x0a\xff\xff\xff\xff garbage", "", 400},
      {"truncated gzip pprof", "/ingest?name=app&format=pprof", pprof.substr(0, pprof.size() / 2),
       "", 400},
      {"gzip bomb", "/ingest?name=app&format=pprof", bomb, "", 413},
      {"oversized body", "/ingest?name=app", std::string(5 << 20, 'x'), "", 413},
      {"too many labels", "/ingest?name=" + UrlEncode(many_labels), "a;b 1\n", "", 400},
      {"folded total overflows", "/ingest?name=app", "a 9223372036854775807\nb 1\n", "", 400},
      {"pprof values overflow", "/ingest?name=app&format=pprof", huge_pprof, "", 400},
      {"truncated jfr", "/ingest?name=app&format=jfr", std::string("FLR\0\0\x02\0\x01", 8), "", 400},
      {"jfr multipart without jfr part", "/ingest?name=app&format=jfr",
       "--B\r\nContent-Disposition: form-data; name=\"labels\"\r\n\r\nx\r\n--B--\r\n",
       "multipart/form-data; boundary=B", 400},
      {"trie", "/ingest?name=app&format=trie", "x", "", 422},
      {"unknown format", "/ingest?name=app&format=xml", "x", "", 400},
      {"push corrupt pprof", "/push.v1.PusherService/Push", PushBody("\x0a\xff\xff garbage"),
       "application/proto", 400},
      {"push empty profile", "/push.v1.PusherService/Push", PushBody(""), "application/proto", 400},
      {"push gzip bomb", "/push.v1.PusherService/Push", PushBody(bomb), "application/proto", 413},
      {"push too many labels", "/push.v1.PusherService/Push", PushBody(pprof, 40),
       "application/proto", 400},
      {"push not protobuf", "/push.v1.PusherService/Push", "\xff\xff\xff", "application/proto",
       400},
      {"push bad JSON", "/push.v1.PusherService/Push", "{\"series\": 5}", "application/json", 400},
      {"push media type", "/push.v1.PusherService/Push", "x", "text/plain", 415},
  };
  for (const Case& c : cases) {
    HttpClientResponse r = server.Post(c.path, c.body, c.content_type);
    ExpectJsonError(r, c.status, c.what);
  }
  ExpectJsonError(server.Get("/ingest?name=app"), 405, "GET /ingest");
  ExpectJsonError(server.Post("/ingest?name=app", "a 1\n", "", "../x"), 400, "bad tenant");
  // Still up, and still ingesting.
  EXPECT_EQ(server.Get("/healthz").status, 200);
  EXPECT_EQ(server.Post("/ingest?name=app", "a;b 1\n").status, 200);
  std::string m = server.Get("/metrics").body;
  // (The oversized body is refused by the HTTP layer before any handler.)
  for (const char* want : {"stackhouse_ingest_rejected_total{reason=\"bad_request\"} 20",
                           "stackhouse_ingest_rejected_total{reason=\"too_large\"} 2",
                           "stackhouse_http_rejected_too_large_total 1",
                           "stackhouse_ingest_rejected_total{reason=\"unsupported\"} 2",
                           "stackhouse_ingest_profiles_total 1"}) {
    EXPECT_NE(m.find(want), std::string::npos) << want << "\n" << m;
  }
}

TEST(ServerErrorsTest, RateLimitIsPerTenantWithRetryAfter) {
  ServerConfig c = TestConfig();
  c.ingestion_rate_mb = 0.001;  // 1 KB/s
  c.ingestion_burst_mb = 0.02;  // 20 KB
  TestServer server(c);
  std::string body;
  for (int i = 0; body.size() < 12000; ++i) body += StrCat("main;f", i, " 1\n");
  EXPECT_EQ(server.Post("/ingest?name=app", body, "", "t1").status, 200);
  HttpClientResponse r = server.Post("/ingest?name=app", body, "", "t1");
  ExpectJsonError(r, 429, "over the rate");
  int retry = std::atoi(std::string(r.Header("retry-after")).c_str());
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 12);
  // Another tenant has its own bucket.
  EXPECT_EQ(server.Post("/ingest?name=app", body, "", "t2").status, 200);
  // Push is limited the same way.
  r = server.Post("/push.v1.PusherService/Push",
                  PushBody(ReadOrDie(SharedTestdata("node_3.pb.gz"))), "application/proto", "t1");
  ExpectJsonError(r, 429, "push over the rate");
  EXPECT_NE(server.Get("/metrics").body.find(
                "stackhouse_ingest_rejected_total{reason=\"rate_limited\"} 2"),
            std::string::npos);
}

TEST(ServerErrorsTest, SeriesAndSampleLimits) {
  ServerConfig c = TestConfig();
  c.max_series_per_tenant = 2;
  c.max_samples_per_profile = 100;
  TestServer server(c);
  EXPECT_EQ(server.Post("/ingest?name=a", "x 1\n").status, 200);
  EXPECT_EQ(server.Post("/ingest?name=b", "x 1\n").status, 200);
  ExpectJsonError(server.Post("/ingest?name=c", "x 1\n"), 429, "series limit");
  EXPECT_EQ(server.Post("/ingest?name=a", "y 1\n").status, 200);  // an existing series
  std::string big;
  for (int i = 0; i < 200; ++i) big += StrCat("main;f", i, " 1\n");
  ExpectJsonError(server.Post("/ingest?name=a", big), 413, "samples limit");
  std::string m = server.Get("/metrics").body;
  EXPECT_NE(m.find("stackhouse_ingest_rejected_total{reason=\"series_limit\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace stackhouse::server
