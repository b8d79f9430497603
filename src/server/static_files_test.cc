#include "server/static_files.h"

#include <gtest/gtest.h>

#include <ctime>

#include <filesystem>

#include "base/file.h"
#include "base/strings.h"
#include "base/testing/testing.h"
#include "server/testing/test_server.h"

namespace stackhouse::server {
namespace {

std::string MakeUi() {
  std::string dir = stackhouse::testing::MakeTempDir();
  std::filesystem::create_directories(dir + "/assets");
  EXPECT_TRUE(WriteFile(dir + "/index.html", "<!doctype html><title>ui</title>").ok());
  EXPECT_TRUE(WriteFile(dir + "/assets/app-1234.js", "console.log(1)").ok());
  return dir;
}

TEST(StaticFilesTest, ServesIndexAndAssetsWithTypesAndCaching) {
  auto files = StaticFiles::Load(MakeUi());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(files->size(), 2u);
  HttpRequest req;
  req.method = "GET";
  req.path = "/";
  HttpResponse resp;
  files->Serve(req, &resp);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.content_type, "text/html; charset=utf-8");
  EXPECT_NE(resp.body.find("<title>ui"), std::string::npos);
  req.path = "/assets/app-1234.js";
  resp = HttpResponse();
  files->Serve(req, &resp);
  EXPECT_EQ(resp.content_type, "text/javascript; charset=utf-8");
  bool immutable = false;
  for (const auto& [k, v] : resp.headers) immutable |= v.find("immutable") != std::string::npos;
  EXPECT_TRUE(immutable);
  for (const char* bad : {"/nope.js", "/../etc/passwd", "/assets/../../x"}) {
    req.path = bad;
    resp = HttpResponse();
    files->Serve(req, &resp);
    EXPECT_EQ(resp.status, 404) << bad;
  }
  req.method = "POST";
  req.path = "/";
  resp = HttpResponse();
  files->Serve(req, &resp);
  EXPECT_EQ(resp.status, 405);
}

// The first render query of a single-view link is named in a Link preload
// header, exactly as index.html's inline script writes its URL.
TEST(StaticFilesTest, PreloadsTheFirstQueryOfAFlameGraphLink) {
  auto req = [](std::vector<std::pair<std::string, std::string>> query) {
    HttpRequest r;
    r.method = "GET";
    r.path = "/";
    r.query = std::move(query);
    return r;
  };
  EXPECT_EQ(FirstQueryPreload(req({{"type", "process_cpu:cpu:nanoseconds:cpu:nanoseconds"},
                                   {"query", " {service_name=\"api\", pod!~\"a b*\"} "},
                                   {"from", "now-6h"},
                                   {"maxNodes", "4000"}})),
            "pyroscope/render?query=process_cpu%3Acpu%3Ananoseconds%3Acpu%3Ananoseconds"
            "%7Bservice_name%3D%22api%22%2C+pod%21%7E%22a+b*%22%7D"
            "&from=now-6h&until=now&maxNodes=4000&format=binary");
  // Defaults: the selector {} and the last hour; empty parameters count as absent.
  EXPECT_EQ(FirstQueryPreload(req({{"type", "t"}, {"query", ""}, {"view", ""}})),
            "pyroscope/render?query=t%7B%7D&from=now-1h&until=now&format=binary");
  // No query to preload: no type, another view, a selector that is not {..}.
  EXPECT_EQ(FirstQueryPreload(req({})), "");
  EXPECT_EQ(FirstQueryPreload(req({{"type", "t"}, {"view", "diff"}})), "");
  EXPECT_EQ(FirstQueryPreload(req({{"type", "t"}, {"query", "   "}})), "");

  auto files = StaticFiles::Load(MakeUi());
  ASSERT_TRUE(files.ok());
  HttpResponse resp;
  files->Serve(req({{"type", "t"}}), &resp);
  std::string link;
  for (const auto& [k, v] : resp.headers) {
    if (k == "Link") link = v;
  }
  EXPECT_EQ(link, "<pyroscope/render?query=t%7B%7D&from=now-1h&until=now&format=binary>; rel=preload; as=fetch; crossorigin");
  resp = HttpResponse();
  files->Serve(req({}), &resp);
  for (const auto& [k, v] : resp.headers) EXPECT_NE(k, "Link");
}

TEST(StaticFilesTest, LoadErrorsNameTheDirectory) {
  auto missing = StaticFiles::Load("/no/such/dir");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/no/such/dir"), std::string::npos);
  std::string empty = stackhouse::testing::MakeTempDir();
  auto no_index = StaticFiles::Load(empty);
  ASSERT_FALSE(no_index.ok());
  EXPECT_NE(no_index.status().message().find("index.html"), std::string::npos);
}

TEST(StaticFilesTest, TheServerServesTheUiAtRootAndKeepsApiErrors) {
  ServerConfig c = testing::TestConfig();
  c.ui_dir = MakeUi();
  testing::TestServer server(c);
  HttpClientResponse r = server.Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<title>ui"), std::string::npos);
  EXPECT_EQ(server.Get("/assets/app-1234.js").status, 200);
  EXPECT_EQ(server.Get("/nope").status, 404);
  EXPECT_EQ(server.Get("/ready").status, 200);
  // A configured UI directory that does not exist stops the server.
  ServerConfig bad = testing::TestConfig();
  bad.ui_dir = "/no/such/ui";
  auto s = Server::Open(bad);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE((*s)->Start().ok());
}

// Serving a flame-graph link starts its first query; the browser's request
// for it, if identical, gets that response (marked), once.
TEST(StaticFilesTest, AFlameGraphLinksFirstQueryStartsWithThePage) {
  ServerConfig c = testing::TestConfig();
  c.ui_dir = MakeUi();
  testing::TestServer server(c);
  const int64_t now_s = static_cast<int64_t>(time(nullptr));
  ASSERT_EQ(server.Post(StrCat("/ingest?name=early&format=folded&from=", now_s - 60), "main;work 7\nmain;idle 3\n")
                .status,
            200);
  // An absolute range: the early and the later render must be the same.
  const std::string page = StrCat(
      "/?type=process_cpu%3Acpu%3Ananoseconds%3Acpu%3Ananoseconds&query=%7Bservice_name%3D%22early%22%7D"
      "&from=", now_s - 3600, "&until=", now_s + 60, "&maxNodes=1000");
  HttpClientResponse r = server.Get(page);
  ASSERT_EQ(r.status, 200);
  const std::string link(r.Header("link"));
  ASSERT_TRUE(link.starts_with("<pyroscope/render?")) << link;
  const std::string url = "/" + link.substr(1, link.find('>') - 1);
  HttpClientResponse early = server.Get(url);
  EXPECT_EQ(early.status, 200);
  EXPECT_EQ(early.Header("x-stackhouse-early-query"), "1");
  HttpClientResponse again = server.Get(url);  // taken once: computed now
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.Header("x-stackhouse-early-query"), "");
  EXPECT_EQ(early.body, again.body);
  EXPECT_GT(early.body.size(), 20u);
  // Another tenant's request does not get the page's query.
  ASSERT_EQ(server.Get(page).status, 200);
  HttpClientResponse other = server.Get(url, "someone-else");
  EXPECT_EQ(other.Header("x-stackhouse-early-query"), "");
}

}  // namespace
}  // namespace stackhouse::server
