#include "profile/folded.h"

#include <gtest/gtest.h>

#include "base/testing/testing.h"
#include "profile/pprof.h"
#include "profile/top.h"

namespace stackhouse::profile {
namespace {

using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

TEST(FoldedTest, TestdataMatchesGroundTruth) {
  std::string text = ReadOrDie(SharedTestdata("folded.txt"));
  auto p = ParseFolded(text);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->samples.size(), 61u);
  EXPECT_EQ(p->Total(0), 514);
  TopTable top = ComputeTop(*p, 0);
  ASSERT_GE(top.entries.size(), 5u);
  EXPECT_EQ(top.entries[0].name, "main.checksumLedger");
  EXPECT_EQ(top.entries[0].flat, 266);
  EXPECT_EQ(top.entries[1].name, "main.hashFields");
  EXPECT_EQ(top.entries[1].flat, 147);
  EXPECT_EQ(top.entries[2].flat, 16);
}

TEST(FoldedTest, FoldedToPprofToFoldedIsEqual) {
  std::string text = ReadOrDie(SharedTestdata("folded.txt"));
  auto p = ParseFolded(text);
  ASSERT_TRUE(p.ok());
  auto q = DecodePprof(EncodePprofGzip(*p));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(WriteFolded(*q, 0), text);
}

TEST(FoldedTest, PprofToFoldedMatchesIndependentConversion) {
  // folded.txt was made from go_cpu.pb.gz by an independent tool.
  auto p = DecodePprof(ReadOrDie(SharedTestdata("go_cpu.pb.gz")));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(WriteFolded(*p, p->FindSampleType("samples")), ReadOrDie(SharedTestdata("folded.txt")));
}

TEST(FoldedTest, ToleratesCrlfTrailingSpacesAndSpacesInFrames) {
  auto p = ParseFolded("main;do work;std::map<int, int>::find 5  \r\n\r\nmain;do work 2\r\n");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(WriteFolded(*p, 0), "main;do work 2\nmain;do work;std::map<int, int>::find 5\n");
  auto tabs = ParseFolded("a;b\t7\n");
  ASSERT_TRUE(tabs.ok());
  EXPECT_EQ(tabs->Total(0), 7);
}

TEST(FoldedTest, MergesRepeatedStacks) {
  auto p = ParseFolded("a;b 1\na;b 2\na 3\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->samples.size(), 2u);
  EXPECT_EQ(WriteFolded(*p, 0), "a 3\na;b 3\n");
}

TEST(FoldedTest, ErrorsNameTheLine) {
  auto missing = ParseFolded("a;b 1\nno_value_here\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("line 2"), std::string::npos) << missing.status().message();
  auto neg = ParseFolded("a 1\nb -3\n");
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.status().message().find("line 2"), std::string::npos);
  auto frac = ParseFolded("a 1.5\n");
  EXPECT_FALSE(frac.ok());
  FoldedOptions small;
  small.max_frames = 3;
  EXPECT_FALSE(ParseFolded("a;b;c;d 1\n", small).ok());
  small.max_line_bytes = 4;
  EXPECT_FALSE(ParseFolded("abcdef 1\n", small).ok());
  // Two values that fit alone but not together (the same stack: merged).
  auto big = ParseFolded("a;b 6148914691236307917\nc 1\na;b 4099276460824205278\n");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("line 3: the total of the values overflows"),
            std::string::npos)
      << big.status().message();
}

TEST(FoldedTest, LinesFormatCountsEachLine) {
  auto p = ParseLines("a;b\na;b\na;c\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(WriteFolded(*p, 0), "a;b 2\na;c 1\n");
}

TEST(FoldedTest, OptionsSetTypes) {
  FoldedOptions o;
  o.sample_type = "cpu";
  o.sample_unit = "nanoseconds";
  o.period_type = "cpu";
  o.period_unit = "nanoseconds";
  o.period = 10000000;
  auto p = ParseFolded("a 1\n", o);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->str(p->sample_types[0].type), "cpu");
  EXPECT_EQ(p->period, 10000000);
}

}  // namespace
}  // namespace stackhouse::profile

namespace stackhouse::profile {
namespace {

TEST(FoldedTest, PerfFoldedMatchesGroundTruth) {
  // Made by stackcollapse-perf.pl; values are summed perf periods.
  auto p = ParseFolded(ReadOrDie(SharedTestdata("perf_folded.txt")));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->samples.size(), 7u);
  EXPECT_EQ(p->Total(0), 3995991952);
  TopTable top = ComputeTop(*p, 0);
  ASSERT_GE(top.entries.size(), 5u);
  EXPECT_EQ(top.entries[0].name, "lz_match_find");
  EXPECT_EQ(top.entries[0].flat, 2707414808);
  EXPECT_EQ(top.entries[1].name, "huffman_count");
  EXPECT_EQ(top.entries[1].flat, 891783560);
  EXPECT_EQ(top.entries[2].name, "crc32_update");
  EXPECT_EQ(top.entries[2].flat, 380761520);
  EXPECT_EQ(top.entries[3].flat, 10020040);
  EXPECT_EQ(top.entries[4].name, "handle_softirqs");
  EXPECT_EQ(top.entries[4].flat, 4008016);
}

}  // namespace
}  // namespace stackhouse::profile
