#include "base/time_parse.h"

#include <gtest/gtest.h>

namespace stackhouse {
namespace {

constexpr int64_t kSec = 1000000000;

TEST(TimeParseTest, Formats) {
  const int64_t now = 1704067200 * kSec;  // 2024-01-01T00:00:00Z
  EXPECT_EQ(*ParseTime("now", now), now);
  EXPECT_EQ(*ParseTime("now-1h", now), now - 3600 * kSec);
  EXPECT_EQ(*ParseTime("now-1h30m", now), now - 5400 * kSec);
  EXPECT_EQ(*ParseTime("1704067200", now), now);
  EXPECT_EQ(*ParseTime("1704067200123", now), now + 123000000);
  EXPECT_EQ(*ParseTime("1704067200123456", now), now + 123456000);
  EXPECT_EQ(*ParseTime("1704067200123456789", now), now + 123456789);
  EXPECT_EQ(*ParseTime("20240101", now), now);
  EXPECT_EQ(*ParseTime("2024-01-01T00:00:00Z", now), now);
  EXPECT_EQ(*ParseTime("2024-01-01T01:00:00.5+01:00", now), now + kSec / 2);
  EXPECT_EQ(*ParseTime("2023-12-31T23:59:59Z", now), now - kSec);
  EXPECT_EQ(*ParseTime("2000-03-01T00:00:00Z", now), 951868800 * kSec);  // after a leap day
  for (const char* bad : {"", "yesterday", "now-", "now-5x", "2024-13-01T00:00:00Z",
                          "2024-01-01T00:00:00", "12.5", "-5"}) {
    EXPECT_FALSE(ParseTime(bad, now).ok()) << bad;
  }
}

TEST(TimeParseTest, Durations) {
  EXPECT_EQ(*ParseDuration("10s"), 10 * kSec);
  EXPECT_EQ(*ParseDuration("250ms"), 250000000);
  EXPECT_EQ(*ParseDuration("1h30m"), 5400 * kSec);
  EXPECT_EQ(*ParseDuration("7d"), 7 * 86400 * kSec);
  EXPECT_FALSE(ParseDuration("10").ok());
  EXPECT_FALSE(ParseDuration("abc").ok());
  EXPECT_FALSE(ParseDuration("999999999999d").ok());
}

}  // namespace
}  // namespace stackhouse
