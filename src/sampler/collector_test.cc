#include "sampler/collector.h"

#include <gtest/gtest.h>

#include <set>

#include "sampler/labels.h"
#include "sampler/ring.h"

namespace stackhouse::sampler {
namespace {

std::set<uint64_t>* g_live = nullptr;
bool IsLive(uintptr_t addr) { return g_live->count(addr) != 0; }

void PushAlloc(SampleRing* ring, uint64_t addr, int64_t size, uint32_t label_set,
               std::initializer_list<uintptr_t> pcs) {
  uint64_t ticket;
  SampleRecord* r = ring->Claim(&ticket);
  ASSERT_NE(r, nullptr);
  r->kind = SampleKind::kAlloc;
  r->depth = static_cast<uint16_t>(pcs.size());
  std::copy(pcs.begin(), pcs.end(), r->pcs);
  r->label_set = label_set;
  r->tid = 1;
  r->value = size;
  r->weight = 2 * 1024;  // each sample stands for 2 allocations
  r->address = addr;
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

}  // namespace
}  // namespace stackhouse::sampler
