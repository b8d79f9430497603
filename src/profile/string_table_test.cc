#include "profile/string_table.h"

#include <string>

#include <gtest/gtest.h>

namespace stackhouse::profile {
namespace {

std::string Numbered(int i) { return "package/path.Function" + std::to_string(i) + std::string(i % 7, 'x'); }

TEST(StringTableTest, KeepsEveryEntryAcrossBlocks) {
  StringTable t;
  for (int i = 0; i < 20000; ++i) t.push_back(Numbered(i));
  t.push_back("");
  t.push_back(std::string(3 << 20, 'y'));  // longer than a block
  ASSERT_EQ(t.size(), 20002u);
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(t[i], Numbered(i));
  EXPECT_EQ(t[20000], "");
  EXPECT_EQ(t.back().size(), size_t{3} << 20);
  EXPECT_GE(t.arena_bytes(), (size_t{3} << 20) + 20000 * 22);
}

TEST(StringTableTest, CopiesAreIndependentAndMovesKeepViews) {
  StringTable a = {"", "cpu", "nanoseconds"};
  StringTable b = a;
  b.Set(1, "wall");
  EXPECT_EQ(a[1], "cpu");
  EXPECT_EQ(b[1], "wall");
  EXPECT_NE(a[2].data(), b[2].data());
  EXPECT_FALSE(a == b);
  b.Set(1, "cpu");
  EXPECT_TRUE(a == b);

  const char* where = a[2].data();
  StringTable c = std::move(a);
  EXPECT_EQ(c[2].data(), where);  // the bytes did not move
  EXPECT_EQ(c[2], "nanoseconds");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  a.push_back("again");
  EXPECT_EQ(a[0], "again");

  StringTable d;
  d = std::move(c);
  EXPECT_EQ(d[2], "nanoseconds");
  d = d;  // NOLINT: self-assignment keeps the entries
  EXPECT_EQ(d.size(), 3u);
}

TEST(StringTableTest, PushingItsOwnEntryCopiesIt) {
  StringTable t = {"", "main"};
  for (int i = 0; i < 5000; ++i) t.push_back(t[t.size() - 1]);  // reads the table while it grows
  for (size_t i = 1; i < t.size(); ++i) ASSERT_EQ(t[i], "main");
  t.Set(1, t[2]);
  EXPECT_EQ(t[1], "main");
}

TEST(StringTableTest, ClearReusesOneReservedBlock) {
  StringTable t;
  t.reserve(2, 64);
  t.push_back("first");
  const char* block = t[0].data();
  t.clear();
  EXPECT_TRUE(t.empty());
  t.push_back("second");
  EXPECT_EQ(t[0].data(), block);
  EXPECT_EQ(t[0], "second");
  EXPECT_EQ(t.arena_bytes(), 64u);
  t.Release();
  EXPECT_EQ(t.arena_bytes(), 0u);
  t = {"x"};
  EXPECT_EQ(t[0], "x");
}

}  // namespace
}  // namespace stackhouse::profile
