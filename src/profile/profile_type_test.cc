#include "profile/profile_type.h"

#include <gtest/gtest.h>

#include "base/testing/testing.h"
#include "profile/pprof.h"

namespace stackhouse::profile {
namespace {

Profile Load(const std::string& name) {
  auto p = DecodePprof(stackhouse::testing::ReadOrDie(stackhouse::testing::SharedTestdata(name)));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : Profile();
}

TEST(ProfileTypeTest, DerivesPyroscopeNames) {
  EXPECT_EQ(DeriveProfileName(Load("go_cpu.pb.gz")), "process_cpu");
  EXPECT_EQ(DeriveProfileName(Load("gperftools_cpu.pb.gz")), "process_cpu");
  EXPECT_EQ(DeriveProfileName(Load("go_heap.pb.gz")), "memory");
  EXPECT_EQ(DeriveProfileName(Load("go_mutex.pb.gz")), "mutex");
  EXPECT_EQ(DeriveProfileName(Load("go_block.pb.gz")), "block");
  EXPECT_EQ(DeriveProfileName(Load("node_1.pb.gz")), "wall");
  EXPECT_EQ(DeriveProfileName(Load("node_2.pb.gz")), "memory");
}

TEST(ProfileTypeTest, IdsPerSampleType) {
  auto types = ProfileTypesOf(Load("go_cpu.pb.gz"));
  ASSERT_EQ(types.size(), 2u);
  EXPECT_EQ(types[0].Id(), "process_cpu:samples:count:cpu:nanoseconds");
  EXPECT_EQ(types[1].Id(), "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
  auto heap = ProfileTypesOf(Load("go_heap.pb.gz"));
  ASSERT_EQ(heap.size(), 4u);
  EXPECT_EQ(heap[1].Id(), "memory:alloc_space:bytes:space:bytes");
  auto mutex = ProfileTypesOf(Load("go_mutex.pb.gz"));
  EXPECT_EQ(mutex[1].Id(), "mutex:delay:nanoseconds:contentions:count");
}

TEST(ProfileTypeTest, ParseRoundTripAndErrors) {
  auto t = ProfileType::Parse("memory:inuse_space:bytes:space:bytes");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->name, "memory");
  EXPECT_EQ(t->period_unit, "bytes");
  EXPECT_EQ(t->Id(), "memory:inuse_space:bytes:space:bytes");
  EXPECT_TRUE(ProfileType::Parse("process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta").ok());
  EXPECT_FALSE(ProfileType::Parse("process_cpu").ok());
  EXPECT_FALSE(ProfileType::Parse(":cpu:nanoseconds:cpu:nanoseconds").ok());
}

}  // namespace
}  // namespace stackhouse::profile
