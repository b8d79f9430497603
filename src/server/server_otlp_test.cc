// OTLP/HTTP profiles (POST /v1development/profiles) against a real server:
// partial success, every documented error status, error bodies as
// google.rpc.Status in the request's encoding, resource attributes as
// series labels, and the separate OTLP/HTTP port.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "api/querier/v1/querier.pb.h"
#include "base/gzip.h"
#include "base/protowire.h"
#include "base/strings.h"
#include "base/testing/testing.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.grpc.pb.h"
#include "otlp/otlp.h"
#include "profile/pprof.h"
#include "server/testing/test_server.h"
#include "tsdb/store.h"

namespace stackhouse::server {
namespace {

using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;
using testing::TestServer;

const char kPath[] = "/v1development/profiles";

otlp::ExportRequest GoCpu(const std::vector<std::pair<std::string, std::string>>& resource) {
  auto p = profile::DecodePprof(ReadOrDie(SharedTestdata("go_cpu.pb.gz")));
  EXPECT_TRUE(p.ok());
  otlp::ExportRequest req;
  otlp::AppendProfile(*p, resource, &req);
  return req;
}

HttpHeaders Proto() { return {{"Content-Type", "application/x-protobuf"}}; }

std::vector<std::string> LabelValues(TestServer& s, const std::string& name) {
  types::v1::LabelValuesRequest req;
  req.set_name(name);
  types::v1::LabelValuesResponse resp;
  EXPECT_EQ(s.Call("/querier.v1.QuerierService/LabelValues", req, &resp, false), 200);
  return {resp.names().begin(), resp.names().end()};
}

TEST(ServerOtlpTest, PartialSuccessNamesWhatWasRejected) {
  TestServer s;
  otlp::ExportRequest req = GoCpu({{"service.name", "good"}});
  auto p = profile::DecodePprof(ReadOrDie(SharedTestdata("go_cpu.pb.gz")));
  otlp::AppendProfile(*p, {{"service.name", "bad"}}, &req);
  req.mutable_resource_profiles(1)->mutable_scope_profiles(0)->mutable_profiles(1)->mutable_samples(0)->set_stack_index(
      -7);
  HttpClientResponse r = s.PostWithHeaders(kPath, req.SerializeAsString(), Proto());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/x-protobuf");
  otlp::ExportResponse resp;
  ASSERT_TRUE(resp.ParseFromString(r.body));
  EXPECT_EQ(resp.partial_success().rejected_profiles(), 2);  // both types of "bad"
  EXPECT_NE(resp.partial_success().error_message().find("stack index -7"), std::string::npos);
  EXPECT_EQ(LabelValues(s, "service_name"), std::vector<std::string>({"good"}));
}

TEST(ServerOtlpTest, ResourceAttributesBecomeLabels) {
  TestServer s;
  otlp::ExportRequest req = GoCpu({{"process.executable.name", "worker"}, {"k8s.pod.name", "pod-1"}});
  ASSERT_EQ(s.PostWithHeaders(kPath, req.SerializeAsString(), Proto()).status, 200);
  EXPECT_EQ(LabelValues(s, "service_name"), std::vector<std::string>({"unknown_service:worker"}));
  EXPECT_EQ(LabelValues(s, "k8s_pod_name"), std::vector<std::string>({"pod-1"}));
}

// The google.rpc.Status of a protobuf error body: (code, message).
std::pair<int, std::string> RpcStatus(const std::string& body) {
  protowire::Reader r(body);
  std::pair<int, std::string> out{-1, ""};
  uint32_t field;
  int wire;
  while (!r.done() && r.ReadTag(&field, &wire)) {
    if (field == 1 && wire == protowire::kVarint) {
      uint64_t v;
      if (!r.ReadVarint(&v)) break;
      out.first = static_cast<int>(v);
    } else if (field == 2 && wire == protowire::kLengthDelimited) {
      std::string_view m;
      if (!r.ReadLengthDelimited(&m)) break;
      out.second = std::string(m);
    } else if (!r.SkipField(wire)) {
      break;
    }
  }
  return out;
}

TEST(ServerOtlpTest, ErrorsUseOtlpStatuses) {
  ServerConfig c = testing::TestConfig();
  c.max_decompressed_bytes = 1 << 20;
  TestServer s(c);
  std::string good = GoCpu({{"service.name", "x"}}).SerializeAsString();
  // Malformed protobuf: 400, google.rpc.Status INVALID_ARGUMENT (3).
  HttpClientResponse r = s.PostWithHeaders(kPath, "\xff\xff\xff\xff", Proto());
  EXPECT_EQ(r.status, 400);
  auto st = RpcStatus(r.body);
  EXPECT_EQ(st.first, 3);
  EXPECT_NE(st.second.find("malformed"), std::string::npos) << st.second;
  // Malformed JSON: 400 with a JSON status.
  r = s.PostWithHeaders(kPath, "{\"resourceProfiles\":", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("\"code\":3"), std::string::npos) << r.body;
  // Unsupported media type and encoding: 415.
  EXPECT_EQ(s.PostWithHeaders(kPath, good, {{"Content-Type", "text/plain"}}).status, 415);
  EXPECT_EQ(s.PostWithHeaders(kPath, good, {{"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "br"}})
                .status,
            415);
  // Over the size limit once decompressed: 413, RESOURCE_EXHAUSTED (8).
  r = s.PostWithHeaders(kPath, Gzip(std::string(4 << 20, 'x')),
                        {{"Content-Type", "application/x-protobuf"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(RpcStatus(r.body).first, 8);
  // Nothing usable: 400.
  otlp::ExportRequest bad = GoCpu({{"service.name", "x"}});
  bad.mutable_dictionary()->mutable_location_table(1)->set_mapping_index(999999);
  EXPECT_EQ(s.PostWithHeaders(kPath, bad.SerializeAsString(), Proto()).status, 400);
  // Only POST.
  EXPECT_EQ(s.Get(kPath).status, 405);
  // An empty export is fine.
  EXPECT_EQ(s.PostWithHeaders(kPath, "", Proto()).status, 200);
  // A store that no longer takes writes: 503, UNAVAILABLE (14), retryable.
  ASSERT_TRUE(s.server()->store()->Close().ok());
  r = s.PostWithHeaders(kPath, good, Proto());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(RpcStatus(r.body).first, 14);
}

TEST(ServerOtlpTest, RateLimitAndUnavailableStore) {
  ServerConfig c = testing::TestConfig();
  c.ingestion_rate_mb = 0.001;
  c.ingestion_burst_mb = 0.001;
  c.otlp_grpc_addr = "127.0.0.1:0";
  TestServer s(c);
  otlp::ExportRequest req = GoCpu({{"service.name", "x"}});
  std::string good = req.SerializeAsString();
  int last = 0;
  for (int i = 0; i < 3 && last != 429; ++i) last = s.PostWithHeaders(kPath, good, Proto()).status;
  EXPECT_EQ(last, 429);
  // The same over gRPC: RESOURCE_EXHAUSTED.
  auto stub = opentelemetry::proto::collector::profiles::v1development::ProfilesService::NewStub(grpc::CreateChannel(
      StrCat("127.0.0.1:", s.server()->otlp_grpc_port()), grpc::InsecureChannelCredentials()));
  grpc::StatusCode code = grpc::StatusCode::OK;
  for (int i = 0; i < 3 && code != grpc::StatusCode::RESOURCE_EXHAUSTED; ++i) {
    grpc::ClientContext call;
    call.AddMetadata("x-scope-orgid", "limited");
    otlp::ExportResponse resp;
    code = stub->Export(&call, req, &resp).error_code();
  }
  EXPECT_EQ(code, grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(ServerOtlpTest, GrpcUnavailableWhenTheStoreCannotWrite) {
  ServerConfig c = testing::TestConfig();
  c.otlp_grpc_addr = "127.0.0.1:0";
  TestServer s(c);
  ASSERT_TRUE(s.server()->store()->Close().ok());
  auto stub = opentelemetry::proto::collector::profiles::v1development::ProfilesService::NewStub(grpc::CreateChannel(
      StrCat("127.0.0.1:", s.server()->otlp_grpc_port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext call;
  otlp::ExportResponse resp;
  EXPECT_EQ(stub->Export(&call, GoCpu({{"service.name", "x"}}), &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST(ServerOtlpTest, OwnPortServesOtlp) {
  ServerConfig c = testing::TestConfig();
  c.otlp_http_addr = "127.0.0.1:0";
  TestServer s(c);
  ASSERT_GT(s.server()->otlp_http_port(), 0);
  std::string base = StrCat("http://127.0.0.1:", s.server()->otlp_http_port());
  HttpClientResponse r =
      s.PostWithHeaders(kPath, GoCpu({{"service.name", "viaport"}}).SerializeAsString(), Proto(), base);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(LabelValues(s, "service_name"), std::vector<std::string>({"viaport"}));
}

// A real gRPC client against the OTLP/gRPC receiver.
TEST(ServerOtlpTest, GrpcExport) {
  ServerConfig c = testing::TestConfig();
  c.otlp_grpc_addr = "127.0.0.1:0";
  c.max_decompressed_bytes = 1 << 20;
  TestServer s(c);
  ASSERT_GT(s.server()->otlp_grpc_port(), 0);
  auto channel = grpc::CreateChannel(StrCat("127.0.0.1:", s.server()->otlp_grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = opentelemetry::proto::collector::profiles::v1development::ProfilesService::NewStub(channel);
  {
    // Compressed, for a tenant.
    grpc::ClientContext call;
    call.set_compression_algorithm(GRPC_COMPRESS_GZIP);
    call.AddMetadata("x-scope-orgid", "team-a");
    otlp::ExportResponse resp;
    grpc::Status st = stub->Export(&call, GoCpu({{"service.name", "grpc-svc"}}), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_FALSE(resp.has_partial_success());
  }
  types::v1::LabelValuesRequest lreq;
  lreq.set_name("service_name");
  types::v1::LabelValuesResponse lresp;
  ASSERT_EQ(s.Call("/querier.v1.QuerierService/LabelValues", lreq, &lresp, false, "team-a"), 200);
  ASSERT_EQ(lresp.names_size(), 1);
  EXPECT_EQ(lresp.names(0), "grpc-svc");
  EXPECT_TRUE(LabelValues(s, "service_name").empty());  // not the anonymous tenant's
  {
    // Partial success.
    otlp::ExportRequest req = GoCpu({{"service.name", "ok"}});
    auto p = profile::DecodePprof(ReadOrDie(SharedTestdata("go_cpu.pb.gz")));
    otlp::AppendProfile(*p, {{"service.name", "broken"}}, &req);
    req.mutable_resource_profiles(1)->mutable_scope_profiles(0)->mutable_profiles(0)->mutable_samples(0)->set_link_index(
        4242);
    grpc::ClientContext call;
    otlp::ExportResponse resp;
    ASSERT_TRUE(stub->Export(&call, req, &resp).ok());
    EXPECT_EQ(resp.partial_success().rejected_profiles(), 2);
    EXPECT_NE(resp.partial_success().error_message().find("link index 4242"), std::string::npos);
  }
  {
    // Nothing usable: INVALID_ARGUMENT.
    otlp::ExportRequest bad = GoCpu({{"service.name", "x"}});
    bad.mutable_dictionary()->mutable_function_table(1)->set_filename_strindex(-1);
    grpc::ClientContext call;
    otlp::ExportResponse resp;
    EXPECT_EQ(stub->Export(&call, bad, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    // Over the size limit: RESOURCE_EXHAUSTED.
    otlp::ExportRequest big = GoCpu({{"service.name", "x"}});
    big.mutable_resource_profiles(0)->mutable_scope_profiles(0)->mutable_profiles(0)->set_original_payload(
        std::string(2 << 20, 'z'));
    grpc::ClientContext call;
    otlp::ExportResponse resp;
    EXPECT_EQ(stub->Export(&call, big, &resp).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  {
    // A bad tenant id.
    grpc::ClientContext call;
    call.AddMetadata("x-scope-orgid", "..");
    otlp::ExportResponse resp;
    EXPECT_EQ(stub->Export(&call, GoCpu({{"service.name", "x"}}), &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

}  // namespace
}  // namespace stackhouse::server
