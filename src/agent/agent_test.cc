// `stackhouse agent` end to end, as root: it profiles workloads it knows
// nothing about and a real server shows their functions with the right
// split, full stacks and named kernel frames.
#include <gtest/gtest.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <sstream>

#include "base/file.h"
#include "profile/pprof.h"
#include "base/strings.h"
#include "sampler/testing/sampler_testing.h"
#include "server/testing/server_process.h"

namespace stackhouse::agent {
namespace {

using server::testing::FreePort;
using server::testing::ServerProcess;

class AgentProcess {
 public:
  AgentProcess(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {stackhouse::testing::BinPath("stackhouse"), "agent", "--log-level", "info"};
    argv.insert(argv.end(), args.begin(), args.end());
    log_ = stackhouse::testing::MakeTempDir() + "/agent.log";
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 2);
      std::vector<char*> c;
      for (auto& a : argv) c.push_back(a.data());
      c.push_back(nullptr);
      execv(c[0], c.data());
      _exit(127);
    }
    // Ready once it has opened its events and loaded the kernel symbols.
    for (int i = 0; i < 300; ++i) {
      auto text = ReadFile(log_);
      if (text.ok() && text->find("agent started") != std::string::npos) break;
      usleep(100000);
    }
  }
  pid_t pid() const { return pid_; }
  std::string Log() const {
    auto text = ReadFile(log_);
    return text.ok() ? *text : "";
  }
  // Stops it the way an operator would (it sends what it has first).
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  ~AgentProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// Runs a command to completion; returns its pid (the agent labels samples
// with it, which keeps other tests' processes out of the queries).
pid_t RunToEnd(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    std::vector<std::string> a = args;
    std::vector<char*> c;
    for (auto& x : a) c.push_back(x.data());
    c.push_back(nullptr);
    execv(c[0], c.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << args[0];
  return pid;
}

// stack -> value from `stackhouse query --format folded`.
std::map<std::string, int64_t> Folded(const std::string& base, const std::string& service, pid_t pid,
                                     const std::string& type = "process_cpu:cpu:nanoseconds:cpu:nanoseconds") {
  auto r = stackhouse::testing::RunCommand(
      {stackhouse::testing::BinPath("stackhouse"), "query",
       StrCat(type, "{service_name=\"", service, "\",pid=\"", pid, "\"}"),
       "--server", base, "--from", "now-15m", "--format", "folded"});
  std::map<std::string, int64_t> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] += atoll(line.c_str() + sp + 1);
  }
  return out;
}

int64_t Sum(const std::map<std::string, int64_t>& f, const std::string& frame) {
  int64_t s = 0;
  for (const auto& [stack, v] : f) {
    if (frame.empty() || stack.find(frame) != std::string::npos) s += v;
  }
  return s;
}

// The BPF engine, and the perf fallback when BPF cannot be loaded.
class AgentEngineTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AgentEngineTest, ProfilesAWorkloadWithKernelFramesAndFullStacks) {
  ASSERT_EQ(geteuid(), 0u) << "the agent tests run as root";
  const bool fallback = GetParam() == "fallback";
  std::string dir = stackhouse::testing::MakeTempDir();
  int port = FreePort();
  ServerProcess server(dir, port);
  ASSERT_TRUE(server.WaitReady());
  int metrics_port = FreePort();
  std::vector<std::string> args = {"--server", server.base(), "--upload-interval", "1s", "--sample-rate", "499",
                                   "--comm", "sampler_work", "--metrics-addr", StrCat("127.0.0.1:", metrics_port)};
  if (fallback) args.push_back("--simulate-no-bpf");
  AgentProcess agent(args);
  pid_t work = RunToEnd({sampler::testing::WorkloadPath(true), "work", "25", "0"});
  pid_t nofp = RunToEnd({sampler::testing::WorkloadPath(false), "work", "25", "0"});
  pid_t sys = RunToEnd({sampler::testing::WorkloadPath(true), "syscalls", "1.5"});
  pid_t jit = RunToEnd({sampler::testing::WorkloadPath(true), "jit", "1"});
  // Its own metrics.
  server::HttpClient c(std::chrono::seconds(5));
  auto m = c.Get(StrCat("http://127.0.0.1:", metrics_port, "/metrics"));
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->body.find("stackhouse_agent_samples_total"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("stackhouse_agent_uploads_sent_total"), std::string::npos);
  ASSERT_EQ(agent.Stop(), 0);
  unlink(StrCat("/tmp/perf-", jit, ".map").c_str());
  std::string log = agent.Log();
  if (fallback) {
    EXPECT_NE(log.find("falling back to perf_event ring buffers"), std::string::npos) << log;
    EXPECT_NE(log.find("\"engine\":\"perf\""), std::string::npos) << log;
  } else {
    EXPECT_NE(log.find("\"engine\":\"bpf\""), std::string::npos) << log;
  }

  // Built with and without frame pointers: the same split, full stacks.
  for (auto [service, pid] : {std::pair<std::string, pid_t>{"sampler_workload", work},
                              std::pair<std::string, pid_t>{"sampler_workload_nofp", nofp}}) {
    SCOPED_TRACE(service);
    auto f = Folded(server.base(), service, pid);
    ASSERT_FALSE(f.empty()) << "no profile for the workload";
    double a = Sum(f, "BurnA("), b = Sum(f, "BurnB(");
    ASSERT_GT(a + b, 0);
    // The workload's own clocks put BurnA at 30% (see cpu_test.cc).
    EXPECT_NEAR(a / (a + b), 0.30, 0.05);
    double to_main = 0;  // burner stacks that go all the way down to main
    for (const auto& [stack, v] : f) {
      if (stack.find("Burn") != std::string::npos && stack.find("main;") != std::string::npos &&
          stack.find("WorkCycles") != std::string::npos) {
        to_main += v;
      }
    }
    EXPECT_GT(to_main / (a + b), 0.95);
  }
  // The syscall loop's time is in named kernel functions, under the loop
  // (found through libc's read/write, which have no frame pointers).
  auto f = Folded(server.base(), "sampler_workload", sys);
  double sys_total = Sum(f, "main;Syscalls;"), in_kernel = 0;
  for (const auto& [stack, v] : f) {
    if (stack.find("main;Syscalls;") != std::string::npos && stack.find("do_syscall_64") != std::string::npos) {
      in_kernel += v;
    }
  }
  ASSERT_GT(sys_total, 0);
  EXPECT_GT(in_kernel / sys_total, 0.5);
  // JIT code is named from /tmp/perf-PID.map.
  auto j = Folded(server.base(), "sampler_workload", jit);
  EXPECT_GT(Sum(j, "jit_spin_loop") / std::max<double>(1, Sum(j, "")), 0.8);
}

INSTANTIATE_TEST_SUITE_P(Engines, AgentEngineTest, ::testing::Values("bpf", "fallback"));

TEST(AgentTest, OffCpuTimeOnTheBlockedStack) {
  ASSERT_EQ(geteuid(), 0u) << "the agent tests run as root";
  std::string dir = stackhouse::testing::MakeTempDir();
  int port = FreePort();
  ServerProcess server(dir, port);
  ASSERT_TRUE(server.WaitReady());
  AgentProcess agent({"--server", server.base(), "--upload-interval", "1s", "--comm", "sampler_work",
                      "--metrics-addr", "", "--off-cpu"});
  // One thread sleeps 2 s in nanosleep while another burns and the main
  // thread waits to join them: built with and without frame pointers.
  pid_t fp = RunToEnd({sampler::testing::WorkloadPath(true), "wall", "2"});
  pid_t nofp = RunToEnd({sampler::testing::WorkloadPath(false), "wall", "2"});
  ASSERT_EQ(agent.Stop(), 0);
  for (auto [service, pid] : {std::pair<std::string, pid_t>{"sampler_workload", fp},
                              std::pair<std::string, pid_t>{"sampler_workload_nofp", nofp}}) {
    SCOPED_TRACE(service);
    auto f = Folded(server.base(), service, pid, "off_cpu:off_cpu:nanoseconds:off_cpu:nanoseconds");
    ASSERT_FALSE(f.empty()) << "no off-CPU profile";
    // The sleeper's 2 s are on the nanosleep stack, kernel frames included,
    // and nothing of the BPF program's own frames is left in them.
    double sleep_ns = 0;
    for (const auto& [stack, v] : f) {
      if (stack.find("nanosleep;") != std::string::npos && stack.find("do_nanosleep") != std::string::npos) {
        sleep_ns += v;
      }
      EXPECT_EQ(stack.find("bpf_"), std::string::npos) << stack;
    }
    EXPECT_NEAR(sleep_ns / 1e9, 2.0, 0.2);
    // The main thread blocks in pthread_join for about as long.
    EXPECT_NEAR(Sum(f, "futex_wait") / 1e9, 2.0, 0.3);
  }
}

// --otlp-endpoint: the same profiles as OTLP/HTTP (here to the server's
// own OTLP receiver, as to an OpenTelemetry Collector).
TEST(AgentTest, SendsOtlp) {
  ASSERT_EQ(geteuid(), 0u) << "the agent tests run as root";
  std::string dir = stackhouse::testing::MakeTempDir();
  int port = FreePort();
  ServerProcess server(dir, port);
  ASSERT_TRUE(server.WaitReady());
  AgentProcess agent({"--otlp-endpoint", server.base(), "--upload-interval", "1s", "--sample-rate", "199", "--comm",
                      "sampler_work", "--metrics-addr", "", "--host", "otlp-host"});
  pid_t work = RunToEnd({sampler::testing::WorkloadPath(true), "work", "15", "0"});
  ASSERT_EQ(agent.Stop(), 0);
  auto f = Folded(server.base(), "sampler_workload", work);
  double a = Sum(f, "BurnA("), b = Sum(f, "BurnB(");
  ASSERT_GT(a + b, 0) << "nothing arrived over OTLP";
  EXPECT_NEAR(a / (a + b), 0.30, 0.07);
  // The resource's host.name is a series label.
  auto r = stackhouse::testing::RunCommand(
      {stackhouse::testing::BinPath("stackhouse"), "query",
       "process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"sampler_workload\",host_name=\"otlp-host\"}",
       "--server", server.base(), "--from", "now-15m", "--format", "folded"});
  EXPECT_NE(r.out.find("BurnA("), std::string::npos) << r.out << r.err;
}

TEST(AgentTest, SaysWhatIsMissingWithoutPrivileges) {
  ASSERT_EQ(geteuid(), 0u) << "the agent tests run as root";
  std::string log = stackhouse::testing::MakeTempDir() + "/agent.log";
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    dup2(fd, 2);
    // An ordinary user: no CAP_BPF, no CAP_PERFMON.
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(126);
    execl(stackhouse::testing::BinPath("stackhouse").c_str(), "stackhouse", "agent", "--output-dir", "/tmp",
          "--metrics-addr", "", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  std::string err = stackhouse::testing::ReadOrDie(log);
  EXPECT_NE(err.find("CAP_BPF"), std::string::npos) << err;
  EXPECT_NE(err.find("CAP_PERFMON"), std::string::npos) << err;
}

int64_t RssKb(pid_t pid) {
  std::string status = stackhouse::testing::ReadOrDie(StrCat("/proc/", pid, "/status"));
  size_t at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : atoll(status.c_str() + at + 6);
}

void SpawnShortLived(int n) {
  for (int i = 0; i < n; ++i) {
    pid_t p = fork();
    if (p == 0) {
      execl("/bin/true", "true", static_cast<char*>(nullptr));
      _exit(127);
    }
    waitpid(p, nullptr, 0);
  }
}

TEST(AgentTest, ShortLivedProcessesAreDroppedAndMemoryStaysBounded) {
  ASSERT_EQ(geteuid(), 0u) << "the agent tests run as root";
  std::string out = stackhouse::testing::MakeTempDir();
  // Only the short-lived processes (other tests may run on this host).
  AgentProcess agent({"--output-dir", out, "--upload-interval", "300ms", "--sample-rate", "999", "--comm", "^true$",
                      "--metrics-addr", ""});
  // Hundreds per second. Per-process state is dropped a few intervals after
  // a process was last seen, so the table stays small; memory stays bounded
  // (it grows only with the symbol data of the binaries that run).
  SpawnShortLived(6000);
  usleep(1500000);
  int64_t rss = RssKb(agent.pid());
  EXPECT_GT(rss, 0);
  EXPECT_LT(rss, 128 * 1024) << rss << " kB";
  EXPECT_EQ(agent.Stop(), 0);
  std::string log = agent.Log();
  size_t at = log.find("\"processes_tracked\":");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_LT(atoi(log.c_str() + at + 20), 300) << "expired process entries were kept";
}

TEST(AgentTest, DutyCycleSamplesPartOfTheTime) {
  ASSERT_EQ(geteuid(), 0u) << "the agent tests run as root";
  std::string out = stackhouse::testing::MakeTempDir();
  AgentProcess agent({"--output-dir", out, "--upload-interval", "10s", "--sample-rate", "199", "--comm",
                      "sampler_work", "--metrics-addr", "", "--duty-cycle", "500ms/2s"});
  rusage before, after;
  getrusage(RUSAGE_CHILDREN, &before);
  pid_t work = RunToEnd({sampler::testing::WorkloadPath(true), "cpu", "4", "1"});
  getrusage(RUSAGE_CHILDREN, &after);
  auto ns = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e9 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e3;
  };
  double work_cpu_ns = ns(after) - ns(before);
  ASSERT_EQ(agent.Stop(), 0);
  int64_t cpu_ns = 0;
  DIR* d = opendir(out.c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (!name.ends_with(".pb.gz")) continue;
    auto p = profile::DecodePprof(stackhouse::testing::ReadOrDie(out + "/" + name));
    ASSERT_TRUE(p.ok());
    int t = p->FindSampleType("cpu");
    for (size_t i = 0; i < p->samples.size(); ++i) {
      for (const profile::Label& l : p->sample_labels(i)) {
        if (p->str(l.key) == "pid" && p->str(l.str) == std::to_string(work)) cpu_ns += p->sample_values(i)[t];
      }
    }
  }
  closedir(d);
  // Two whole periods of one burning thread, sampled a quarter of the time.
  EXPECT_NEAR(cpu_ns / work_cpu_ns, 0.25, 0.1) << cpu_ns << " of " << work_cpu_ns;
}

TEST(AgentTest, ClearErrors) {
  auto r = stackhouse::testing::RunCommand({stackhouse::testing::BinPath("stackhouse"), "agent"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--server"), std::string::npos) << r.err;
  r = stackhouse::testing::RunCommand(
      {stackhouse::testing::BinPath("stackhouse"), "agent", "--server", "localhost:4040"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("http://"), std::string::npos) << r.err;
  r = stackhouse::testing::RunCommand(
      {stackhouse::testing::BinPath("stackhouse"), "agent", "--server", "http://x", "--comm", "(("});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--comm"), std::string::npos) << r.err;
  r = stackhouse::testing::RunCommand(
      {stackhouse::testing::BinPath("stackhouse"), "agent", "--server", "http://x", "--cgroup", "[z"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--cgroup"), std::string::npos) << r.err;
  r = stackhouse::testing::RunCommand(
      {stackhouse::testing::BinPath("stackhouse"), "agent", "--server", "http://x", "--duty-cycle", "60s/10s"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--duty-cycle"), std::string::npos) << r.err;
  r = stackhouse::testing::RunCommand(
      {stackhouse::testing::BinPath("stackhouse"), "agent", "--server", "http://x", "--engine", "ebpf"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--engine"), std::string::npos) << r.err;
  r = stackhouse::testing::RunCommand(
      {stackhouse::testing::BinPath("stackhouse"), "agent", "--server", "http://x", "--off-cpu-min", "soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--off-cpu-min"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace stackhouse::agent
