#include "sampler/collector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "sampler/labels.h"
#include "sampler/ring.h"

namespace stackhouse::sampler {
namespace {

std::set<uint64_t>* g_live = nullptr;
bool IsLive(uintptr_t addr) { return g_live->count(addr) != 0; }

void PushAlloc(SampleRing* ring, uint64_t addr, int64_t size, uint32_t label_set,
               std::initializer_list<uintptr_t> pcs, int shard = 0, uint64_t stamp = 1) {
  uint64_t ticket = 0;
  SampleRecord* r = ring->Claim(&ticket, shard);
  ASSERT_NE(r, nullptr);
  r->kind = SampleKind::kAlloc;
  r->depth = static_cast<uint16_t>(pcs.size());
  std::copy(pcs.begin(), pcs.end(), r->pcs);
  r->label_set = label_set;
  r->tid = 1;
  r->value = size;
  r->weight = 2 * 1024;  // each sample stands for 2 allocations
  r->address = addr;
  r->stamp = stamp;
  ring->Publish(ticket);
}

// In-use values of `iv` by stack (pcs) and label pairs.
std::map<std::pair<std::vector<uintptr_t>, LabelPairs>, Values> Inuse(const Interval& iv) {
  std::map<std::pair<std::vector<uintptr_t>, LabelPairs>, Values> out;
  for (const auto& [key, v] : iv.inuse) {
    auto& o = out[{key.pcs, iv.label_sets[key.labels]}];
    o.a += v.a;
    o.b += v.b;
  }
  return out;
}

TEST(CollectorTest, LiveAllocationsLastUntilTheSetForgetsThem) {
  std::set<uint64_t> live;
  g_live = &live;
  SampleRing ring(64);
  ASSERT_TRUE(ring.ok());
  Collector c;
  c.set_live_check(&IsLive);
  c.Start(0);

  ASSERT_TRUE(SetThreadLabel("endpoint", "/a"));
  const uint32_t labels = CurrentLabelSet();
  ASSERT_NE(labels, 0u);
  ASSERT_TRUE(ClearThreadLabel("endpoint"));

  PushAlloc(&ring, 0x10000, 100, labels, {1, 2, 3});
  PushAlloc(&ring, 0x20000, 300, 0, {4, 5});
  live = {0x10000, 0x20000};
  c.Drain(&ring);
  Interval first = c.Cut(10, 10, 0);
  const LabelPairs with_label = {{"endpoint", "/a"}};
  auto in1 = Inuse(first);
  ASSERT_EQ(in1.size(), 2u);
  const auto labelled = std::make_pair(std::vector<uintptr_t>{1, 2, 3}, with_label);
  EXPECT_EQ(in1[labelled].a, 2);
  EXPECT_EQ(in1[labelled].b, 200);
  EXPECT_EQ(in1[std::make_pair(std::vector<uintptr_t>{4, 5}, LabelPairs{})].b, 600);
  // Alloc totals are per interval; in-use carries over.
  EXPECT_EQ(first.samples[kAllocProfile].size(), 2u);

  // The first interval is gone (exported); its live blocks stay, labels too.
  first = Interval();
  live.erase(0x20000);          // freed
  PushAlloc(&ring, 0x20000, 50, 0, {6});  // the address reused and sampled again
  live.insert(0x20000);
  c.Drain(&ring);
  Interval second = c.Cut(20, 10, 0);
  auto in2 = Inuse(second);
  ASSERT_EQ(in2.size(), 2u) << "the reused address replaces the freed block";
  EXPECT_EQ(in2[labelled].b, 200);
  EXPECT_EQ(in2[std::make_pair(std::vector<uintptr_t>{6}, LabelPairs{})].b, 100);

  live.clear();
  Interval third = c.Cut(30, 10, 0);
  EXPECT_TRUE(third.inuse.empty());
  g_live = nullptr;
}

TEST(CollectorTest, AReusedAddressKeepsTheNewerAllocationWhateverTheShardOrder) {
  // Thread A's block at 0x30000 was sampled (stamp 10) and freed; thread B
  // got the address back and its allocation was sampled too (stamp 20). B's
  // shard is drained first.
  std::set<uint64_t> live = {0x30000};
  g_live = &live;
  SampleRing ring(64, 4);
  ASSERT_EQ(ring.shards(), 4);
  Collector c;
  c.set_live_check(&IsLive);
  c.Start(0);
  PushAlloc(&ring, 0x30000, 100, 0, {1}, /*shard=*/1, /*stamp=*/10);
  PushAlloc(&ring, 0x30000, 700, 0, {2}, /*shard=*/0, /*stamp=*/20);
  c.Drain(&ring);
  Interval iv = c.Cut(10, 10, 0);
  auto in = Inuse(iv);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in.begin()->first.first, std::vector<uintptr_t>{2});
  EXPECT_EQ(in.begin()->second.b, 1400);
  // Both allocations count in the alloc profile.
  EXPECT_EQ(iv.samples[kAllocProfile].size(), 2u);
  g_live = nullptr;
}

TEST(CollectorTest, RunsOfOneStackAddUpAndOtherStacksStaySeparate) {
  SampleRing ring(64);
  Collector c;
  c.Start(0);
  ASSERT_TRUE(SetThreadLabel("endpoint", "/b"));
  const uint32_t labels = CurrentLabelSet();
  ASSERT_TRUE(ClearThreadLabel("endpoint"));
  for (int i = 0; i < 3; ++i) PushAlloc(&ring, 0, 10, 0, {1, 2});
  PushAlloc(&ring, 0, 10, labels, {1, 2});  // same stack, other labels
  PushAlloc(&ring, 0, 10, 0, {1, 2, 3});    // a longer stack
  PushAlloc(&ring, 0, 10, 0, {1, 2});       // the first again
  c.Drain(&ring);
  PushAlloc(&ring, 0, 10, 0, {1, 2});  // and in the next drain
  c.Drain(&ring);
  Interval iv = c.Cut(10, 10, 0);
  std::map<std::pair<std::vector<uintptr_t>, uint32_t>, double> objects;
  for (const auto& [key, v] : iv.samples[kAllocProfile]) objects[{key.pcs, key.labels}] += v.a;
  ASSERT_EQ(objects.size(), 3u);
  const std::pair<std::vector<uintptr_t>, uint32_t> first({1, 2}, 0), longer({1, 2, 3}, 0);
  EXPECT_EQ(objects[first], 10);  // 5 samples of weight 2
  EXPECT_EQ(objects[longer], 2);
  // The next interval starts empty and counts afresh.
  PushAlloc(&ring, 0, 10, 0, {1, 2});
  c.Drain(&ring);
  Interval next = c.Cut(20, 10, 0);
  ASSERT_EQ(next.samples[kAllocProfile].size(), 1u);
  EXPECT_EQ(next.samples[kAllocProfile].begin()->second.a, 2);
}

TEST(LiveAllocationsTest, EmplaceEraseAndCompact) {
  LiveAllocations live;
  // Page-aligned addresses, as sampled blocks are.
  for (uint64_t i = 1; i <= 5000; ++i) {
    auto [a, fresh] = live.TryEmplace(i << 12);
    ASSERT_TRUE(fresh);
    a->bytes = static_cast<double>(i);
  }
  EXPECT_EQ(live.size(), 5000u);
  auto [again, fresh] = live.TryEmplace(7 << 12);
  EXPECT_FALSE(fresh);
  EXPECT_EQ(again->bytes, 7);
  live.Erase(7 << 12);
  live.Erase(7 << 12);  // twice: no effect
  live.Erase(999999 << 12);  // never there
  EXPECT_EQ(live.size(), 4999u);
  EXPECT_EQ(live.slots(), 5000u);
  auto [revived, fresh2] = live.TryEmplace(7 << 12);
  EXPECT_TRUE(fresh2);
  EXPECT_EQ(revived->bytes, 0);  // a new allocation, not the erased one
  live.Erase(7 << 12);
  // Keep the even ones: the erased entry goes too.
  live.Compact([](uint64_t addr, const LiveAllocation&) { return ((addr >> 12) & 1) == 0; });
  EXPECT_EQ(live.size(), 2500u);
  EXPECT_EQ(live.slots(), 2500u);
  double sum = 0;
  size_t n = 0;
  live.ForEach([&](uint64_t addr, LiveAllocation& a) {
    EXPECT_EQ(a.bytes, static_cast<double>(addr >> 12));
    sum += a.bytes;
    ++n;
  });
  EXPECT_EQ(n, 2500u);
  EXPECT_EQ(sum, 2.0 * (2500.0 * 2501.0 / 2));
  for (uint64_t i = 2; i <= 5000; i += 2) {
    auto [a, f] = live.TryEmplace(i << 12);
    EXPECT_FALSE(f) << i;
    EXPECT_EQ(a->bytes, static_cast<double>(i));
  }
}

TEST(SampleRingTest, AFullShardOverflowsIntoTheOthersThenDrops) {
  SampleRing ring(64, 4);
  ASSERT_TRUE(ring.ok());
  ASSERT_EQ(ring.shards(), 4);
  // 16 cells per shard: one thread's burst on shard 3 fills it, then shards
  // 0, 1 and 2; only then are samples dropped.
  for (int i = 0; i < 70; ++i) {
    uint64_t ticket = 0;
    SampleRecord* r = ring.Claim(&ticket, 3);
    if (i >= 64) {
      EXPECT_EQ(r, nullptr);
      continue;
    }
    ASSERT_NE(r, nullptr) << i;
    r->value = i;
    ring.Publish(ticket);
  }
  EXPECT_EQ(ring.dropped(), 6u);
  // All come out, each shard's run in order (shard 3 had 0-15, shard 0
  // 16-31, and so on).
  std::vector<int64_t> got;
  while (const SampleRecord* r = ring.Peek()) {
    got.push_back(r->value);
    ring.Release();
  }
  ASSERT_EQ(got.size(), 64u);
  for (int run = 0; run < 4; ++run) {
    std::vector<int64_t> in_run;
    for (int64_t v : got) {
      if (v / 16 == run) in_run.push_back(v);
    }
    ASSERT_EQ(in_run.size(), 16u);
    EXPECT_TRUE(std::is_sorted(in_run.begin(), in_run.end())) << run;
  }
}

TEST(SampleRingTest, ShardsFillAndDrainIndependently) {
  SampleRing ring(64, 4);
  ASSERT_TRUE(ring.ok());
  // Shard 3's records, published in order.
  for (int i = 0; i < 16; ++i) {
    uint64_t ticket = 0;
    SampleRecord* r = ring.Claim(&ticket, 3);
    ASSERT_NE(r, nullptr);
    r->value = 300 + i;
    ring.Publish(ticket);
  }
  EXPECT_EQ(ring.dropped(), 0u);
  uint64_t ticket = 0;
  SampleRecord* held = ring.Claim(&ticket, 1);  // claimed, not yet published
  ASSERT_NE(held, nullptr);
  held->value = 100;
  for (int shard : {0, 2, 6}) {  // 6 is shard 2 too
    uint64_t t = 0;
    SampleRecord* r = ring.Claim(&t, shard);
    ASSERT_NE(r, nullptr);
    r->value = shard;
    ring.Publish(t);
  }
  // Everything published comes out, each shard in order; the unpublished
  // cell holds back only its own shard.
  std::vector<int64_t> got;
  while (const SampleRecord* r = ring.Peek()) {
    got.push_back(r->value);
    ring.Release();
  }
  std::vector<int64_t> shard3, others;
  for (int64_t v : got) (v >= 300 ? shard3 : others).push_back(v);
  ASSERT_EQ(shard3.size(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(shard3[i], 300 + i);
  std::sort(others.begin(), others.end());
  EXPECT_EQ(others, (std::vector<int64_t>{0, 2, 6}));
  ring.Publish(ticket);
  const SampleRecord* r = ring.Peek();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->value, 100);
  ring.Release();
  EXPECT_EQ(ring.Peek(), nullptr);
  // Freed cells are claimed again, round after round.
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 16; ++i) {
      uint64_t t = 0;
      SampleRecord* c = ring.Claim(&t, 3);
      ASSERT_NE(c, nullptr) << round << " " << i;
      c->value = i;
      ring.Publish(t);
    }
    int n = 0;
    while (const SampleRecord* q = ring.Peek()) {
      EXPECT_EQ(q->value, n++);
      ring.Release();
    }
    EXPECT_EQ(n, 16);
  }
}

}  // namespace
}  // namespace stackhouse::sampler
