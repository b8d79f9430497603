// Pull mode against a live Go program serving net/http/pprof: every profile
// type arrives with job and instance labels, mutex and block profiles are
// stored as deltas, and target health shows on /api/v1/targets and
// /metrics. Also the scrape_configs errors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "api/querier/v1/querier.pb.h"
#include "base/file.h"
#include "base/strings.h"
#include "base/testing/testing.h"
#include "base/time_parse.h"
#include "profile/pprof.h"
#include "server/http_client.h"
#include "server/testing/test_server.h"

namespace stackhouse::server {
namespace {

using testing::TestServer;

class GoProgram {
 public:
  GoProgram() {
    std::string out = stackhouse::testing::MakeTempDir() + "/addr";
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      std::string bin = stackhouse::testing::BinPath("pprofserver");
      execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100 && addr_.empty(); ++i) {
      usleep(100000);
      auto text = ReadFile(out);
      if (text.ok() && text->find('\n') != std::string::npos) addr_ = std::string(TrimSpace(*text));
    }
  }
  ~GoProgram() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  const std::string& addr() const { return addr_; }

 private:
  pid_t pid_;
  std::string addr_;
};

int64_t Total(TestServer& s, const std::string& type, const std::string& selector, profile::Profile* merged = nullptr) {
  querier::v1::SelectMergeProfileRequest req;
  req.set_profile_typeid(type);
  req.set_label_selector(selector);
  req.set_start((NowNanos() - int64_t{600} * 1000000000) / 1000000);
  req.set_end((NowNanos() + int64_t{60} * 1000000000) / 1000000);
  google::v1::Profile resp;
  EXPECT_EQ(s.Call("/querier.v1.QuerierService/SelectMergeProfile", req, &resp, false), 200) << type;
  auto p = profile::DecodePprof(resp.SerializeAsString());
  if (!p.ok() || p->num_types() == 0) return 0;
  int64_t t = p->Total(0);
  if (merged != nullptr) *merged = std::move(*p);
  return t;
}

std::string Fetch(const std::string& url) {
  HttpClient c(std::chrono::seconds(10));
  auto r = c.Get(url);
  return r.ok() ? r->body : "";
}

TEST(ServerScrapeTest, ScrapesALiveGoProgram) {
  GoProgram go;
  ASSERT_FALSE(go.addr().empty()) << "the Go program did not start";
  ServerConfig c = testing::TestConfig();
  ScrapeConfig job;
  job.job_name = "goapp";
  job.interval_ns = int64_t{2} * 1000000000;
  job.cpu_seconds = 1;
  job.static_configs.push_back({{go.addr()}, {{"env", "test"}}});
  for (const char* n : {"process_cpu", "memory", "mutex", "block", "goroutine"}) {
    std::string name = n;
    std::string path = name == "process_cpu" ? "/debug/pprof/profile"
                       : name == "memory"    ? "/debug/pprof/heap"
                                             : "/debug/pprof/" + name;
    job.profiles.push_back({name, path, name == "mutex" || name == "block"});
  }
  ScrapeConfig down = job;
  down.job_name = "down";
  down.static_configs = {{{"127.0.0.1:1"}, {}}};
  down.profiles.resize(1);
  c.scrape_configs = {job, down};
  TestServer s(c);
  // Four rounds: the CPU profile takes a second each.
  sleep(8);
  std::string sel = StrCat("{service_name=\"goapp\",job=\"goapp\",instance=\"", go.addr(), "\",env=\"test\"}");
  profile::Profile cpu;
  EXPECT_GT(Total(s, "process_cpu:cpu:nanoseconds:cpu:nanoseconds", sel, &cpu), 0);
  bool burn = false;
  for (const auto& loc : cpu.locations) burn |= cpu.FrameName(loc).find("burnForScrape") != std::string::npos;
  EXPECT_TRUE(burn);
  EXPECT_GT(Total(s, "memory:alloc_space:bytes:space:bytes", sel), 0);
  EXPECT_GT(Total(s, "memory:inuse_space:bytes:space:bytes", sel), 0);
  EXPECT_GT(Total(s, "goroutines:goroutine:count:goroutine:count", sel), 0);
  EXPECT_GT(Total(s, "block:contentions:count:contentions:count", sel), 0);
  // Mutex: deltas after the first scrape, so the burst before the program
  // served (about 300 ms of waiting) is not in what was stored.
  int64_t stored = Total(s, "mutex:delay:nanoseconds:contentions:count", sel);
  EXPECT_GT(stored, 0);
  auto now = profile::DecodePprof(Fetch(StrCat("http://", go.addr(), "/debug/pprof/mutex")));
  ASSERT_TRUE(now.ok());
  int64_t cumulative = now->Total(now->FindSampleType("delay"));
  EXPECT_LT(stored, cumulative - 150000000) << "stored " << stored << " of " << cumulative;
  // Health.
  std::string targets = Fetch(s.base() + "/api/v1/targets");
  EXPECT_NE(targets.find("\"scrapePool\":\"goapp\""), std::string::npos) << targets;
  EXPECT_NE(targets.find("\"health\":\"up\""), std::string::npos) << targets;
  EXPECT_NE(targets.find("\"health\":\"down\""), std::string::npos) << targets;
  size_t down_at = targets.find("127.0.0.1:1/");
  ASSERT_NE(down_at, std::string::npos);
  size_t err = targets.find("\"lastError\":\"", down_at);
  ASSERT_NE(err, std::string::npos);
  EXPECT_NE(targets[err + 13], '"') << "the down target has no error message: " << targets.substr(down_at, 300);
  std::string metrics = Fetch(s.base() + "/metrics");
  EXPECT_NE(metrics.find(StrCat("stackhouse_scrape_up{instance=\"", go.addr(), "\",job=\"goapp\",profile=\"mutex\"} 1")),
            std::string::npos)
      << metrics.substr(0, 3000);
  EXPECT_NE(metrics.find("stackhouse_scrape_up{instance=\"127.0.0.1:1\",job=\"down\",profile=\"process_cpu\"} 0"),
            std::string::npos);
}

StatusOr<ServerConfig> LoadYaml(const std::string& yaml) {
  std::string path = stackhouse::testing::MakeTempDir() + "/c.yaml";
  EXPECT_TRUE(WriteFile(path, yaml).ok());
  std::string arg = "--config=" + path;
  char prog[] = "stackhouse";
  char* argv[] = {prog, arg.data()};
  bool help = false;
  return LoadServerConfig(2, argv, 1, &help);
}

TEST(ServerScrapeTest, ScrapeConfigsFromYaml) {
  auto c = LoadYaml(R"(
scrape_configs:
  - job_name: api
    scrape_interval: 30s
    static_configs:
      - targets: ["10.0.0.1:6060", "10.0.0.2:6060"]
        labels: {env: prod}
    profiling_config:
      pprof_config:
        goroutine: {enabled: false}
        fgprof: {path: /debug/fgprof, delta: false}
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->scrape_configs.size(), 1u);
  const ScrapeConfig& j = c->scrape_configs[0];
  EXPECT_EQ(j.interval_ns, int64_t{30} * 1000000000);
  EXPECT_EQ(j.cpu_seconds, 29);
  EXPECT_EQ(j.static_configs[0].targets.size(), 2u);
  std::vector<std::string> names;
  for (const auto& p : j.profiles) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"block", "fgprof", "memory", "mutex", "process_cpu"}));
  struct Bad {
    const char* yaml;
    const char* says;
  } bad[] = {
      {"scrape_configs:\n  - job_name: a\n    static_configs: [{targets: [nohost]}]\n", "bad target"},
      {"scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['h:1']}]\n    intervl: 5s\n", "unknown key intervl"},
      {"scrape_configs:\n  - static_configs: [{targets: ['h:1']}]\n", "job_name is required"},
      {"scrape_configs:\n  - job_name: a\n    scrape_interval: 0.5s\n    static_configs: [{targets: ['h:1']}]\n",
       "at least 1s"},
      {"scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['h:1'], labels: {__x: y}}]\n", "bad label name"},
      {"scrape_configs:\n  - job_name: a\n    scheme: ftp\n    static_configs: [{targets: ['h:1']}]\n", "scheme"},
      {"scrape_configs: 5\n", "must be a list"},
  };
  for (const Bad& b : bad) {
    auto r = LoadYaml(b.yaml);
    ASSERT_FALSE(r.ok()) << b.yaml;
    EXPECT_NE(r.status().message().find(b.says), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace stackhouse::server
