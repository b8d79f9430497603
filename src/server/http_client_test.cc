#include "server/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "base/strings.h"
#include "server/http.h"
#include "server/testing/raw_conn.h"

namespace stackhouse::server {
namespace {

using ::testing::HasSubstr;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.worker_threads = 4;
    server_ = std::make_unique<HttpServer>(o);
    server_->Handle("/hello", [](const HttpRequest& req, HttpResponse* resp) {
      resp->body = StrCat("hello ", req.Query("name"), " via ", req.method,
                          " auth=", req.Header("authorization"));
      resp->headers.emplace_back("X-Mixed-Case", " padded ");
    });
    server_->Handle("/post", [](const HttpRequest& req, HttpResponse* resp) {
      resp->status = 201;
      resp->body =
          StrCat(req.Header("content-type"), "|", req.Header("transfer-encoding"), "|", req.body);
    });
    server_->Handle("/slow", [](const HttpRequest&, HttpResponse* resp) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      resp->body = "late";
    });
    server_->Handle("/teapot", [](const HttpRequest&, HttpResponse* resp) {
      resp->status = 418;
      resp->body = "short and stout";
    });
    ASSERT_TRUE(server_->Start().ok());
    base_ = StrCat("http://127.0.0.1:", server_->port());
  }

  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

TEST_F(HttpClientTest, GetWithHeadersAndQuery) {
  HttpClient client;
  auto r = client.Get(base_ + "/hello?name=" + UrlEncode("a b&c"), {{"Authorization", "Bearer t"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello a b&c via GET auth=Bearer t");
  EXPECT_EQ(r->Header("x-mixed-case"), "padded");
  EXPECT_EQ(r->Header("X-MIXED-CASE"), "padded");
  EXPECT_EQ(r->Header("content-length"), "33");
  for (const auto& [k, v] : r->headers) EXPECT_EQ(k, ::stackhouse::server::UrlEncode(k)) << k;
}

TEST_F(HttpClientTest, PostSendsBodyWithLengthOrChunked) {
  HttpClient client;
  auto r = client.Post(base_ + "/post", "payload", {{"Content-Type", "text/x-test"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "text/x-test||payload");
  auto c =
      client.Post(base_ + "/post", std::string(70000, 'z'), {{"Transfer-Encoding", "chunked"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->body, "application/x-www-form-urlencoded|chunked|" + std::string(70000, 'z'));
  auto e = client.Post(base_ + "/post", "");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->body, "application/x-www-form-urlencoded||");
}

TEST_F(HttpClientTest, ReusesTheConnectionAcrossRequests) {
  HttpClient client;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(client.Get(base_ + "/hello").ok());
    ASSERT_TRUE(client.Post(base_ + "/post", "x").ok());
  }
  EXPECT_EQ(client.connections_opened(), 1);
  EXPECT_EQ(server_->stats().total_connections, 1u);
  HttpClient moved = std::move(client);
  ASSERT_TRUE(moved.Get(base_ + "/hello").ok());
  EXPECT_EQ(server_->stats().total_connections, 1u);
}

TEST_F(HttpClientTest, HttpErrorStatusesAreResponses) {
  HttpClient client;
  auto r = client.Get(base_ + "/teapot");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 418);
  EXPECT_EQ(r->body, "short and stout");
  auto nf = client.Get(base_ + "/missing");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
}

TEST_F(HttpClientTest, TransportErrorsNameTheUrl) {
  // A port nobody listens on.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  std::string url = StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/x");

  HttpClient client;
  auto r = client.Get(url);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("GET " + url));

  HttpClient quick(std::chrono::milliseconds(300));
  auto t = quick.Get(base_ + "/slow");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(t.status().message(), HasSubstr(base_ + "/slow"));
  // The handle is still usable after a failure.
  auto ok = quick.Get(base_ + "/hello");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();

  auto bad = client.Post("nope://x", "body");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("POST nope://x"));
}

TEST(UrlEncodeTest, EncodesAllButUnreserved) {
  EXPECT_EQ(UrlEncode(""), "");
  EXPECT_EQ(UrlEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(UrlEncode("a b+c/d?e=f&g"), "a%20b%2Bc%2Fd%3Fe%3Df%26g");
  EXPECT_EQ(UrlEncode("\xE2\x9C\x93"), "%E2%9C%93");
  EXPECT_EQ(UrlEncode(std::string("\0\xff", 2)), "%00%FF");
}

}  // namespace
}  // namespace stackhouse::server
