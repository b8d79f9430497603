#include "server/http.h"

#include <gmock/gmock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "server/http_client.h"
#include "server/testing/raw_conn.h"

namespace stackhouse::server {
namespace {

using ::stackhouse::server::testing::RawConn;
using ::testing::HasSubstr;
using ::testing::StartsWith;

HttpServerOptions TestOptions() {
  HttpServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  o.worker_threads = 4;
  return o;
}

// Polls `cond` for up to 5 s.
template <typename F>
bool WaitFor(F cond, int timeout_ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// A gate handlers wait on until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.wait(lock, [this] { return open_; });
    --waiting_;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options = TestOptions()) {
    server_ = std::make_unique<HttpServer>(options);
    server_->Handle("/echo", [](const HttpRequest& req, HttpResponse* resp) {
      std::string out = StrCat(req.method, " ", req.path, "\n");
      for (const auto& [k, v] : req.query) out += StrCat("q ", k, "=", v, "\n");
      out += StrCat("h x-test=", req.Header("x-test"), "\n");
      out += StrCat("has flag=", req.HasQuery("flag") ? "yes" : "no", "\n");
      out += StrCat("first a=", req.Query("a"), "\n");
      out += StrCat("remote=", req.remote_addr, "\n");
      out += StrCat("body=", req.body.size(), "\n");
      resp->body = out;
      resp->headers.emplace_back("X-Reply", "yes");
    });
    server_->Handle("/api/exact",
                    [](const HttpRequest&, HttpResponse* resp) { resp->body = "exact"; });
    server_->HandlePrefix("/api/",
                          [](const HttpRequest&, HttpResponse* resp) { resp->body = "api"; });
    server_->HandlePrefix("/api/v2/",
                          [](const HttpRequest&, HttpResponse* resp) { resp->body = "api-v2"; });
    server_->Handle("/body", [](const HttpRequest& req, HttpResponse* resp) {
      resp->content_type = "application/octet-stream";
      resp->body = req.body;
    });
    server_->Handle("/throw",
                    [](const HttpRequest&, HttpResponse*) { throw std::runtime_error("boom"); });
    server_->Handle("/gate", [this](const HttpRequest&, HttpResponse* resp) {
      gate_.Wait();
      resp->body = "opened";
    });
    server_->Handle("/sleep", [this](const HttpRequest& req, HttpResponse* resp) {
      int now = ++concurrent_;
      int seen = max_concurrent_.load();
      while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      --concurrent_;
      resp->body = "slept";
    });
    server_->Handle("/defer", [this](const HttpRequest& req, HttpResponse* resp) {
      resp->body = "deferred";
      const bool drop = req.HasQuery("drop");
      resp->defer = [this, drop](HttpResponder r) {
        if (drop) return;  // never sent: 500
        std::lock_guard<std::mutex> lock(responders_mu_);
        responders_.push_back(std::move(r));
      };
    });
    ASSERT_TRUE(server_->Start().ok());
    base_ = StrCat("http://127.0.0.1:", server_->port());
  }
  size_t Deferred() {
    std::lock_guard<std::mutex> lock(responders_mu_);
    return responders_.size();
  }
  void TearDown() override {
    gate_.Open();
    if (server_ != nullptr) server_->Stop();
  }

  std::unique_ptr<HttpServer> server_;
  std::string base_;
  Gate gate_;
  std::atomic<int> concurrent_{0};
  std::atomic<int> max_concurrent_{0};
  std::mutex responders_mu_;
  std::vector<HttpResponder> responders_;
};

TEST_F(HttpServerTest, RoutesExactThenLongestPrefixElse404) {
  Start();
  HttpClient client;
  auto get = [&](const std::string& path) {
    auto r = client.Get(base_ + path);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? StrCat(r->status, " ", r->body) : std::string();
  };
  EXPECT_EQ(get("/api/exact"), "200 exact");
  EXPECT_EQ(get("/api/exact/more"), "200 api");
  EXPECT_EQ(get("/api/x"), "200 api");
  EXPECT_EQ(get("/api/v2/x"), "200 api-v2");
  EXPECT_EQ(get("/api/v2/"), "200 api-v2");
  EXPECT_EQ(get("/api"), R"(404 {"code":"not_found","message":"no handler for path \"/api\""})");
  auto r = client.Get(base_ + "/nothing");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_THAT(r->body, StartsWith(R"({"code":"not_found",)"));
}

TEST_F(HttpServerTest, DecodesQueryHeadersAndPath) {
  Start();
  HttpClient client;
  auto r =
      client.Get(base_ + "/echo?a=1&b=x%20y+z&a=2&flag&u=%E2%9C%93&e=", {{"X-Test", "Value 1"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            "GET /echo\n"
            "q a=1\nq b=x y z\nq a=2\nq flag=\nq u=\xE2\x9C\x93\nq e=\n"
            "h x-test=Value 1\nhas flag=yes\nfirst a=1\nremote=127.0.0.1\nbody=0\n");
  EXPECT_EQ(r->Header("x-reply"), "yes");
  EXPECT_EQ(r->Header("Content-Type"), "text/plain; charset=utf-8");

  // The path is percent-decoded, without the query.
  server_->Stop();
  HttpServer s2(TestOptions());
  std::string seen;
  s2.HandlePrefix("/", [&](const HttpRequest& req, HttpResponse*) { seen = req.path; });
  ASSERT_TRUE(s2.Start().ok());
  auto r2 = client.Get(StrCat("http://127.0.0.1:", s2.port(), "/a%20b/c?x=1"));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(seen, "/a b/c");
}

TEST_F(HttpServerTest, KeepAliveReusesOneConnection) {
  Start();
  HttpClient client;
  for (int i = 0; i < 20; ++i) {
    auto r = client.Get(base_ + "/echo");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200);
  }
  auto r = client.Post(base_ + "/body", std::string(5000, 'x'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.size(), 5000u);
  HttpServer::Stats st = server_->stats();
  EXPECT_EQ(st.requests, 21u);
  EXPECT_EQ(st.total_connections, 1u);
  EXPECT_EQ(st.active_connections, 1u);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(HttpServerTest, PostBodiesWithContentLengthAndChunked) {
  Start();
  HttpClient client;
  std::string body;
  for (int i = 0; i < 300000; ++i) body.push_back(static_cast<char>('a' + i % 26));
  auto r = client.Post(base_ + "/body", body, {{"Content-Type", "application/octet-stream"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, body);

  auto c = client.Post(base_ + "/body", body, {{"Transfer-Encoding", "chunked"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->status, 200);
  EXPECT_EQ(c->body, body);

  // A hand-made chunked request with several chunks, then another request on
  // the same connection.
  RawConn conn(server_->port());
  ASSERT_TRUE(
      conn.Send("POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"
                "GET /api/exact HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string first = conn.ReadResponse(5000);
  EXPECT_THAT(first, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(first, ::testing::EndsWith("\r\n\r\nhello world"));
  EXPECT_THAT(conn.ReadResponse(5000), ::testing::EndsWith("\r\n\r\nexact"));
}

TEST_F(HttpServerTest, RejectsOversizedContentLengthBeforeReadingIt) {
  HttpServerOptions o = TestOptions();
  o.max_body_bytes = 1000;
  Start(o);
  HttpClient client;
  auto ok = client.Post(base_ + "/body", std::string(1000, 'x'));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  // curl sends "Expect: 100-continue" and never sends the body.
  auto r = client.Post(base_ + "/body", std::string(5000, 'x'));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr(R"("code":"payload_too_large")"));
  EXPECT_THAT(r->body, HasSubstr("5000 bytes exceeds the limit of 1000"));

  // Without "Expect: 100-continue" the body arrives anyway: the 413 comes
  // first and the body is drained, so the answer is not lost to a reset.
  auto no_expect = client.Post(base_ + "/body", std::string(300000, 'x'), {{"Expect", ""}});
  ASSERT_TRUE(no_expect.ok()) << no_expect.status().ToString();
  EXPECT_EQ(no_expect->status, 413);

  // Announced but never sent: answered at once, connection closed.
  RawConn conn(server_->port());
  ASSERT_TRUE(conn.Send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n"));
  bool closed = false;
  std::string resp = conn.ReadUntilClosed(5000, &closed);
  EXPECT_THAT(resp, StartsWith("HTTP/1.1 413"));
  EXPECT_TRUE(closed);
  EXPECT_EQ(server_->stats().rejected_too_large, 3u);
}

TEST_F(HttpServerTest, RejectsOversizedChunkedBodyAsSoonAsItExceeds) {
  HttpServerOptions o = TestOptions();
  o.max_body_bytes = 100000;
  Start(o);
  HttpClient client;
  auto r =
      client.Post(base_ + "/body", std::string(2000000, 'x'), {{"Transfer-Encoding", "chunked"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr("exceeds the limit of 100000 bytes"));

  // A client that keeps streaming gets the 413 while still sending.
  RawConn conn(server_->port());
  ASSERT_TRUE(conn.Send("POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string chunk = "4000\r\n" + std::string(0x4000, 'y') + "\r\n";
  // 128 KiB, never terminated; sending fails once the server has hung up.
  for (int i = 0; i < 8 && conn.Send(chunk); ++i) {
  }
  bool closed = false;
  std::string resp = conn.ReadUntilClosed(5000, &closed);
  EXPECT_THAT(resp, StartsWith("HTTP/1.1 413"));
  EXPECT_TRUE(closed);
  EXPECT_EQ(server_->stats().rejected_too_large, 2u);

  // The server is fine afterwards.
  auto after = client.Post(base_ + "/body", "small", {{"Transfer-Encoding", "chunked"}});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->body, "small");
}

TEST_F(HttpServerTest, IdleTimeoutCutsOffSlowAndIdleClients) {
  HttpServerOptions o = TestOptions();
  o.idle_timeout_s = 1;
  Start(o);
  // Half a request header, then silence.
  RawConn slow(server_->port());
  ASSERT_TRUE(slow.Send("GET /echo HTTP/1.1\r\nHost: x\r\n"));
  // Half a body.
  RawConn slow_body(server_->port());
  ASSERT_TRUE(slow_body.Send("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  // A finished keep-alive request, then idle.
  RawConn idle(server_->port());
  ASSERT_TRUE(idle.Send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THAT(idle.ReadResponse(5000), StartsWith("HTTP/1.1 200"));

  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  EXPECT_EQ(slow.ReadUntilClosed(5000, &closed), "");
  EXPECT_TRUE(closed);
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(waited, 0.5);
  EXPECT_LE(waited, 3.5);
  slow_body.ReadUntilClosed(5000, &closed);
  EXPECT_TRUE(closed);
  idle.ReadUntilClosed(5000, &closed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(WaitFor([&] { return server_->stats().active_connections == 0; }));
  EXPECT_EQ(server_->stats().timeouts, 2u);  // the two half-received requests
}

TEST_F(HttpServerTest, Returns503WhenWorkersBusyAndQueueFull) {
  HttpServerOptions o = TestOptions();
  o.worker_threads = 1;
  o.max_queued_requests = 1;
  Start(o);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  auto call_gate = [&] {
    HttpClient c;
    auto r = c.Get(base_ + "/gate");
    if (r.ok() && r->status == 200 && r->body == "opened") ++ok;
  };
  threads.emplace_back(call_gate);
  ASSERT_TRUE(WaitFor([&] { return gate_.waiting() == 1; }));  // the worker is busy
  threads.emplace_back(call_gate);
  ASSERT_TRUE(WaitFor([&] { return server_->stats().requests == 2; }));  // queued
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  HttpClient client;
  auto r = client.Get(base_ + "/gate");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->Header("retry-after"), "1");
  EXPECT_THAT(r->body, HasSubstr(R"("code":"unavailable")"));
  // Unrouted paths never reach the queue.
  auto nf = client.Get(base_ + "/missing");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
  gate_.Open();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2);
  EXPECT_EQ(server_->stats().rejected_busy, 1u);
}

TEST_F(HttpServerTest, HandlersRunInParallelOnWorkers) {
  HttpServerOptions o = TestOptions();
  o.worker_threads = 16;
  o.io_threads = 1;
  Start(o);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&] {
      HttpClient c;
      for (int k = 0; k < 2; ++k) {
        auto r = c.Get(base_ + "/sleep");
        if (r.ok() && r->status == 200) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(ok.load(), 32);
  EXPECT_GE(max_concurrent_.load(), 12);
  EXPECT_LT(secs, 2.0);  // serial would take 6.4 s
}

TEST_F(HttpServerTest, GracefulStopFinishesRequestsInFlight) {
  Start();
  std::atomic<int> status{0};
  std::string connection_header;
  std::thread t([&] {
    HttpClient c;
    auto r = c.Get(base_ + "/sleep");
    if (r.ok()) {
      status = r->status;
      connection_header = std::string(r->Header("connection"));
    }
  });
  ASSERT_TRUE(WaitFor([&] { return concurrent_.load() == 1; }));
  server_->Stop(std::chrono::seconds(5));
  t.join();
  EXPECT_EQ(status.load(), 200);
  EXPECT_EQ(connection_header, "close");
  HttpClient c;
  EXPECT_FALSE(c.Get(base_ + "/echo").ok());  // no longer listening
}

TEST_F(HttpServerTest, StopAnswers503AfterGraceExpires) {
  Start();
  std::atomic<int> status{0};
  std::thread t([&] {
    HttpClient c;
    auto r = c.Get(base_ + "/gate");
    if (r.ok()) status = r->status;
  });
  ASSERT_TRUE(WaitFor([&] { return gate_.waiting() == 1; }));
  std::thread opener([&] {
    // The handler is still blocked when the grace ends; Stop then waits for
    // it to return before joining the workers.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    gate_.Open();
  });
  auto start = std::chrono::steady_clock::now();
  server_->Stop(std::chrono::milliseconds(100));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  t.join();
  opener.join();
  EXPECT_EQ(status.load(), 503);
  EXPECT_GE(secs, 0.4);
}

TEST_F(HttpServerTest, DeferredResponsesFreeTheWorkerAndGoOutWhenSent) {
  HttpServerOptions o = TestOptions();
  o.worker_threads = 1;
  Start(o);
  std::vector<std::thread> clients;
  std::vector<std::string> bodies(3);
  std::vector<int> statuses(3, 0);
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      HttpClient c;
      auto r = c.Get(base_ + "/defer");
      if (r.ok()) {
        statuses[i] = r->status;
        bodies[i] = r->body;
      }
    });
  }
  // One worker took all three: none of them holds it.
  ASSERT_TRUE(WaitFor([&] { return Deferred() == 3; }));
  HttpClient c;
  auto echo = c.Get(base_ + "/echo");
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echo->status, 200);
  {
    std::lock_guard<std::mutex> lock(responders_mu_);
    for (HttpResponder& r : responders_) {
      r.response()->body += "+edited";
      r.Send();
      r.Send();  // the second is ignored
    }
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(statuses[i], 200);
    EXPECT_EQ(bodies[i], "deferred+edited");
  }
  // A responder dropped unsent answers 500.
  auto dropped = c.Get(base_ + "/defer?drop");
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->status, 500);
  EXPECT_THAT(dropped->body, HasSubstr("dropped its deferred response"));
}

TEST_F(HttpServerTest, StopAnswersDeferredResponsesStillUnsent) {
  Start();
  std::atomic<int> status{0};
  std::thread t([&] {
    HttpClient c;
    auto r = c.Get(base_ + "/defer");
    if (r.ok()) status = r->status;
  });
  ASSERT_TRUE(WaitFor([&] { return Deferred() == 1; }));
  server_->Stop(std::chrono::milliseconds(100));
  t.join();
  EXPECT_EQ(status.load(), 503);
  server_.reset();
  // Sending after the server is gone does nothing.
  std::lock_guard<std::mutex> lock(responders_mu_);
  responders_[0].Send();
}

TEST_F(HttpServerTest, HandlerExceptionBecomes500) {
  Start();
  HttpClient client;
  auto r = client.Get(base_ + "/throw");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_THAT(r->body, HasSubstr("boom"));
}

TEST_F(HttpServerTest, SurvivesMalformedRequests) {
  Start();
  const char* bad[] = {
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      "GET /echo HTTP/1.1\r\nNo colon here\r\n\r\n",
      "GET /echo HTTP/9.9\r\nHost: x\r\n\r\n",
      "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "\x01\x02\x03\xff\r\n\r\n",
  };
  for (const char* b : bad) {
    RawConn conn(server_->port());
    ASSERT_TRUE(conn.ok());
    conn.Send(b);
    std::string resp = conn.ReadUntilClosed(3000);
    if (!resp.empty()) {
      EXPECT_THAT(resp, StartsWith("HTTP/1.")) << b;
    }
  }
  {
    RawConn conn(server_->port());
    conn.Send("GET /" + std::string(100000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string resp = conn.ReadUntilClosed(3000);
    if (!resp.empty()) {
      EXPECT_THAT(resp, StartsWith("HTTP/1.1 4"));
    }
  }
  HttpClient client;
  auto r = client.Get(base_ + "/api/exact");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "exact");
}

TEST_F(HttpServerTest, HoldsAThousandIdleConnections) {
  testing::RaiseFileLimit(4096);
  HttpServerOptions o = TestOptions();
  Start(o);
  std::vector<std::unique_ptr<RawConn>> idle;
  for (int i = 0; i < 1000; ++i) {
    auto c = std::make_unique<RawConn>(server_->port());
    ASSERT_TRUE(c->ok()) << i;
    idle.push_back(std::move(c));
  }
  // Half of them have made a request and now sit in keep-alive.
  for (size_t i = 0; i < idle.size(); i += 2) {
    ASSERT_TRUE(idle[i]->Send("GET /api/exact HTTP/1.1\r\nHost: x\r\n\r\n"));
  }
  for (size_t i = 0; i < idle.size(); i += 2) {
    ASSERT_THAT(idle[i]->ReadResponse(10000), StartsWith("HTTP/1.1 200")) << i;
  }
  ASSERT_TRUE(WaitFor([&] { return server_->stats().active_connections == 1000; }));
  HttpClient client;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    auto r = client.Get(base_ + "/api/exact");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(secs, 5.0);
  EXPECT_EQ(server_->stats().active_connections, 1001u);
  // The idle ones still work.
  ASSERT_TRUE(idle[1]->Send("GET /api/exact HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THAT(idle[1]->ReadResponse(5000), StartsWith("HTTP/1.1 200"));
  idle.clear();
  EXPECT_TRUE(WaitFor([&] { return server_->stats().active_connections == 1; }));
}

TEST(HttpServerStartTest, BindErrorNamesTheAddress) {
  HttpServer a(TestOptions());
  ASSERT_TRUE(a.Start().ok());
  HttpServerOptions o = TestOptions();
  o.port = a.port();
  HttpServer b(o);
  Status s = b.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(StrCat("127.0.0.1:", a.port())));
  EXPECT_THAT(s.message(), HasSubstr("in use"));

  o.address = "not-an-address";
  HttpServer c(o);
  EXPECT_EQ(c.Start().code(), StatusCode::kInvalidArgument);
}

TEST(HttpServerStartTest, ServesOnIpv6Loopback) {
  HttpServerOptions o = TestOptions();
  o.address = "::1";
  HttpServer s(o);
  s.Handle("/", [](const HttpRequest& req, HttpResponse* resp) { resp->body = req.remote_addr; });
  Status st = s.Start();
  // Whether the kernel offers IPv6 loopback, asked without our code: where it
  // does not, Start must fail with an error naming the address.
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 a = {};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  bool ipv6 = fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  if (fd >= 0) close(fd);
  if (!ipv6) {
    ASSERT_FALSE(st.ok());
    EXPECT_THAT(st.message(), HasSubstr("::1"));
    return;
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  HttpClient client;
  auto r = client.Get(StrCat("http://[::1]:", s.port(), "/"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "::1");
}

TEST(HttpServerStartTest, StopWithoutStartAndTwice) {
  HttpServer a(TestOptions());
  a.Stop();
  HttpServer b(TestOptions());
  ASSERT_TRUE(b.Start().ok());
  b.Stop();
  b.Stop();
}

}  // namespace
}  // namespace stackhouse::server
