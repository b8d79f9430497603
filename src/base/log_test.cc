#include "base/log.h"

#include <gtest/gtest.h>

namespace stackhouse {
namespace {

std::string g_last;
void Capture(const std::string& line) { g_last = line; }

TEST(LogTest, JsonAndLogfmt) {
  SetLogSink(&Capture);
  SetLogFormat(true);
  LogInfo("listening", {{"addr", ":4040"}, {"port", 4040}, {"quote", "a\"b"}});
  EXPECT_NE(g_last.find("\"level\":\"info\",\"msg\":\"listening\",\"addr\":\":4040\",\"port\":4040,"
                        "\"quote\":\"a\\\"b\"}"),
            std::string::npos)
      << g_last;
  EXPECT_EQ(g_last.rfind("{\"ts\":\"", 0), 0u);
  SetLogFormat(false);
  LogWarn("slow disk", {{"path", "/data/wal"}, {"ms", 12.5}, {"why", "sync took long"}});
  EXPECT_NE(g_last.find("level=warn msg=\"slow disk\" path=/data/wal ms=12.5"), std::string::npos)
      << g_last;
  EXPECT_NE(g_last.find("why=\"sync took long\""), std::string::npos);
  SetLogLevel(LogLevel::kError);
  g_last.clear();
  LogInfo("hidden");
  EXPECT_TRUE(g_last.empty());
  SetLogLevel(LogLevel::kInfo);
  LogLevel l;
  EXPECT_TRUE(ParseLogLevel("debug", &l));
  EXPECT_EQ(l, LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("loud", &l));
  SetLogFormat(true);
  SetLogSink(nullptr);
}

}  // namespace
}  // namespace stackhouse
