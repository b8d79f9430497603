#include "ingest/pyroscope_ingest.h"

#include <gtest/gtest.h>

#include "base/gzip.h"
#include "base/testing/testing.h"
#include "profile/profile_type.h"

namespace stackhouse::ingest {
namespace {

using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

constexpr int64_t kNow = int64_t{1704067200} * 1000000000;

IngestInput Input(std::string name, std::string body, std::string format = "") {
  IngestInput in;
  in.name = std::move(name);
  in.format = std::move(format);
  in.now_nanos = kNow;
  static std::vector<std::string> keep;
  keep.push_back(std::move(body));
  in.body = keep.back();
  return in;
}

std::string TypeId(const IngestedProfile& r) {
  auto types = profile::ProfileTypesOf(r.profile, std::string(r.labels.Get("__name__")));
  return types.empty() ? "" : types[0].Id();
}

TEST(IngestTest, FoldedCpuIsScaledBySampleRate) {
  IngestInput in = Input("checkout.cpu{env=prod,region=eu}", "main;work 3\nmain;idle 1\n");
  in.from = "1704067200";
  in.until = "1704067210";
  in.sample_rate = "100";
  in.spy_name = "gospy";
  auto r = ParseIngest(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->labels.ToString(),
            "{__name__=\"process_cpu\", env=\"prod\", pyroscope_spy=\"gospy\", region=\"eu\", "
            "service_name=\"checkout\"}");
  EXPECT_EQ(TypeId(*r), "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
  EXPECT_EQ(r->profile.Total(0), 4 * 10000000);
  EXPECT_EQ(r->profile.period, 10000000);
  EXPECT_EQ(r->time_nanos, kNow);
  EXPECT_EQ(r->duration_nanos, 10 * int64_t{1000000000});
  in.sample_rate = "19";
  EXPECT_EQ(ParseIngest(in)->profile.Total(0), 4 * (1000000000 / 19));
}

TEST(IngestTest, TypeSuffixesAndNames) {
  auto mem = ParseIngest(Input("svc.inuse_space", "a;b 1024\n"));
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(TypeId(*mem), "memory:inuse_space:bytes:space:bytes");
  EXPECT_EQ(mem->profile.Total(0), 1024);
  EXPECT_EQ(TypeId(*ParseIngest(Input("svc.mutex_duration", "a 5\n"))),
            "mutex:delay:nanoseconds:contentions:count");
  EXPECT_EQ(TypeId(*ParseIngest(Input("svc.wall", "a 1\n"))), "wall:wall:nanoseconds:wall:nanoseconds");
  // No suffix (or an unknown one) means cpu; the whole name is the service.
  auto plain = ParseIngest(Input("my.service", "a 1\n"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->labels.Get("service_name"), "my.service");
  EXPECT_EQ(TypeId(*plain), "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
  // An explicit service_name keeps the app name as app_name.
  auto named = ParseIngest(Input("app.cpu{service_name=real}", "a 1\n"));
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->labels.Get("service_name"), "real");
  EXPECT_EQ(named->labels.Get("app_name"), "app");
  // Lines: each line counts once.
  auto lines = ParseIngest(Input("app.cpu", "a;b\na;b\nc\n", "lines"));
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->profile.Total(0), 3 * 10000000);
  // gzip-compressed text.
  auto gz = ParseIngest(Input("app.cpu", Gzip("a 2\n")));
  ASSERT_TRUE(gz.ok());
  EXPECT_EQ(gz->profile.Total(0), 2 * 10000000);
}

TEST(IngestTest, NodePprofPushAsSentByThePyroscopeClient) {
  // The request line recorded in node_1.pb.gz.txt.
  IngestInput in = Input(
      "testdata.invoices{otel.scope.name=com.grafana.pyroscope/nodejs,otel.scope.version=0.6.4,"
      "process.runtime.name=nodejs,process.runtime.version=20.20.2,dataset=S}",
      ReadOrDie(SharedTestdata("node_1.pb.gz")), "pprof");
  in.from = "1795677773";
  in.until = "1795677783";
  in.spy_name = "nodespy";
  in.sample_rate = "17";
  in.content_type = "application/octet-stream";
  auto r = ParseIngest(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->labels.Get("service_name"), "testdata.invoices");
  EXPECT_EQ(r->labels.Get("__name__"), "wall");
  EXPECT_EQ(r->labels.Get("otel.scope.name"), "com.grafana.pyroscope/nodejs");
  EXPECT_EQ(r->labels.Get("pyroscope_spy"), "nodespy");
  // The pprof's own values are kept (sampleRate only applies to text formats).
  EXPECT_EQ(r->profile.Total(r->profile.FindSampleType("wall")), 10048171000);
  EXPECT_EQ(r->time_nanos, int64_t{1795677773} * 1000000000);
}

TEST(IngestTest, MultipartPprofWithSampleTypeConfig) {
  std::string pprof = ReadOrDie(SharedTestdata("go_cpu.pb.gz"));
  std::string body =
      "--XYZ\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"profile.pprof\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n" + pprof +
      "\r\n--XYZ\r\nContent-Disposition: form-data; name=\"sample_type_config\"; "
      "filename=\"sample_type_config.json\"\r\n\r\n"
      "{\"samples\":{\"units\":\"samples\",\"display-name\":\"cpu_samples\"}}\r\n--XYZ--\r\n";
  IngestInput in = Input("ledger.cpu", body, "pprof");
  in.content_type = "multipart/form-data; boundary=XYZ";
  auto r = ParseIngest(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GE(r->profile.FindSampleType("cpu_samples"), 0);
  EXPECT_EQ(r->profile.Total(r->profile.FindSampleType("cpu")), 5140000000);
  EXPECT_EQ(r->labels.Get("service_name"), "ledger");
  EXPECT_EQ(r->labels.Get("__name__"), "process_cpu");
  // Without the format parameter, a multipart body is taken as pprof.
  in.format = "";
  EXPECT_TRUE(ParseIngest(in).ok());
  // Client-side deltas are refused, as Pyroscope does.
  std::string prev = "--B\r\nContent-Disposition: form-data; name=\"profile\"\r\n\r\nx\r\n--B\r\n"
                     "Content-Disposition: form-data; name=\"prev_profile\"\r\n\r\ny\r\n--B--\r\n";
  IngestInput pin = Input("a", prev, "pprof");
  pin.content_type = "multipart/form-data; boundary=B";
  EXPECT_EQ(ParseIngest(pin).status().code(), StatusCode::kInvalidArgument);
}

TEST(IngestTest, ErrorsAreClear) {
  EXPECT_EQ(ParseIngest(Input("", "a 1\n")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIngest(Input("app{x", "a 1\n")).status().code(), StatusCode::kInvalidArgument);
  IngestInput t = Input("app", "a 1\n");
  t.from = "yesterday";
  auto bad_time = ParseIngest(t);
  EXPECT_EQ(bad_time.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_time.status().message().find("from"), std::string::npos);
  EXPECT_EQ(ParseIngest(Input("app", "a 1\n", "xml")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseIngest(Input("app", "a 1\n", "trie")).status().code(), StatusCode::kUnimplemented);
  IngestInput rate = Input("app", "a 1\n");
  rate.sample_rate = "0";
  EXPECT_EQ(ParseIngest(rate).status().code(), StatusCode::kInvalidArgument);
  auto folded = ParseIngest(Input("app", "a;b 1\nbroken\n"));
  EXPECT_NE(folded.status().message().find("line 2"), std::string::npos);
  auto pprof = ParseIngest(Input("app", "\x0a\x05junk", "pprof"));
  EXPECT_EQ(pprof.status().code(), StatusCode::kInvalidArgument);
  // A gzip bomb stops at the decompression limit.
  IngestLimits small;
  small.max_decompressed_bytes = 1 << 20;
  auto bomb = ParseIngest(Input("app", Gzip(std::string(50 << 20, 'a'), 9)), small);
  EXPECT_EQ(bomb.status().code(), StatusCode::kResourceExhausted);
  auto pbomb = ParseIngest(Input("app", Gzip(std::string(50 << 20, '\0'), 9), "pprof"), small);
  EXPECT_EQ(pbomb.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace stackhouse::ingest
