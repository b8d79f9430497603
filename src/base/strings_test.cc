#include "base/strings.h"

#include <gtest/gtest.h>

namespace stackhouse {
namespace {

TEST(StringsTest, StrCatAndSplit) {
  EXPECT_EQ(StrCat("a", 1, '-', std::string("b"), int64_t{-5}), "a1-b-5");
  auto parts = Split("a;b;;c", ';');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(parts[3], "c");
  EXPECT_EQ(TrimSpace("  x y \r\n"), "x y");
  EXPECT_EQ(TrimRight("x \t\r"), "x");
}

TEST(StringsTest, StrictNumbers) {
  EXPECT_EQ(ParseInt64("-12"), -12);
  EXPECT_EQ(ParseInt64("+7"), 7);
  EXPECT_FALSE(ParseInt64("12x").has_value());
  EXPECT_FALSE(ParseInt64("").has_value());
  EXPECT_FALSE(ParseInt64("99999999999999999999").has_value());
  EXPECT_EQ(ParseUint64("ff", 16), 255u);
  EXPECT_EQ(ParseUint64("0x10", 16), 16u);
  EXPECT_EQ(ParseDouble("1.5"), 1.5);
  EXPECT_FALSE(ParseDouble("nan").has_value());
}

TEST(StringsTest, QuoteEscapes) {
  EXPECT_EQ(Quote("a\x01\"b"), "\"a\\x01\\\"b\"");
  EXPECT_EQ(Quote("abcdef", 3), "\"abc\"...");
}

TEST(StringsTest, JsonEscapingReplacesInvalidUtf8) {
  std::string out;
  AppendJsonEscaped(&out, "a\"\\\n\x01 é \xff");
  EXPECT_EQ(out, "a\\\"\\\\\\n\\u0001 é \xEF\xBF\xBD");
  out.clear();
  AppendXmlEscaped(&out, "<a&'b'>");
  EXPECT_EQ(out, "&lt;a&amp;&#39;b&#39;&gt;");
}

TEST(StringsTest, FormatValueUsesUnits) {
  EXPECT_EQ(FormatValue(1500000000, "nanoseconds"), "1.50 s");
  EXPECT_EQ(FormatValue(2500, "nanoseconds"), "2.50 us");
  EXPECT_EQ(FormatValue(3 * 1024 * 1024, "bytes"), "3.00 MiB");
  EXPECT_EQ(FormatValue(1234567, "count"), "1,234,567");
  EXPECT_EQ(FormatValue(-1234, "count"), "-1,234");
}

}  // namespace
}  // namespace stackhouse
