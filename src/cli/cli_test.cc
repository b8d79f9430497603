// End-to-end tests of the stackhouse binary's convert and top commands.
#include <gtest/gtest.h>

#include <fstream>

#include "base/testing/testing.h"
#include "profile/formats.h"
#include "profile/pprof.h"

namespace stackhouse::cli {
namespace {

using stackhouse::testing::BinPath;
using stackhouse::testing::CommandResult;
using stackhouse::testing::MakeTempDir;
using stackhouse::testing::ReadOrDie;
using stackhouse::testing::RunCommand;
using stackhouse::testing::SharedTestdata;

CommandResult Stackhouse(std::vector<std::string> args, const std::string& in = "") {
  args.insert(args.begin(), BinPath("stackhouse"));
  return RunCommand(args, in);
}

TEST(CliTest, VersionAndHelp) {
  auto v = Stackhouse({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("stackhouse ", 0), 0u);
  for (auto args : std::vector<std::vector<std::string>>{
           {"help"}, {"--help"}, {"convert", "--help"}, {"top", "--help"}, {"help", "top"}}) {
    auto r = Stackhouse(args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("usage"), std::string::npos) << r.out;
  }
  auto none = Stackhouse({});
  EXPECT_EQ(none.exit_code, 2);
  auto bad = Stackhouse({"frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown command"), std::string::npos);
}

TEST(CliTest, ConvertPprofToFoldedMatchesIndependentTool) {
  auto r = Stackhouse({"convert", SharedTestdata("go_cpu.pb.gz"), "--to", "folded",
                       "--sample-type", "samples"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, ReadOrDie(SharedTestdata("folded.txt")));
}

TEST(CliTest, ConvertFromStdinAndThroughEveryFormat) {
  std::string dir = MakeTempDir();
  std::string folded = ReadOrDie(SharedTestdata("folded.txt"));
  // folded -> pprof (by extension) via stdin, then pprof -> folded.
  auto a = Stackhouse({"convert", "-", "-o", dir + "/p.pb.gz"}, folded);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = Stackhouse({"convert", dir + "/p.pb.gz", "--to", "folded"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.out, folded);
  // pprof -> speedscope -> folded keeps the stacks.
  auto c = Stackhouse({"convert", dir + "/p.pb.gz", "-o", dir + "/p.speedscope.json"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto d = Stackhouse({"convert", dir + "/p.speedscope.json", "--to", "folded"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, folded);
  // flamebearer and svg.
  auto e = Stackhouse({"convert", dir + "/p.pb.gz", "--to", "flamebearer"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("\"numTicks\":514"), std::string::npos);
  auto f = Stackhouse({"convert", dir + "/p.pb.gz", "-o", dir + "/p.svg", "--title", "ledger"});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  std::string svg = ReadOrDie(dir + "/p.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("ledger"), std::string::npos);
  // Uncompressed pprof decodes to the same totals.
  auto g = Stackhouse({"convert", SharedTestdata("go_heap.pb.gz"), "--to", "pprof",
                       "--gzip-level", "0", "-o", dir + "/h.pb"});
  ASSERT_EQ(g.exit_code, 0) << g.err;
  auto h = profile::DecodePprof(ReadOrDie(dir + "/h.pb"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->Total(1), 321690038);
}

TEST(CliTest, ConvertsPerfScriptAndGperftools) {
  auto r = Stackhouse({"convert", SharedTestdata("perf_script.txt"), "--comm-root", "--to",
                       "folded", "--sample-type", "cpu"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, ReadOrDie(SharedTestdata("perf_folded.txt")));
  auto t = Stackhouse({"top", SharedTestdata("gperftools_cpu.prof"), "--sample-type", "samples"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("of 503 total"), std::string::npos) << t.out;
}

TEST(CliTest, TopMatchesGoToolPprof) {
  auto r = Stackhouse({"top", SharedTestdata("go_cpu.pb.gz"), "-n", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // go tool pprof -top: 2660ms 51.75% main.checksumLedger; 1470ms 28.60% main.hashFields.
  EXPECT_NE(r.out.find("Type: cpu (nanoseconds)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2.66 s 51.75%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("main.checksumLedger"), std::string::npos);
  EXPECT_NE(r.out.find("1.47 s 28.60%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Showing top 3 nodes"), std::string::npos);
  auto cum = Stackhouse({"top", SharedTestdata("go_cpu.pb.gz"), "--cum", "-n", "1",
                         "--sample-type", "samples"});
  ASSERT_EQ(cum.exit_code, 0);
  EXPECT_NE(cum.out.find("496 96.50%  main.main"), std::string::npos) << cum.out;
}

TEST(CliTest, BadInputNamesFileAndPosition) {
  std::string dir = MakeTempDir();
  std::string bad = dir + "/bad.pb";
  std::ofstream(bad) << std::string("\x0a\x05\x08", 3);  // truncated protobuf
  auto r = Stackhouse({"convert", bad, "--from", "pprof", "--to", "folded"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("offset"), std::string::npos) << r.err;

  std::string text = dir + "/bad.folded";
  std::ofstream(text) << "a;b 1\na;c x\n";
  auto t = Stackhouse({"top", text});
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_NE(t.err.find(text + ": line 2"), std::string::npos) << t.err;

  auto missing = Stackhouse({"top", dir + "/nope.pb"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.pb"), std::string::npos);

  auto flag = Stackhouse({"convert", "--bogus", "x"});
  EXPECT_EQ(flag.exit_code, 2);
  auto type = Stackhouse({"top", SharedTestdata("go_cpu.pb.gz"), "--sample-type", "heap"});
  EXPECT_EQ(type.exit_code, 1);
  EXPECT_NE(type.err.find("it has: samples, cpu"), std::string::npos) << type.err;
  auto to = Stackhouse({"convert", SharedTestdata("go_cpu.pb.gz"), "--to", "gperftools"});
  EXPECT_EQ(to.exit_code, 2);
  auto empty = Stackhouse({"convert", "-", "--to", "folded"}, "");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("<stdin>"), std::string::npos) << empty.err;
}

}  // namespace
}  // namespace stackhouse::cli

namespace stackhouse::cli {
namespace {

TEST(CliStoreTest, ImportQueryStatsVerifyCompact) {
  std::string dir = MakeTempDir() + "/data";
  auto imp = Stackhouse({"store", "import", dir, SharedTestdata("go_cpu.pb.gz"), "--service", "ledger",
                         "--labels", "env=prod"});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  auto imp2 = Stackhouse({"store", "import", dir, SharedTestdata("folded.txt"), "--service", "folded"});
  ASSERT_EQ(imp2.exit_code, 0) << imp2.err;
  // Several types match without a type in the selector: a clear error.
  auto ambiguous = Stackhouse({"store", "query", dir, "{service_name=\"ledger\"}"});
  EXPECT_EQ(ambiguous.exit_code, 1);
  EXPECT_NE(ambiguous.err.find("several profile types"), std::string::npos) << ambiguous.err;
  auto top = Stackhouse({"store", "query", dir,
                         "process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"ledger\",env=\"prod\"}"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_NE(top.out.find("2.66 s 51.75%"), std::string::npos) << top.out;
  auto folded = Stackhouse({"store", "query", dir,
                            "process_cpu:samples:count:cpu:nanoseconds{service_name=\"ledger\"}",
                            "--format", "folded", "--from", "0", "--until", "now"});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  EXPECT_EQ(folded.out, ReadOrDie(SharedTestdata("folded.txt")));
  auto compact = Stackhouse({"store", "compact", dir});
  ASSERT_EQ(compact.exit_code, 0) << compact.err;
  auto stats = Stackhouse({"store", "stats", dir});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_NE(stats.out.find("tenant=anonymous"), std::string::npos) << stats.out;
  auto verify = Stackhouse({"store", "verify", dir});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
  // Still the same after the cut into a block.
  auto again = Stackhouse({"store", "query", dir,
                           "process_cpu:samples:count:cpu:nanoseconds{service_name=\"ledger\"}",
                           "--format", "folded"});
  EXPECT_EQ(again.out, ReadOrDie(SharedTestdata("folded.txt")));
  auto bad = Stackhouse({"store", "query", dir, "{service_name=}"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("offset"), std::string::npos) << bad.err;
  auto badtime = Stackhouse({"store", "query", dir, "{}", "--from", "yesterday"});
  EXPECT_EQ(badtime.exit_code, 2);
}

}  // namespace
}  // namespace stackhouse::cli
