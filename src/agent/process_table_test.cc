#include "agent/process_table.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "base/strings.h"
#include "sampler/testing/sampler_testing.h"
#include "symbolize/symbolizer.h"

namespace stackhouse::agent {
namespace {

TEST(ProcessTableTest, ParsesPerfMaps) {
  auto j = ParsePerfMap(
      "7f0000001000 20 LazyCompile:~foo app.js:1\n"
      "0x7f0000000000 0x10 Builtin:bar\n"
      "garbage\n"
      "zz 10 bad\n"
      "7f0000002000 0 zero-sized\n");
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0].start, 0x7f0000000000u);
  EXPECT_EQ(j[0].name, "Builtin:bar");
  EXPECT_EQ(j[1].size, 0x20u);
  EXPECT_EQ(j[1].name, "LazyCompile:~foo app.js:1");
}

TEST(ProcessTableTest, ContainerIdsFromCgroups) {
  std::string id(64, 'a');
  EXPECT_EQ(ContainerIdFromCgroup("0::/system.slice/docker-" + id + ".scope\n"), id);
  EXPECT_EQ(ContainerIdFromCgroup("0::/kubepods/besteffort/pod1/" + id + "\n"), id);
  EXPECT_EQ(ContainerIdFromCgroup("0::/user.slice/user-0.slice/session-1.scope\n"), "");
  EXPECT_EQ(ContainerIdFromCgroup("0::/x/" + std::string(65, 'b') + "\n"), "");
}

TEST(ProcessTableTest, SelfIsReadFromProc) {
  ProcessTable t;
  ProcessInfo* p = t.Get(getpid(), 1);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->service, "agent_process_table_test");
  EXPECT_FALSE(p->maps.empty());
  // A function of this binary resolves to its name.
  auto f = t.Resolve(p, reinterpret_cast<uint64_t>(&ParsePerfMap), /*exact=*/true);
  ASSERT_FALSE(f.frames.empty());
  EXPECT_NE(f.frames.back().function.find("ParsePerfMap"), std::string::npos);
  EXPECT_EQ(f.build_id.size(), 40u);
  t.Expire(2);
  EXPECT_EQ(t.processes(), 0u);
}

TEST(ProcessTableTest, ServiceRulesNameServices) {
  auto rules = ParseServiceRules("comm:^nomatch$=x; exe:/([a-z_]+)_test$=svc-\\1");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ProcessTable t;
  t.SetServiceRules(*rules);
  ProcessInfo* p = t.Get(getpid(), 1);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->service, "svc-agent_process_table");
  EXPECT_FALSE(ParseServiceRules("exe=x").ok());
  EXPECT_FALSE(ParseServiceRules("pid:1=x").ok());
  EXPECT_FALSE(ParseServiceRules("exe:((=x").ok());
  EXPECT_FALSE(ParseServiceRules("exe:a=").ok());
}

// Starts `path` (a copy of the workload) sleeping; returns its pid.
pid_t StartSleeper(const std::string& path) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(path.c_str(), path.c_str(), "wall", "30", static_cast<char*>(nullptr));
    _exit(127);
  }
  usleep(300000);  // loaded and running
  return pid;
}

TEST(ProcessTableTest, ElfFilesAreSharedByBuildIdAndOutliveTheirProcess) {
  // Two copies of one program: two files, one build id, one symbol table.
  std::string dir = stackhouse::testing::MakeTempDir();
  std::string bytes = stackhouse::testing::ReadOrDie(sampler::testing::WorkloadPath(true));
  std::string a = dir + "/copy_a", b = dir + "/copy_b";
  for (const std::string& path : {a, b}) {
    ASSERT_TRUE(WriteFile(path, bytes).ok());
    chmod(path.c_str(), 0755);
  }
  pid_t pa = StartSleeper(a), pb = StartSleeper(b);
  ProcessTable t;
  ProcessInfo* p1 = t.Get(pa, 1);
  ProcessInfo* p2 = t.Get(pb, 1);
  ASSERT_NE(p1, nullptr);
  ASSERT_NE(p2, nullptr);
  const symbolize::MappingInfo* exe = nullptr;
  for (const auto& m : p1->maps) {
    if (m.path == a) exe = &m;
  }
  ASSERT_NE(exe, nullptr);
  // Read through the second copy first.
  for (const auto& m : p2->maps) {
    if (m.path == b) EXPECT_FALSE(t.Resolve(p2, m.start + 16, true).build_id.empty());
  }
  // The process exits and its file is deleted before its samples are
  // symbolized: frames still carry the build id, and names.
  kill(pa, SIGKILL);
  waitpid(pa, nullptr, 0);
  unlink(a.c_str());
  UserFrames f = t.Resolve(p1, exe->start + 16, true);
  EXPECT_EQ(t.shared_by_build_id(), 1u);  // the data of copy_b, read once
  ASSERT_NE(f.mapping, nullptr);
  EXPECT_EQ(f.mapping->path, a);
  auto elf = symbolize::ElfSymbolizer::Open(b);
  ASSERT_TRUE(elf.ok());
  EXPECT_EQ(f.build_id, (*elf)->build_id());
  EXPECT_FALSE(f.build_id.empty());
  kill(pb, SIGKILL);
  waitpid(pb, nullptr, 0);
  // Its frame-pointer verdict comes from the same tables.
  EXPECT_TRUE(t.HasFramePointers(p2));
}

TEST(ProcessTableTest, TellsFramePointerBuildsApart) {
  for (bool fp : {true, false}) {
    pid_t pid = StartSleeper(sampler::testing::WorkloadPath(fp));
    ProcessTable t;
    ProcessInfo* p = t.Get(pid, 1);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(t.HasFramePointers(p), fp);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

}  // namespace
}  // namespace stackhouse::agent
