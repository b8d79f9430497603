// End-to-end tests of `stackhouse server`, `push` and `query`: the real
// binary as a server process and as the client.
#include <gtest/gtest.h>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/pprof.h"
#include "server/testing/server_process.h"

namespace stackhouse::cli {
namespace {

using server::testing::FreePort;
using server::testing::ServerProcess;
using stackhouse::testing::BinPath;
using stackhouse::testing::CommandResult;
using stackhouse::testing::MakeTempDir;
using stackhouse::testing::ReadOrDie;
using stackhouse::testing::RunCommand;
using stackhouse::testing::SharedTestdata;

CommandResult Stackhouse(std::vector<std::string> args) {
  args.insert(args.begin(), BinPath("stackhouse"));
  return RunCommand(args);
}

const char kCpu[] = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";

TEST(RemoteCliTest, ServerHelpAndBadFlags) {
  auto help = Stackhouse({"server", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* opt : {"--http-addr", "--data-dir", "--config", "--max-body-bytes",
                          "--max-decompressed-bytes", "--read-timeout", "--max-connections",
                          "--ingestion-rate-mb", "--max-query-range", "--max-nodes",
                          "STACKHOUSE_HTTP_ADDR", "limits.max_body_bytes"}) {
    EXPECT_NE(help.out.find(opt), std::string::npos) << opt;
  }
  auto bad = Stackhouse({"server", "--no-such-flag"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--no-such-flag"), std::string::npos) << bad.err;
  std::string dir = MakeTempDir();
  {
    std::FILE* f = std::fopen((dir + "/bad.yaml").c_str(), "w");
    std::fputs("limits:\n  max_body_bytes: lots\n", f);
    std::fclose(f);
  }
  auto yaml = Stackhouse({"server", "--config", dir + "/bad.yaml"});
  EXPECT_EQ(yaml.exit_code, 2);
  EXPECT_NE(yaml.err.find("limits.max_body_bytes"), std::string::npos) << yaml.err;
  for (auto args : std::vector<std::vector<std::string>>{{"push", "--help"}, {"query", "--help"}}) {
    auto r = Stackhouse(args);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("usage"), std::string::npos);
  }
}

TEST(RemoteCliTest, PushThenQueryInEveryFormat) {
  const std::string dir = MakeTempDir();
  ServerProcess server(dir + "/data", FreePort());
  ASSERT_TRUE(server.WaitReady());
  // The profile's own time (2026-11-26 07:17 UTC) decides where it lands.
  const std::string from = "1795676400", until = "1795680000";
  auto push = Stackhouse({"push", SharedTestdata("go_cpu.pb.gz"), SharedTestdata("folded.txt"),
                          "--server", server.base(), "--service", "ledger", "--labels",
                          "env=prod,region=eu", "--tenant", "team-a"});
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.err.find("pushed"), std::string::npos);

  std::string q = StrCat(kCpu, "{service_name=\"ledger\",env=\"prod\"}");
  auto top = Stackhouse({"query", q, "--from", from, "--until", until, "--server", server.base(),
                         "--tenant", "team-a", "-n", "3"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  // The ground truth: main.checksumLedger has 2.66 s flat of 5.14 s.
  EXPECT_NE(top.out.find("main.checksumLedger"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("2.66 s"), std::string::npos) << top.out;

  auto folded = Stackhouse({"query", q, "--from", from, "--until", until, "--server",
                            server.base(), "--tenant", "team-a", "--format", "folded"});
  ASSERT_EQ(folded.exit_code, 0) << folded.err;
  int64_t sum = 0;
  for (std::string_view line : Split(folded.out, '\n')) {
    size_t sp = line.rfind(' ');
    if (sp != std::string_view::npos) sum += *ParseInt64(line.substr(sp + 1));
  }
  EXPECT_EQ(sum, 5140000000);

  auto pprof = Stackhouse({"query", q, "--from", from, "--until", until, "--server",
                           server.base(), "--tenant", "team-a", "--format", "pprof", "-o",
                           dir + "/out.pb.gz"});
  ASSERT_EQ(pprof.exit_code, 0) << pprof.err;
  auto p = profile::DecodePprof(ReadOrDie(dir + "/out.pb.gz"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Total(0), 5140000000);

  auto fb = Stackhouse({"query", q, "--from", from, "--until", until, "--server", server.base(),
                        "--tenant", "team-a", "--format", "flamebearer"});
  ASSERT_EQ(fb.exit_code, 0) << fb.err;
  EXPECT_NE(fb.out.find("\"numTicks\":5140000000"), std::string::npos);

  // A diff of the hour against an empty earlier hour: everything is new.
  auto diff = Stackhouse({"query", q, "--from", "1795672800", "--until", from, "--diff-from",
                          from, "--diff-until", until, "--server", server.base(), "--tenant",
                          "team-a", "-n", "2"});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_NE(diff.out.find("+2660000000  main.checksumLedger"), std::string::npos) << diff.out;

  // Another tenant sees nothing.
  auto other = Stackhouse({"query", q, "--from", from, "--until", until, "--server",
                           server.base(), "--format", "folded"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(other.out, "");

  // Errors name what is wrong.
  auto bad_query = Stackhouse({"query", "{nope", "--server", server.base()});
  EXPECT_EQ(bad_query.exit_code, 2);
  auto bad_file = Stackhouse({"push", dir + "/missing.pb.gz", "--server", server.base()});
  EXPECT_EQ(bad_file.exit_code, 1);
  EXPECT_NE(bad_file.err.find("missing.pb.gz"), std::string::npos) << bad_file.err;
  auto range = Stackhouse({"query", q, "--from", "now-90d", "--server", server.base()});
  EXPECT_EQ(range.exit_code, 1);
  EXPECT_NE(range.err.find("server answered 400"), std::string::npos) << range.err;
  server.Kill(SIGTERM);
  auto down = Stackhouse({"push", SharedTestdata("go_cpu.pb.gz"), "--server", server.base()});
  EXPECT_EQ(down.exit_code, 1);
}

}  // namespace
}  // namespace stackhouse::cli
