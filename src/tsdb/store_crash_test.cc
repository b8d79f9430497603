// Crash test: a child process appends profiles in a loop and reports each
// acknowledgement over a pipe; the parent SIGKILLs it at random moments (at
// least 50 times), reopens the store each time and checks that every
// acknowledged profile is present exactly once with its exact values.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "base/testing/testing.h"
#include "tsdb/store.h"
#include "tsdb/testing/store_testing.h"

namespace stackhouse::tsdb {
namespace {

struct ChildRun {
  std::vector<long long> acked;
  std::string stderr_text;
};

// Runs the child for about `ms` milliseconds, then kills it.
ChildRun RunChild(const std::string& dir, long long start, int ms) {
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    std::string bin = stackhouse::testing::BinPath("tsdb_crash_child");
    std::string s = std::to_string(start);
    execl(bin.c_str(), bin.c_str(), dir.c_str(), s.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  ChildRun run;
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  char tmp[4096];
  bool alive = true;
  while (alive && std::chrono::steady_clock::now() < deadline) {
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    poll(fds, 2, 2);
    ssize_t n;
    while ((n = read(out[0], tmp, sizeof tmp)) > 0) buf.append(tmp, static_cast<size_t>(n));
    if (n == 0) alive = false;
    while ((n = read(err[0], tmp, sizeof tmp)) > 0) run.stderr_text.append(tmp, static_cast<size_t>(n));
  }
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  ssize_t n;
  while ((n = read(out[0], tmp, sizeof tmp)) > 0) buf.append(tmp, static_cast<size_t>(n));
  while ((n = read(err[0], tmp, sizeof tmp)) > 0) run.stderr_text.append(tmp, static_cast<size_t>(n));
  close(out[0]);
  close(err[0]);
  // Only complete lines count as acknowledged.
  size_t pos = 0;
  while (true) {
    size_t nl = buf.find('\n', pos);
    if (nl == std::string::npos) break;
    std::string line = buf.substr(pos, nl - pos);
    if (line.rfind("ack ", 0) == 0) run.acked.push_back(std::stoll(line.substr(4)));
    pos = nl + 1;
  }
  return run;
}

TEST(StoreCrashTest, AcknowledgedProfilesSurviveSigkill) {
  std::string dir = stackhouse::testing::MakeTempDir() + "/data";
  std::mt19937 rng(12345);
  std::set<long long> acked;
  int kills = 0;
  for (int round = 0; round < 60; ++round) {
    long long start = static_cast<long long>(round) * 1000000;
    int ms = std::uniform_int_distribution<int>(5, 120)(rng);
    ChildRun run = RunChild(dir, start, ms);
    ASSERT_TRUE(run.stderr_text.empty()) << "round " << round << ": " << run.stderr_text;
    acked.insert(run.acked.begin(), run.acked.end());
    ++kills;

    // Reopen and check everything acknowledged so far.
    StoreOptions o;
    o.dir = dir;
    o.background = false;
    auto store = Store::Open(o);
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status().ToString();
    std::map<int64_t, std::pair<int, int64_t>> found;  // time -> (count, total)
    Selection sel;
    sel.tenant = "tenant";
    Status s = (*store)->GetSnapshot()->IterateProfiles(sel, [&](const RawProfile& p) {
      int64_t total = 0;
      for (const NodeValue& nv : p.samples) total += nv.value;
      auto& f = found[p.time];
      f.first++;
      f.second += total;
      return OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (long long n : acked) {
      auto it = found.find(testing::CrashTestTime(n));
      ASSERT_NE(it, found.end()) << "round " << round << ": acknowledged profile " << n << " lost";
      ASSERT_EQ(it->second.first, 1) << "profile " << n << " stored " << it->second.first << " times";
      ASSERT_EQ(it->second.second, testing::CrashTestTotal(n)) << "profile " << n;
    }
    ASSERT_TRUE((*store)->Close().ok());
  }
  EXPECT_GE(kills, 50);
  EXPECT_GT(acked.size(), 500u);
  std::printf("crash test: %d kills, %zu acknowledged profiles checked\n", kills, acked.size());
}

}  // namespace
}  // namespace stackhouse::tsdb
