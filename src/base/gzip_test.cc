#include "base/gzip.h"

#include <gtest/gtest.h>

namespace stackhouse {
namespace {

TEST(GzipTest, RoundTrip) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data += std::to_string(i * 7919 % 1000);
  std::string z = Gzip(data, 6);
  EXPECT_TRUE(IsGzip(z));
  EXPECT_LT(z.size(), data.size());
  auto back = Gunzip(z, data.size());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, data);
}

// Every level, on compressible, incompressible (both over 1 MiB, so that
// levels 1-3 use igzip) and empty input, reads back.
TEST(GzipTest, EveryLevelRoundTrips) {
  std::string text;
  for (int i = 0; i < 500000; ++i) text += std::to_string(int64_t{i} * 7919 % 1000);
  std::string noise;
  uint64_t x = 7;
  for (int i = 0; i < 1300000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    noise.push_back(static_cast<char>(x >> 56));
  }
  for (int level = 1; level <= 9; ++level) {
    for (const std::string* in : {&text, &noise}) {
      std::string z = Gzip(*in, level);
      ASSERT_TRUE(IsGzip(z)) << level;
      if (in == &text) {
        EXPECT_LT(z.size(), in->size() / 2) << level;
      } else {
        EXPECT_LT(z.size(), in->size() + in->size() / 32 + 256) << level;
      }
      auto back = Gunzip(z, in->size());
      ASSERT_TRUE(back.ok()) << level << ": " << back.status().ToString();
      EXPECT_TRUE(*back == *in) << level;
    }
    auto empty = Gunzip(Gzip("", level), 10);
    ASSERT_TRUE(empty.ok()) << level;
    EXPECT_EQ(*empty, "");
  }
}

TEST(GzipTest, ConcatenatedMembers) {
  std::string z = Gzip("hello ", 1) + Gzip("world", 9);
  auto back = Gunzip(z, 100);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "hello world");
}

TEST(GzipTest, BombIsRejected) {
  std::string zeros(50 << 20, '\0');
  std::string z = Gzip(zeros, 9);
  EXPECT_LT(z.size(), 100000u);
  auto back = Gunzip(z, 1 << 20);
  EXPECT_EQ(back.status().code(), StatusCode::kResourceExhausted);
}

TEST(GzipTest, TruncatedAndCorrupt) {
  std::string z = Gzip(std::string(10000, 'x') + "tail", 6);
  auto t = Gunzip(z.substr(0, z.size() / 2), 1 << 20);
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("offset"), std::string::npos);
  std::string bad = z;
  bad[12] ^= 0x55;
  bad[13] ^= 0x55;
  EXPECT_FALSE(Gunzip(bad, 1 << 20).ok());
  EXPECT_FALSE(Gunzip(z + "junk", 1 << 20).ok());
}

}  // namespace
}  // namespace stackhouse

namespace stackhouse {
namespace {

TEST(GzipTest, ParallelMembersDecodeToTheInput) {
  std::string data;
  data.reserve(40 << 20);
  uint64_t x = 1;
  while (data.size() < (40u << 20)) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    data += std::to_string(x >> 40);
  }
  std::string z = Gzip(data, 1, 4);
  auto back = Gunzip(z, data.size());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == data);
  // A limit just under the size is enforced across members.
  EXPECT_EQ(Gunzip(z, data.size() - 1).status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace stackhouse
