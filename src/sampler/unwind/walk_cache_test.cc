#include "sampler/unwind/walk_cache.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "sampler/unwind/safe_load.h"
#include "sampler/unwind/stack_walker.h"
#include "sampler/unwind/unwind_tables.h"

namespace stackhouse::sampler::unwind {
namespace {

constexpr int kMax = 64;

// A synthetic stack of frame-pointer frames: frame i's saved fp and return
// address sit at words 8i and 8i+1 ([fp] = caller's fp, [fp+8] = return
// address), the outermost frame's saved fp is 0.
struct FakeStack {
  explicit FakeStack(int frames, uintptr_t first_pc = 0x1000) : words(8 * frames + 8, 0) {
    for (int i = 0; i < frames; ++i) {
      words[8 * i] = i + 1 < frames ? Addr(8 * (i + 1)) : 0;
      words[8 * i + 1] = first_pc + 0x100 * (i + 1);
    }
  }
  uintptr_t Addr(size_t word) const { return reinterpret_cast<uintptr_t>(&words[word]); }
  Regs Start() const { return Regs{0x1000, Addr(0), Addr(0)}; }
  uintptr_t Hi() const { return Addr(words.size()); }
  std::vector<uintptr_t> words;
};

std::vector<uintptr_t> Direct(const FakeStack& s, int max = kMax) {
  std::vector<uintptr_t> pcs(kMax);
  pcs.resize(WalkStack(s.Start(), s.Hi(), WalkMode::kFramePointer, nullptr, pcs.data(), max));
  return pcs;
}

std::vector<uintptr_t> Cached(WalkCache* cache, const FakeStack& s, int max = kMax) {
  std::vector<uintptr_t> pcs(kMax);
  pcs.resize(cache->Walk(s.Start(), s.Hi(), WalkMode::kFramePointer, nullptr, pcs.data(), max));
  return pcs;
}

class WalkCacheTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InstallSafeLoadHandler()); }
  std::unique_ptr<WalkCache> cache_ = std::make_unique<WalkCache>();
};

TEST_F(WalkCacheTest, ARepeatedWalkHitsAndGivesTheSamePcs) {
  FakeStack s(6);
  const auto direct = Direct(s);
  ASSERT_EQ(direct.size(), 7u);
  EXPECT_EQ(Cached(cache_.get(), s), direct);
  EXPECT_EQ(cache_->misses(), 1u);
  EXPECT_EQ(Cached(cache_.get(), s), direct);
  EXPECT_EQ(Cached(cache_.get(), s), direct);
  EXPECT_EQ(cache_->hits(), 2u);
}

TEST_F(WalkCacheTest, AChangedStackWordIsSeen) {
  FakeStack s(6);
  Cached(cache_.get(), s);
  // Another caller at the same depth: a different return address.
  s.words[8 * 3 + 1] = 0xBEEF00;
  const auto direct = Direct(s);
  EXPECT_EQ(direct[4], 0xBEEF00u);
  EXPECT_EQ(Cached(cache_.get(), s), direct);
  EXPECT_EQ(cache_->hits(), 0u);
  EXPECT_EQ(Cached(cache_.get(), s), direct);  // remembered anew
  EXPECT_EQ(cache_->hits(), 1u);
  // A shorter chain: a saved frame pointer now ends the walk.
  s.words[8 * 2] = 0;
  const auto shorter = Direct(s);
  EXPECT_EQ(shorter.size(), 4u);
  EXPECT_EQ(Cached(cache_.get(), s), shorter);
  EXPECT_EQ(cache_->hits(), 1u);
}

TEST_F(WalkCacheTest, OtherStartRegistersMiss) {
  FakeStack s(5);
  Cached(cache_.get(), s);
  Regs other = s.Start();
  other.fp = s.Addr(8);  // same pc and sp, another frame pointer
  std::vector<uintptr_t> want(kMax), got(kMax);
  want.resize(WalkStack(other, s.Hi(), WalkMode::kFramePointer, nullptr, want.data(), kMax));
  got.resize(cache_->Walk(other, s.Hi(), WalkMode::kFramePointer, nullptr, got.data(), kMax));
  EXPECT_EQ(got, want);
  EXPECT_EQ(cache_->hits(), 0u);
  // Another upper bound cuts the walk short: it must not come from the cache.
  got.resize(kMax);
  got.resize(cache_->Walk(s.Start(), s.Addr(16), WalkMode::kFramePointer, nullptr, got.data(), kMax));
  want.resize(kMax);
  want.resize(WalkStack(s.Start(), s.Addr(16), WalkMode::kFramePointer, nullptr, want.data(), kMax));
  EXPECT_EQ(got, want);
  EXPECT_EQ(cache_->hits(), 0u);
}

TEST_F(WalkCacheTest, AShorterRequestGetsAPrefixAndALongerOneWalks) {
  FakeStack s(10);
  Cached(cache_.get(), s);
  EXPECT_EQ(Cached(cache_.get(), s, 4), Direct(s, 4));
  // A walk cut at its request's limit is not remembered for longer ones.
  std::unique_ptr<WalkCache> fresh = std::make_unique<WalkCache>();
  EXPECT_EQ(Cached(fresh.get(), s, 4), Direct(s, 4));
  EXPECT_EQ(Cached(fresh.get(), s), Direct(s));
  EXPECT_EQ(fresh->hits(), 0u);
}

TEST_F(WalkCacheTest, LongWalksAreNotRemembered) {
  FakeStack s(WalkCache::kMaxFrames + 5);
  const auto direct = Direct(s);
  EXPECT_EQ(Cached(cache_.get(), s), direct);
  EXPECT_EQ(Cached(cache_.get(), s), direct);
  EXPECT_EQ(cache_->hits(), 0u);
}

TEST_F(WalkCacheTest, ManyThreadsAlwaysGetTheirOwnWalk) {
  // Threads share the cache's entries (colliding often: 256 entries, each
  // thread cycles through stacks whose words it keeps changing); every walk
  // must equal the direct one.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<FakeStack> stacks;
      for (int k = 0; k < 64; ++k) stacks.emplace_back(3 + k % 9, 0x10000 * (t + 1) + k);
      for (int i = 0; i < 100000 && failures.load() == 0; ++i) {
        FakeStack& s = stacks[rng() % stacks.size()];
        if (rng() % 4 == 0) s.words[1 + 8 * (rng() % 3)] = 0x1000 + rng() % 4;  // another caller
        if (Cached(cache_.get(), s) != Direct(s)) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(cache_->hits(), 10000u);
}

// Walks from its caller's frame twice, directly and through the cache.
__attribute__((noinline)) void WalkHere(WalkCache* cache, const UnwindTables* tables, uintptr_t* direct,
                                        int* direct_n, uintptr_t* cached, int* cached_n) {
  Regs r{reinterpret_cast<uintptr_t>(__builtin_return_address(0)),
         reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) + 16,
         *static_cast<uintptr_t*>(__builtin_frame_address(0))};
  const uintptr_t hi = r.sp + (1 << 20);
  *direct_n = WalkStack(r, hi, WalkMode::kDwarf, tables, direct, kMax);
  *cached_n = cache->Walk(r, hi, WalkMode::kDwarf, tables, cached, kMax);
}

TEST_F(WalkCacheTest, DwarfWalksHitUntilTheTablesChange) {
  UnwindTables tables;
  ASSERT_TRUE(tables.Refresh().ok());
  const uint64_t generation = tables.generation();
  EXPECT_EQ(generation % 2, 0u);
  void* dso = nullptr;
  for (int i = 0; i < 6; ++i) {
    if (i == 4) {
      // A new object: a new snapshot, and the remembered walks are stale.
      dso = dlopen(STACKHOUSE_UNWIND_TEST_DSO, RTLD_NOW | RTLD_LOCAL);
      ASSERT_NE(dso, nullptr) << dlerror();
      ASSERT_TRUE(tables.Refresh().ok());
      EXPECT_EQ(tables.generation(), generation + 2);
    }
    uintptr_t want[kMax], got[kMax];
    int n = 0, m = 0;
    WalkHere(cache_.get(), &tables, want, &n, got, &m);
    ASSERT_GT(n, 2);
    ASSERT_EQ(m, n);
    for (int k = 0; k < n; ++k) EXPECT_EQ(got[k], want[k]) << k;
    // The first walk and the first after the change miss.
    EXPECT_EQ(cache_->hits(), static_cast<uint64_t>(i < 4 ? i : i - 1)) << i;
  }
  dlclose(dso);
}

}  // namespace
}  // namespace stackhouse::sampler::unwind
