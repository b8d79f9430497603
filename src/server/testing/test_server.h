// A real `stackhouse server` on 127.0.0.1 (ephemeral port, data in a fresh
// temporary directory) and a client for its HTTP and Connect APIs. Tests only.
#ifndef STACKHOUSE_SERVER_TESTING_TEST_SERVER_H_
#define STACKHOUSE_SERVER_TESTING_TEST_SERVER_H_

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/testing/testing.h"
#include "server/config.h"
#include "server/http_client.h"
#include "server/server.h"

namespace stackhouse::server::testing {

// The defaults of a test server: unlimited ingestion rate, small bodies.
inline ServerConfig TestConfig() {
  ServerConfig c;
  c.http_addr = "127.0.0.1:0";
  c.otlp_http_addr = "";  // tests run in parallel: no fixed ports
  c.otlp_grpc_addr = "";
  c.data_dir = stackhouse::testing::MakeTempDir();
  c.worker_threads = 8;
  c.ingestion_rate_mb = 0;
  c.max_body_bytes = 4 << 20;
  c.max_decompressed_bytes = 32 << 20;
  return c;
}

class TestServer {
 public:
  explicit TestServer(ServerConfig config = TestConfig()) : config_(std::move(config)) {
    auto s = Server::Open(config_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return;
    server_ = std::move(*s);
    Status st = server_->Start();
    EXPECT_TRUE(st.ok()) << st.ToString();
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }

  Server* server() { return server_.get(); }
  const ServerConfig& config() const { return config_; }
  const std::string& base() const { return base_; }

  HttpClientResponse Get(const std::string& path_and_query, const std::string& tenant = "") {
    auto r = client_.Get(base_ + path_and_query, Headers(tenant, ""));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse();
  }
  HttpClientResponse Post(const std::string& path_and_query, std::string_view body,
                          const std::string& content_type = "", const std::string& tenant = "") {
    auto r = client_.Post(base_ + path_and_query, body, Headers(tenant, content_type));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse();
  }

  HttpClientResponse PostWithHeaders(const std::string& path_and_query, std::string_view body, HttpHeaders headers,
                                     const std::string& base = "") {
    auto r = client_.Post((base.empty() ? base_ : base) + path_and_query, body, headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpClientResponse();
  }

  // A Connect unary call in proto (json = false) or JSON. Returns the HTTP
  // status; on 200 *resp holds the decoded answer.
  int Call(const std::string& path, const google::protobuf::Message& req,
           google::protobuf::Message* resp, bool json, const std::string& tenant = "",
           std::string* body = nullptr) {
    std::string payload;
    if (json) {
      EXPECT_TRUE(google::protobuf::util::MessageToJsonString(req, &payload).ok());
    } else {
      payload = req.SerializeAsString();
    }
    HttpClientResponse r =
        Post(path, payload, json ? "application/json" : "application/proto", tenant);
    if (body != nullptr) *body = r.body;
    if (r.status == 200) {
      if (json) {
        google::protobuf::util::JsonParseOptions o;
        auto st = google::protobuf::util::JsonStringToMessage(r.body, resp, o);
        EXPECT_TRUE(st.ok()) << path << ": " << st.ToString() << " in " << r.body.substr(0, 300);
      } else {
        EXPECT_TRUE(resp->ParseFromString(r.body)) << path;
      }
    }
    return r.status;
  }

 private:
  static HttpHeaders Headers(const std::string& tenant, const std::string& content_type) {
    HttpHeaders h;
    if (!tenant.empty()) h.push_back({"X-Scope-OrgID", tenant});
    if (!content_type.empty()) h.push_back({"Content-Type", content_type});
    return h;
  }

  ServerConfig config_;
  std::unique_ptr<Server> server_;
  std::string base_;
  HttpClient client_;
};

}  // namespace stackhouse::server::testing

#endif  // STACKHOUSE_SERVER_TESTING_TEST_SERVER_H_
