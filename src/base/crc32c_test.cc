#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace stackhouse {
namespace {

using crc32c_internal::CrcHardware;
using crc32c_internal::CrcPortable;
using crc32c_internal::HasHardwareCrc;

TEST(Crc32cTest, StandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(CrcPortable("123456789", 0), 0xE3069283u);
  if (HasHardwareCrc()) {
    EXPECT_EQ(CrcHardware("123456789", 0), 0xE3069283u);
  }
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, KnownVectors) {
  // From RFC 3720 (iSCSI), appendix B.4.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(Crc32c(inc), 0x46DD794Eu);
  std::string dec(32, '\0');
  for (int i = 0; i < 32; ++i) dec[i] = static_cast<char>(31 - i);
  EXPECT_EQ(Crc32c(dec), 0x113FDB5Cu);
}

TEST(Crc32cTest, Extend) {
  std::string a = "hello ", b = "world, a somewhat longer piece of text";
  EXPECT_EQ(Crc32c(b, Crc32c(a)), Crc32c(a + b));
  EXPECT_EQ(Crc32c("", Crc32c(a)), Crc32c(a));
  // Every split point of one string.
  std::string s = "The quick brown fox jumps over the lazy dog, twice over.";
  for (size_t i = 0; i <= s.size(); ++i) {
    std::string_view v(s);
    EXPECT_EQ(Crc32c(v.substr(i), Crc32c(v.substr(0, i))), Crc32c(s)) << i;
    EXPECT_EQ(CrcPortable(v.substr(i), CrcPortable(v.substr(0, i), 0)), Crc32c(s)) << i;
  }
}

// Crc32c (hardware when the CPU has SSE4.2, which every x86-64 machine we
// run on has) against the portable table implementation.
TEST(Crc32cTest, ImplementationsAgreeOnRandomData) {
  std::mt19937_64 rng(42);
  std::string buf(1 << 16, '\0');
  for (char& c : buf) c = static_cast<char>(rng());
  for (int iter = 0; iter < 2000; ++iter) {
    // Random offsets exercise every alignment; random lengths every tail.
    size_t off = rng() % 64;
    size_t len = iter < 200 ? iter : rng() % (buf.size() - off);
    std::string_view v(buf.data() + off, len);
    uint32_t init = static_cast<uint32_t>(rng());
    ASSERT_EQ(Crc32c(v, init), CrcPortable(v, init)) << "off=" << off << " len=" << len;
    if (HasHardwareCrc()) ASSERT_EQ(CrcHardware(v, init), CrcPortable(v, init)) << off << " " << len;
  }
}

TEST(Crc32cTest, DetectsChanges) {
  std::string s(1000, 'x');
  uint32_t c = Crc32c(s);
  for (size_t i = 0; i < s.size(); i += 37) {
    std::string t = s;
    t[i] ^= 1;
    EXPECT_NE(Crc32c(t), c);
  }
}

TEST(Crc32cTest, Mask) {
  uint32_t crc = Crc32c("foo");
  EXPECT_NE(crc, MaskCrc(crc));
  EXPECT_NE(crc, MaskCrc(MaskCrc(crc)));
  EXPECT_EQ(crc, UnmaskCrc(MaskCrc(crc)));
  EXPECT_EQ(crc, UnmaskCrc(UnmaskCrc(MaskCrc(MaskCrc(crc)))));
  for (uint32_t v : {0u, 1u, 0xffffffffu, 0x80000000u, 0x12345678u}) {
    EXPECT_EQ(UnmaskCrc(MaskCrc(v)), v);
  }
}

}  // namespace
}  // namespace stackhouse
