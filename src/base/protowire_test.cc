#include "base/protowire.h"

#include <gtest/gtest.h>

namespace stackhouse::protowire {
namespace {

TEST(ProtowireTest, VarintRoundTripAndSizes) {
  std::vector<uint64_t> vals = {0, 1, 127, 128, 300, 16383, 16384, (1ull << 35) + 3, UINT64_MAX};
  std::string buf;
  Writer w(&buf);
  for (uint64_t v : vals) w.Varint(v);
  size_t expected = 0;
  for (uint64_t v : vals) expected += VarintSize(v);
  EXPECT_EQ(buf.size(), expected);
  Reader r(buf);
  for (uint64_t v : vals) {
    uint64_t got;
    ASSERT_TRUE(r.ReadVarint(&got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(r.done());
}

TEST(ProtowireTest, FieldsAndBounds) {
  std::string buf;
  Writer w(&buf);
  w.VarintField(1, 42);
  w.BytesField(2, "hello");
  w.Fixed64Field(3, 7);
  w.Fixed32Field(4, 9);
  Reader r(buf);
  uint32_t f;
  int wt;
  uint64_t v;
  std::string_view s;
  ASSERT_TRUE(r.ReadTag(&f, &wt));
  EXPECT_EQ(f, 1u);
  ASSERT_TRUE(r.ReadVarint(&v));
  EXPECT_EQ(v, 42u);
  ASSERT_TRUE(r.ReadTag(&f, &wt));
  ASSERT_TRUE(r.ReadLengthDelimited(&s));
  EXPECT_EQ(s, "hello");
  ASSERT_TRUE(r.ReadTag(&f, &wt));
  EXPECT_TRUE(r.SkipField(wt));
  ASSERT_TRUE(r.ReadTag(&f, &wt));
  EXPECT_TRUE(r.SkipField(wt));
  EXPECT_TRUE(r.done());

  // A length that runs past the end and an over-long varint both fail.
  std::string bad = "\x12\x10hi";
  Reader rb(bad);
  ASSERT_TRUE(rb.ReadTag(&f, &wt));
  EXPECT_FALSE(rb.ReadLengthDelimited(&s));
  std::string longv(11, '\xff');
  Reader rl(longv);
  EXPECT_FALSE(rl.ReadVarint(&v));
  std::string zero_field = "\x00";
  Reader rz(std::string_view(zero_field.data(), 1));
  EXPECT_FALSE(rz.ReadTag(&f, &wt));
}

}  // namespace
}  // namespace stackhouse::protowire
