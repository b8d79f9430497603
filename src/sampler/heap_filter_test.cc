#include "sampler/heap_filter.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace stackhouse::sampler {
namespace {

// Page-aligned addresses, as sampled blocks are.
uintptr_t Addr(uint64_t i) { return (uintptr_t{1} << 40) + i * 4096; }

uint64_t HomeOf(uintptr_t addr) {
  return ((addr >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - kHeapBucketBits);
}

TEST(HeapFilterTest, InsertContainsRemove) {
  HeapSampledReset();
  EXPECT_FALSE(HeapSampledContains(Addr(1)));
  EXPECT_FALSE(HeapSampledRemove(Addr(1)));
  EXPECT_FALSE(HeapSampledInsert(0));
  ASSERT_TRUE(HeapSampledInsert(Addr(1)));
  EXPECT_TRUE(HeapSampledContains(Addr(1)));
  EXPECT_FALSE(HeapSampledContains(Addr(2)));
  EXPECT_TRUE(HeapSampledRemove(Addr(1)));
  EXPECT_FALSE(HeapSampledContains(Addr(1)));
  EXPECT_FALSE(HeapSampledRemove(Addr(1)));  // once only
}

TEST(HeapFilterTest, HomeCountsTurnAwayAddressesNeverInserted) {
  HeapSampledReset();
  EXPECT_FALSE(HeapSampledMayContain(Addr(7)));
  ASSERT_TRUE(HeapSampledInsert(Addr(7)));
  EXPECT_TRUE(HeapSampledMayContain(Addr(7)));
  ASSERT_TRUE(HeapSampledRemove(Addr(7)));
  EXPECT_FALSE(HeapSampledMayContain(Addr(7)));
  // A refused insert (its buckets full) leaves no count behind.
  std::vector<uintptr_t> same_home;
  const uint64_t home = HomeOf(Addr(0));
  for (uint64_t i = 0; same_home.size() < kHeapBucketSlots * kHeapProbeBuckets + 1; ++i) {
    if (HomeOf(Addr(i)) == home) same_home.push_back(Addr(i));
  }
  for (uintptr_t a : same_home) HeapSampledInsert(a);
  for (size_t i = 0; i + 1 < same_home.size(); ++i) ASSERT_TRUE(HeapSampledRemove(same_home[i]));
  EXPECT_FALSE(HeapSampledMayContain(same_home.back()));
  // And a reset clears the counts.
  ASSERT_TRUE(HeapSampledInsert(Addr(7)));
  HeapSampledReset();
  EXPECT_FALSE(HeapSampledMayContain(Addr(7)));
  const uint64_t before = HeapUnsampledAlignedFrees();
  HeapNoteUnsampledAlignedFree();
  HeapNoteUnsampledAlignedFree();
  EXPECT_EQ(HeapUnsampledAlignedFrees(), before + 2);
}

TEST(HeapFilterTest, FullBucketsOverflowIntoTheNextOnesAndRefuseBeyond) {
  HeapSampledReset();
  // Addresses sharing one home bucket: they fill it, then the next buckets.
  std::vector<uintptr_t> same_home;
  const uint64_t home = HomeOf(Addr(0));
  for (uint64_t i = 0; same_home.size() < kHeapBucketSlots * kHeapProbeBuckets + 3; ++i) {
    if (HomeOf(Addr(i)) == home) same_home.push_back(Addr(i));
  }
  size_t fit = kHeapBucketSlots * kHeapProbeBuckets;
  for (size_t i = 0; i < same_home.size(); ++i) {
    EXPECT_EQ(HeapSampledInsert(same_home[i]), i < fit) << i;
  }
  for (size_t i = 0; i < same_home.size(); ++i) {
    EXPECT_EQ(HeapSampledContains(same_home[i]), i < fit) << i;
  }
  // Removing the ones in the home bucket leaves the overflowed ones findable.
  for (int i = 0; i < kHeapBucketSlots; ++i) ASSERT_TRUE(HeapSampledRemove(same_home[i]));
  for (size_t i = kHeapBucketSlots; i < fit; ++i) EXPECT_TRUE(HeapSampledContains(same_home[i])) << i;
  for (size_t i = kHeapBucketSlots; i < fit; ++i) EXPECT_TRUE(HeapSampledRemove(same_home[i])) << i;
  for (uintptr_t a : same_home) EXPECT_FALSE(HeapSampledContains(a));
  // With the overflow undone, the home bucket takes new addresses again.
  EXPECT_TRUE(HeapSampledInsert(same_home.back()));
  EXPECT_TRUE(HeapSampledRemove(same_home.back()));
}

TEST(HeapFilterTest, ThreadsInsertingAndRemovingTheirOwnAddresses) {
  HeapSampledReset();
  constexpr int kThreads = 4, kRounds = 20000, kLive = 64;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &errors] {
      std::vector<uintptr_t> live;
      for (int r = 0; r < kRounds; ++r) {
        uintptr_t a = Addr(uint64_t(t) << 32 | uint64_t(r));
        if (HeapSampledInsert(a)) live.push_back(a);
        if (live.size() > kLive) {
          uintptr_t old = live.front();
          live.erase(live.begin());
          if (!HeapSampledContains(old) || !HeapSampledRemove(old)) ++errors;
        }
      }
      for (uintptr_t a : live) errors += !HeapSampledRemove(a);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int r = 0; r < kRounds; r += 97) EXPECT_FALSE(HeapSampledContains(Addr(uint64_t(t) << 32 | r)));
  }
}

}  // namespace
}  // namespace stackhouse::sampler
