#include "server/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/file.h"
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

}  // namespace
}  // namespace stackhouse::server
