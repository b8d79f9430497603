#include "server/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "base/testing/testing.h"

namespace stackhouse::server {
namespace {

std::string WriteYaml(const std::string& text) {
  std::string path = stackhouse::testing::MakeTempDir() + "/c.yaml";
  std::FILE* f = std::fopen(path.c_str(), "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return path;
}

StatusOr<ServerConfig> Load(std::vector<std::string> args) {
  std::vector<char*> argv = {const_cast<char*>("stackhouse"), const_cast<char*>("server")};
  for (auto& a : args) argv.push_back(a.data());
  bool help = false;
  return LoadServerConfig(static_cast<int>(argv.size()), argv.data(), 2, &help);
}

TEST(ConfigTest, DefaultsFileEnvFlagsInThatOrder) {
  auto d = Load({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->http_addr, ":4040");
  EXPECT_EQ(d->data_dir, "./data");
  EXPECT_EQ(d->max_body_bytes, 16 << 20);
  std::string file = WriteYaml(
      "http_addr: 127.0.0.1:5000\n"
      "data_dir: /var/lib/sh\n"
      "limits:\n"
      "  max_body_bytes: 2MiB\n"
      "  read_timeout: 45s\n"
      "  ingestion_rate_mb: 1.5\n"
      "storage:\n"
      "  retention: 7d\n"
      "server:\n"
      "  multitenancy: false\n");
  setenv("STACKHOUSE_DATA_DIR", "/from/env", 1);
  auto c = Load({"--config", file, "--max-body-bytes=1MB"});
  unsetenv("STACKHOUSE_DATA_DIR");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->http_addr, "127.0.0.1:5000");  // file
  EXPECT_EQ(c->data_dir, "/from/env");         // env over file
  EXPECT_EQ(c->max_body_bytes, 1000000);       // flag over file
  EXPECT_EQ(c->read_timeout_s, 45);
  EXPECT_DOUBLE_EQ(c->ingestion_rate_mb, 1.5);
  EXPECT_EQ(c->retention_ns, int64_t{7} * 24 * 3600 * 1000000000);
  EXPECT_FALSE(c->multitenancy);
}

TEST(ConfigTest, ErrorsNameTheOptionAndSource) {
  auto typo = Load({"--config", WriteYaml("limits:\n  max_bodybytes: 1\n")});
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("unknown key limits.max_bodybytes"), std::string::npos);
  auto bad = Load({"--config", WriteYaml("limits:\n  max_body_bytes: lots\n")});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("limits.max_body_bytes"), std::string::npos);
  auto flag = Load({"--max-connections", "-3"});
  ASSERT_FALSE(flag.ok());
  EXPECT_NE(flag.status().message().find("--max-connections"), std::string::npos);
  EXPECT_FALSE(Load({"--nope"}).ok());
  EXPECT_FALSE(Load({"--http-addr", "nohostport"}).ok());
  EXPECT_FALSE(Load({"--log-format", "xml"}).ok());
  EXPECT_FALSE(Load({"--config", "/no/such/file.yaml"}).ok());
  EXPECT_FALSE(Load({"--config", WriteYaml("- a\n- b\n")}).ok());
}

TEST(ConfigTest, HelpListsEveryOption) {
  std::string help = ServerConfigHelp();
  for (const char* s : {"--http-addr", "STACKHOUSE_DATA_DIR", "limits.max_decompressed_bytes",
                        "--ingestion-burst-mb", "--max-series-per-tenant", "--multitenancy"}) {
    EXPECT_NE(help.find(s), std::string::npos) << s;
  }
}

// The example configuration in docs/server.md is valid.
TEST(ConfigTest, DocumentedExampleLoads) {
  std::string doc = stackhouse::testing::ReadOrDie(stackhouse::testing::OwnTestdata("../docs/server.md"));
  size_t begin = doc.find("```yaml\n");
  ASSERT_NE(begin, std::string::npos);
  begin += 8;
  std::string yaml = doc.substr(begin, doc.find("```", begin) - begin);
  auto c = Load({"--config", WriteYaml(yaml)});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->max_body_bytes, 16 << 20);
  EXPECT_EQ(c->max_query_range_ns, int64_t{768} * 3600 * 1000000000);
}

TEST(ConfigTest, SplitHostPort) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort(":4040", &host, &port).ok());
  EXPECT_EQ(host, "");
  EXPECT_EQ(port, 4040);
  ASSERT_TRUE(SplitHostPort("[::1]:80", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(SplitHostPort("host:99999", &host, &port).ok());
  EXPECT_FALSE(SplitHostPort("host", &host, &port).ok());
}

}  // namespace
}  // namespace stackhouse::server
