#include "profile/perf_script.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/folded.h"
#include "profile/pprof.h"
#include "profile/top.h"

namespace stackhouse::profile {
namespace {

using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

Profile ParseOrDie(std::string_view text, const PerfScriptOptions& options = {}) {
  auto p = ParsePerfScript(text, options);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return Profile();
  EXPECT_TRUE(p->Validate().ok()) << p->Validate().ToString();
  return std::move(p).value();
}

void ExpectError(std::string_view text, const std::string& want) {
  auto p = ParsePerfScript(text);
  ASSERT_FALSE(p.ok()) << want;
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find(want), std::string::npos) << p.status().message();
}

// Labels of sample i as "key=value" strings.
std::map<std::string, std::string> Labels(const Profile& p, size_t i) {
  std::map<std::string, std::string> out;
  for (const Label& l : p.sample_labels(i)) {
    out[std::string(p.str(l.key))] = l.str != 0 ? std::string(p.str(l.str)) : std::to_string(l.num);
  }
  return out;
}

TEST(PerfScriptTest, TestdataMatchesGroundTruth) {
  Profile p = ParseOrDie(ReadOrDie(SharedTestdata("perf_script.txt")));
  ASSERT_EQ(p.num_types(), 2u);
  EXPECT_EQ(p.str(p.sample_types[0].type), "samples");
  EXPECT_EQ(p.str(p.sample_types[0].unit), "count");
  EXPECT_EQ(p.str(p.sample_types[1].type), "cpu");
  EXPECT_EQ(p.str(p.sample_types[1].unit), "nanoseconds");
  EXPECT_EQ(p.period_type, p.sample_types[1]);
  EXPECT_EQ(p.period, 2004008);
  EXPECT_EQ(p.Total(0), 1994);
  EXPECT_EQ(p.Total(1), 3995991952);
  ASSERT_EQ(p.comments.size(), 1u);
  EXPECT_EQ(p.str(p.comments[0]), "perf event: cpu-clock:ppp");

  TopTable top = ComputeTop(p, 0);
  const std::pair<int64_t, std::string> want[] = {{1351, "lz_match_find"},
                                                  {445, "huffman_count"},
                                                  {190, "crc32_update"},
                                                  {5, "compress_block"},
                                                  {2, "handle_softirqs"}};
  ASSERT_GE(top.entries.size(), 5u);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(top.entries[k].flat, want[k].first) << k;
    EXPECT_EQ(top.entries[k].name, want[k].second) << k;
  }

  // Mappings per dso; locations keyed by (dso, address) with one line.
  std::map<std::string, int> dsos;
  for (const Mapping& m : p.mappings) ++dsos[std::string(p.str(m.filename))];
  EXPECT_EQ(dsos, (std::map<std::string, int>{{"/opt/td/build/perf-s/stream_encoder", 1},
                                              {"/usr/lib/x86_64-linux-gnu/libc.so.6", 1},
                                              {"[kernel.kallsyms]", 1}}));
  for (const Location& loc : p.locations) {
    EXPECT_NE(loc.mapping, 0u);
    EXPECT_EQ(loc.line_count, 1u);
  }
  for (size_t i = 0; i < p.samples.size(); ++i) {
    auto labels = Labels(p, i);
    EXPECT_EQ(labels,
              (std::map<std::string, std::string>{{"comm", "stream_encoder"}, {"tid", "20564"}}));
  }
  // Survives pprof encoding.
  auto q = DecodePprof(EncodePprof(p));
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(*q == p);
}

TEST(PerfScriptTest, CommAsRootFoldsLikeStackcollapsePerf) {
  PerfScriptOptions opts;
  opts.comm_as_root = true;
  Profile p = ParseOrDie(ReadOrDie(SharedTestdata("perf_script.txt")), opts);
  int cpu = p.FindSampleType("cpu");
  ASSERT_EQ(cpu, 1);
  EXPECT_EQ(WriteFolded(p, cpu), ReadOrDie(SharedTestdata("perf_folded.txt")));
  // The root frame is a location without mapping named like the comm.
  const Location& root = p.locations[p.sample_stack(0).back()];
  EXPECT_EQ(root.mapping, 0u);
  EXPECT_EQ(p.FrameName(root), "stream_encoder");
}

TEST(PerfScriptTest, LooksLike) {
  EXPECT_TRUE(LooksLikePerfScript(ReadOrDie(SharedTestdata("perf_script.txt"))));
  EXPECT_TRUE(LooksLikePerfScript("\n# comment\nmy app 1/2 [001] 5.5: 10 cycles:u:\n\t1 f (a)\n"));
  EXPECT_FALSE(LooksLikePerfScript(ReadOrDie(SharedTestdata("perf_folded.txt"))));
  EXPECT_FALSE(LooksLikePerfScript(ReadOrDie(SharedTestdata("gperftools_cpu.prof"))));
  EXPECT_FALSE(LooksLikePerfScript("a 1 1.0: cycles:\n"));  // no frame line
  EXPECT_FALSE(LooksLikePerfScript(""));
}

constexpr char kTwoThreads[] =
    "my worker 100/101 [003] 12.500000:     250 cycles:u: \n"
    "\t    55d0 inner(int) const+0x10 (/usr/bin/my app)\n"
    "\t    55e0 std::function<void ()>::operator()+0x1f (/usr/bin/my app)\n"
    "\n"
    "my worker 100/102 [001] 12.600000:     250 cycles:u: \n"
    "\t    55d0 inner(int) const+0x10 (/usr/bin/my app)\n"
    "\t    55e0 std::function<void ()>::operator()+0x1f (/usr/bin/my app)\n"
    "\n"
    "my worker 100/101 [003] 12.700000:     100 cycles:u: \n"
    "\t    55d0 inner(int) const+0x10 (/usr/bin/my app)\n"
    "\t    55e0 std::function<void ()>::operator()+0x1f (/usr/bin/my app)\n"
    "\n"
    "my worker 100/101 [003] 12.800000:     250 cycles:u: \n"
    "\tffffffff81000010 [unknown] ([unknown])\n"
    "\t    7000 [unknown] (/lib/libx.so (deleted))\n"
    "\t    55e0 std::function<void ()>::operator()+0x1f (/usr/bin/my app)\n";

TEST(PerfScriptTest, SymbolsWithSpacesThreadsAndUnknowns) {
  Profile p = ParseOrDie(kTwoThreads);
  EXPECT_EQ(p.str(p.sample_types[1].type), "events");
  EXPECT_EQ(p.str(p.sample_types[1].unit), "count");
  EXPECT_EQ(p.str(p.comments[0]), "perf event: cycles:u");
  EXPECT_EQ(p.period, 250);
  // Equal stacks of different threads stay apart; equal ones merge.
  ASSERT_EQ(p.samples.size(), 3u);
  EXPECT_EQ(Labels(p, 0), (std::map<std::string, std::string>{
                              {"comm", "my worker"}, {"pid", "100"}, {"tid", "101"}}));
  EXPECT_EQ(p.sample_values(0)[0], 2);
  EXPECT_EQ(p.sample_values(0)[1], 350);
  EXPECT_EQ(Labels(p, 1)["tid"], "102");
  EXPECT_EQ(WriteFolded(p, 1),
            "std::function<void ()>::operator();inner(int) const 600\n"
            // Unknown symbols fall back to dso+address, or the address.
            "std::function<void ()>::operator();libx.so (deleted)+0x7000;0xffffffff81000010 250\n");
  auto names = [&](size_t i) {
    std::string s;
    for (uint32_t loc : p.sample_stack(i)) s += p.FrameName(p.locations[loc]) + "|";
    return s;
  };
  EXPECT_EQ(names(2),
            "0xffffffff81000010|libx.so (deleted)+0x7000|"
            "std::function<void ()>::operator()|");
}

TEST(PerfScriptTest, SampleWithoutPeriodCountsOne) {
  Profile p = ParseOrDie(
      "app 7 1.000001: task-clock:\n\t1 f+0x1 (/a)\n\nsleepy app 7 1.5: task-clock:\n\t2 g (/a)\n");
  EXPECT_EQ(p.str(p.sample_types[1].type), "cpu");
  EXPECT_EQ(p.Total(0), 2);
  EXPECT_EQ(p.Total(1), 2);
  EXPECT_EQ(p.period, 1);
  EXPECT_EQ(Labels(p, 1)["comm"], "sleepy app");
  EXPECT_EQ(Labels(p, 1).count("pid"), 0u);
}

TEST(PerfScriptTest, ToleratesCrlfCommentsAndMissingFinalNewline) {
  Profile p = ParseOrDie(
      "# ========\r\n# captured on: x\r\n\r\napp 1/1 1.0: 5 cpu-clock:\r\n\t10 f+0x1 (/a)\r\n"
      "\t20 main+0x2 (/a)\r\n\r\napp 1/1 2.0: 5 cpu-clock:\r\n\t10 f+0x1 (/a)\r\n"
      "\t20 main+0x2 (/a)");
  ASSERT_EQ(p.samples.size(), 1u);
  EXPECT_EQ(p.Total(1), 10);
  EXPECT_EQ(WriteFolded(p, 1), "main;f 10\n");
}

TEST(PerfScriptTest, SampleWithoutCallChainHasItsFrameOnTheHeader) {
  Profile p = ParseOrDie(
      "      app 1/1 [000] 1.0:  3 cpu-clock:ppp:       12f0 lz_match_find+0x8f (/bin/app)\n"
      "      app 1/1 [000] 1.1:  3 cpu-clock:ppp:       12f0 lz_match_find+0x8f (/bin/app)\n");
  ASSERT_EQ(p.samples.size(), 1u);
  EXPECT_EQ(p.Total(1), 6);
  EXPECT_EQ(Labels(p, 0)["comm"], "app");
  EXPECT_EQ(WriteFolded(p, 1), "lz_match_find 6\n");
}

TEST(PerfScriptTest, ErrorsNameTheLine) {
  ExpectError("garbage\n", "line 1: want a sample header");
  ExpectError("\x01\x02\x03 binary\n", "line 1: want a sample header");
  ExpectError("app 1 1.0: 5 cpu-clock:\n\t10 f (/a)\n\nthis is not a header\n",
              "line 4: want a sample header");
  ExpectError("app 1 1.0 5 cpu-clock:\n\t10 f (/a)\n", "line 1");  // no ':' after time
  ExpectError("app 1 1.0: 5 cpu-clock\n\t10 f (/a)\n", "line 1: want \"[period] event:\"");
  ExpectError("app 1.0: 5 cpu-clock:\n\t10 f (/a)\n", "line 1: want a sample header");  // no tid
  ExpectError("\t10 f (/a)\n", "line 1: frame line before any sample header");
  ExpectError("app 1 1.0: 5 cpu-clock:\n\tzz f (/a)\n", "line 2: want a frame");
  ExpectError("app 1 1.0: 5 cpu-clock:\n\t10 f (/a\n", "line 2: frame does not end");
  ExpectError("app 1 1.0: 5 cpu-clock:\n\t10 f /a)\n", "line 2: unbalanced parentheses");
  ExpectError("app 1 1.0: 99999999999999999999 cpu-clock:\n\t10 f (/a)\n",
              "line 1: period 99999999999999999999 is out of range");
  ExpectError(
      "app 1 1.0: 9223372036854775807 cpu-clock:\n\t10 f (/a)\n\n"
      "app 1 1.1: 1 cpu-clock:\n\t10 f (/a)\n",
      "line 4: the total of the periods overflows");
  ExpectError("app 1 1.0: 5 cycles:\n\t10 f (/a)\n\napp 1 1.1: 5 instructions:\n\t10 f (/a)\n",
              "line 4: event \"instructions\" differs");
  // Truncated input: a cut frame line, or a header with nothing after it.
  std::string text = ReadOrDie(SharedTestdata("perf_script.txt")).substr(0, 5000);
  size_t cut = text.rfind(" (/");
  ExpectError(text.substr(0, cut + 5), "line 79: frame does not end");
  ExpectError("app 1 1.0: 5 cpu-clock:\n\t10 f (/a)\n\napp 1 1.1: 5 cpu-clock:\n",
              "line 4: sample has no frames");
  ExpectError("app 1 1.0: 5 cpu-clock:\n\napp 1 1.1: 5 cpu-clock:\n\t10 f (/a)\n",
              "line 1: sample has no frames");
}

TEST(PerfScriptTest, Limits) {
  PerfScriptOptions small;
  small.max_frames = 2;
  auto deep =
      ParsePerfScript("app 1 1.0: 5 cpu-clock:\n\t1 a (/x)\n\t2 b (/x)\n\t3 c (/x)\n", small);
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.status().message().find("line 4: sample has more than 2 frames"),
            std::string::npos);
  small.comm_as_root = true;  // the comm frame does not count against the limit
  EXPECT_TRUE(ParsePerfScript("app 1 1.0: 5 cpu-clock:\n\t1 a (/x)\n\t2 b (/x)\n", small).ok());
  small.max_line_bytes = 20;
  auto wide = ParsePerfScript("app 1 1.0: 5 cpu-clock:\n", small);
  ASSERT_FALSE(wide.ok());
  EXPECT_NE(wide.status().message().find("line 1: longer than 20 bytes"), std::string::npos);
}

TEST(PerfScriptTest, EmptyInputIsAnEmptyProfile) {
  Profile p = ParseOrDie("");
  EXPECT_TRUE(p.samples.empty());
  EXPECT_EQ(p.num_types(), 2u);
  Profile q = ParseOrDie("\n# only comments\n\n");
  EXPECT_TRUE(q.samples.empty());
}

TEST(PerfScriptTest, EveryPrefixOfAnExcerptIsHandled) {
  std::string text = ReadOrDie(SharedTestdata("perf_script.txt")).substr(0, 4000);
  for (size_t n = 0; n <= text.size(); ++n) {
    auto p = ParsePerfScript(std::string_view(text).substr(0, n));
    if (p.ok()) {
      EXPECT_TRUE(p->Validate().ok());
    } else {
      EXPECT_NE(p.status().message().find("line "), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace stackhouse::profile
