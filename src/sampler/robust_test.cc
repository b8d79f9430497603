// libstackhouse must never break the program it profiles: many threads,
// fork and exec, dlopen/dlclose, a program with its own SIGPROF handler, a
// server that is down, and runs under valgrind.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <thread>

#include "sampler/testing/sampler_testing.h"
#include "sampler/uploader.h"
#include "server/testing/server_process.h"

namespace stackhouse::sampler::testing {
namespace {

TEST(SamplerRobustTest, TenThousandThreads) {
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"threads", "10000"}, {{"STACKHOUSE_PROFILES", "cpu,wall"}}, dir);
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_EQ(JsonField(res.out, "threads"), 10000);
  // Exited threads gave back their perf event descriptors.
  EXPECT_LT(JsonField(res.out, "open_fds"), 40) << res.out;
  EXPECT_FALSE(ReadProfiles(dir, "cpu").empty());
}

TEST(SamplerRobustTest, ForkAndExec) {
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"fork"}, {{"STACKHOUSE_PROFILES", "cpu,wall,heap,lock"}}, dir);
  ASSERT_EQ(res.exit_code, 0) << res.err << res.out;
  EXPECT_EQ(JsonField(res.out, "child_status"), 0);
  EXPECT_FALSE(ReadProfiles(dir, "cpu").empty());
}

TEST(SamplerRobustTest, ExecFromAProfiledShellKeepsTheNewProgramAlive) {
  // A shell that burns CPU and then execs a program that is not profiled:
  // before the exec interposers, one of our sampling signals left pending
  // across the exec killed the new program nine times out of ten.
  std::string dir = stackhouse::testing::MakeTempDir();
  const std::string script =
      "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; STACKHOUSE_AUTOSTART=0 exec /bin/true";
  for (int i = 0; i < 20; ++i) {
    auto res = stackhouse::testing::RunCommand({"/usr/bin/env", "LD_PRELOAD=" + LibraryPath(),
                                                "STACKHOUSE_PROFILES=cpu,wall",
                                                "STACKHOUSE_OUTPUT_DIR=" + dir, "/bin/bash", "-c",
                                                script});
    ASSERT_EQ(res.exit_code, 0) << "run " << i << ": " << res.err;
  }
}

TEST(SamplerRobustTest, ExecChainOfProfiledImages) {
  // Ten images, each profiled, each exec'ing the next (execl and execv);
  // the last one's failed exec leaves its profiling working.
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"exec", "10"}, {{"STACKHOUSE_PROFILES", "cpu,wall"}}, dir);
  ASSERT_EQ(res.exit_code, 0) << res.err << res.out;
  EXPECT_NE(res.out.find("exec_chain_done"), std::string::npos) << res.out;
  EXPECT_GT(SumWhereStackHas(ReadProfiles(dir, "cpu"), "cpu", "BurnA"), 0);
}

TEST(SamplerRobustTest, DlopenAndDlcloseWhileProfiling) {
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"dlopen", PluginPath(), "6"}, {}, dir, /*fp=*/false);
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto profiles = ReadProfiles(dir, "cpu");
  // Samples in the plugin are symbolized although it was unloaded since:
  // nearly all the CPU went there.
  double all = SumWhereStackHas(profiles, "cpu", "");
  EXPECT_GT(all, 2e8);
  EXPECT_GT(SumWhereStackHas(profiles, "cpu", "plugin_burn") / all, 0.8);
}

TEST(SamplerRobustTest, ProgramWithItsOwnSigprofHandler) {
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"sigprof", "2"}, {}, dir);
  ASSERT_EQ(res.exit_code, 0) << res.err;
  // The program's own 100 Hz ITIMER_PROF still reaches its handler...
  double cpu_s = JsonField(res.out, "cpu_ns") / 1e9;
  EXPECT_NEAR(JsonField(res.out, "own_signals") / (cpu_s * 100), 1.0, 0.3) << res.out;
  // ...and our profile is still right (we sample on another signal).
  auto profiles = ReadProfiles(dir, "cpu");
  EXPECT_NEAR(SumWhereStackHas(profiles, "cpu", "BurnB") / JsonField(res.out, "cpu_ns"), 1.0, 0.1);
}

TEST(SamplerRobustTest, ItimerEngineStepsAsideForTheProgramsSigprof) {
  // Forced onto itimer, the library finds SIGPROF taken only after start;
  // the program's handler must still get its signals.
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"sigprof", "2"}, {{"STACKHOUSE_ENGINE", "itimer"}}, dir);
  ASSERT_EQ(res.exit_code, 0) << res.err;
  double cpu_s = JsonField(res.out, "cpu_ns") / 1e9;
  EXPECT_NEAR(JsonField(res.out, "own_signals") / (cpu_s * 100), 1.0, 0.3) << res.out;
}

TEST(SamplerRobustTest, ServerDownNeitherBlocksNorGrows) {
  // A port nobody listens on.
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&addr), len), 0);
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(s);
  std::string stats = stackhouse::testing::MakeTempDir() + "/stats.json";
  auto res = RunWorkload({"cpu", "4", "2"},
                         {{"STACKHOUSE_SERVER_ADDRESS", "http://127.0.0.1:" + std::to_string(port)},
                          {"STACKHOUSE_UPLOAD_INTERVAL", "200ms"},
                          {"STACKHOUSE_PROFILES", "cpu,wall"},
                          {"WORKLOAD_STATS", stats}},
                         "");
  ASSERT_EQ(res.exit_code, 0) << res.err;
  std::string json = stackhouse::testing::ReadOrDie(stats);
  EXPECT_GT(JsonField(json, "upload_failures"), 0) << json;
  EXPECT_EQ(JsonField(json, "uploads_sent"), 0) << json;
  // Bounded: 20 intervals x 2 profiles were made, at most 16 are queued.
  EXPECT_LE(JsonField(json, "uploads_queued"), 16) << json;
  EXPECT_GT(JsonField(json, "uploads_dropped"), 0) << json;
}

TEST(SamplerRobustTest, QueuedProfilesArriveWhenTheServerComesBack) {
  int port = server::testing::FreePort();
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::string stats = stackhouse::testing::MakeTempDir() + "/stats.json";
  stackhouse::testing::CommandResult res;
  std::thread workload([&] {
    res = RunWorkload({"cpu", "4", "2"},
                      {{"STACKHOUSE_SERVER_ADDRESS", base},
                       {"STACKHOUSE_APPLICATION_NAME", "comes-back"},
                       {"STACKHOUSE_UPLOAD_INTERVAL", "300ms"},
                       {"WORKLOAD_STATS", stats}},
                      "");
  });
  usleep(1500000);  // the first uploads fail and are queued
  std::string dir = stackhouse::testing::MakeTempDir();
  server::testing::ServerProcess server(dir, port);
  ASSERT_TRUE(server.WaitReady());
  workload.join();
  ASSERT_EQ(res.exit_code, 0) << res.err;
  std::string json = stackhouse::testing::ReadOrDie(stats);
  EXPECT_GT(JsonField(json, "upload_failures"), 0) << json;
  EXPECT_GE(JsonField(json, "uploads_sent"), 5) << json;
  server::HttpClient c(std::chrono::seconds(10));
  auto r = c.Get(base + "/pyroscope/render?from=now-1h&until=now&format=json&query=" +
                 Uploader::Escape("process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"comes-back\"}"));
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->body.find("BurnA"), std::string::npos);
}

TEST(SamplerRobustTest, RunsUnderValgrindMemcheck) {
  if (access("/usr/bin/valgrind", X_OK) != 0) GTEST_FAIL() << "valgrind is not installed (scripts/setup installs it)";
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunWorkload({"cpu", "1", "2"}, {{"STACKHOUSE_PROFILES", "cpu,wall,lock"}}, dir, true,
                         {"/usr/bin/valgrind", "--error-exitcode=9", "--quiet", "--trace-children=no"});
  EXPECT_EQ(res.exit_code, 0) << res.err;
  EXPECT_EQ(res.err.find("Invalid read"), std::string::npos) << res.err;
}

TEST(SamplerRobustTest, RunsUnderAddressSanitizer) {
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunLinkedWorkload("sampler_workload_address", {"cpu", "1", "2"},
                               {{"STACKHOUSE_PROFILES", "cpu,wall,lock"}, {"WORKLOAD_LABELS", "1"}}, dir);
  EXPECT_EQ(res.exit_code, 0) << res.err;
  EXPECT_EQ(res.err.find("AddressSanitizer"), std::string::npos) << res.err;
  EXPECT_GT(SumWhereStackHas(ReadProfiles(dir, "cpu"), "cpu", "BurnB"), 0);
}

TEST(SamplerRobustTest, RunsUnderThreadSanitizer) {
  std::string dir = stackhouse::testing::MakeTempDir();
  auto res = RunLinkedWorkload("sampler_workload_thread", {"cpu", "1", "2"},
                               {{"STACKHOUSE_PROFILES", "cpu,wall,lock"}, {"WORKLOAD_LABELS", "1"}}, dir);
  EXPECT_EQ(res.exit_code, 0) << res.err;
  EXPECT_EQ(res.err.find("ThreadSanitizer"), std::string::npos) << res.err;
  // TSan defers asynchronous signals to its own safe points and hands the
  // handler another context, so stacks are not exact under TSan: only the
  // leaf is checked.
  EXPECT_GT(SumWhereLeafIs(ReadProfiles(dir, "cpu"), "cpu", "Spin"), 0);
}

}  // namespace
}  // namespace stackhouse::sampler::testing
