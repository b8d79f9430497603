// End to end: a program profiled in zero-code mode (LD_PRELOAD) sends its
// profiles to a real `stackhouse server` on 127.0.0.1, where they can be
// queried by service, tag and thread label; the server profiles itself.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "sampler/testing/sampler_testing.h"
#include "sampler/uploader.h"
#include "server/testing/server_process.h"

namespace stackhouse::sampler::testing {
namespace {

using server::HttpClient;
using server::testing::FreePort;
using server::testing::ServerProcess;

std::string Get(const std::string& url) {
  HttpClient c(std::chrono::seconds(10));
  auto r = c.Get(url);
  if (!r.ok()) return "error: " + r.status().ToString();
  return std::to_string(r->status) + " " + r->body;
}

std::string Render(const std::string& base, const std::string& query) {
  return Get(base + "/pyroscope/render?from=now-1h&until=now&format=json&query=" +
             Uploader::Escape(query));
}

TEST(SamplerServerTest, ZeroCodeProfilesReachTheServer) {
  setenv("STACKHOUSE_UPLOAD_INTERVAL", "1s", 1);  // the server's self-profiling
  std::string dir = stackhouse::testing::MakeTempDir();
  int port = FreePort();
  ServerProcess server(dir, port);
  unsetenv("STACKHOUSE_UPLOAD_INTERVAL");
  ASSERT_TRUE(server.WaitReady());

  auto res = RunWorkload({"cpu", "3", "2"},
                         {{"STACKHOUSE_SERVER_ADDRESS", server.base()},
                          {"STACKHOUSE_APPLICATION_NAME", "sdk-e2e"},
                          {"STACKHOUSE_TAGS", "env=test"},
                          {"STACKHOUSE_UPLOAD_INTERVAL", "1s"},
                          {"STACKHOUSE_PROFILES", "cpu,wall,heap,lock"},
                          {"WORKLOAD_LABELS", "1"}},
                         "");
  ASSERT_EQ(res.exit_code, 0) << res.err;

  std::string cpu = Render(server.base(), "process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"sdk-e2e\"}");
  EXPECT_EQ(cpu.rfind("200 ", 0), 0u) << cpu.substr(0, 300);
  EXPECT_NE(cpu.find("BurnA"), std::string::npos);
  EXPECT_NE(cpu.find("BurnB"), std::string::npos);
  // Thread labels became series labels.
  std::string only_a =
      Render(server.base(), "process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"sdk-e2e\",endpoint=\"/a\"}");
  EXPECT_NE(only_a.find("BurnA"), std::string::npos);
  EXPECT_EQ(only_a.find("BurnB"), std::string::npos);
  std::string env = Get(server.base() + "/pyroscope/label-values?label=env");
  EXPECT_NE(env.find("test"), std::string::npos) << env;
  // Heap profiles of another run of the same service.
  auto heap = RunWorkload({"heap", "256"},
                          {{"STACKHOUSE_SERVER_ADDRESS", server.base()},
                           {"STACKHOUSE_APPLICATION_NAME", "sdk-e2e"},
                           {"STACKHOUSE_PROFILES", "heap"}},
                          "");
  ASSERT_EQ(heap.exit_code, 0) << heap.err;
  std::string inuse = Render(server.base(), "memory:inuse_space:bytes:space:bytes{service_name=\"sdk-e2e\"}");
  EXPECT_NE(inuse.find("KeepAlive"), std::string::npos) << inuse.substr(0, 300);
  std::string types = Get(server.base() + "/pyroscope/label-values?label=__name__");
  EXPECT_NE(types.find("wall"), std::string::npos) << types;
  EXPECT_NE(types.find("memory"), std::string::npos) << types;
  EXPECT_NE(types.find("process_cpu"), std::string::npos) << types;

  // The server's own CPU profiles, uploaded every second once it has used
  // some CPU: queries give it work.
  std::string services;
  for (int i = 0; i < 200; ++i) {
    Render(server.base(), "process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"sdk-e2e\"}");
    services = Get(server.base() + "/pyroscope/label-values?label=service_name");
    if (services.find("stackhouse-server") != std::string::npos) break;
    usleep(50000);
  }
  EXPECT_NE(services.find("stackhouse-server"), std::string::npos) << services;
}

}  // namespace
}  // namespace stackhouse::sampler::testing
