#include "agent/process_table.h"

#include <gtest/gtest.h>
#include <unistd.h>

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

}  // namespace
}  // namespace stackhouse::agent
