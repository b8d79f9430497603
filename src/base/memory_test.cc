#include "base/memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace stackhouse {
namespace {

// Prefaulting on another thread while this one writes the same pages must
// never change what was written, nor what was not (fresh pages read 0).
TEST(BackgroundPrefaultTest, KeepsContentsWhileTheOwnerWrites) {
  const size_t bytes = size_t{96} << 20;
  void* p = MapHugePages(bytes);
  ASSERT_NE(p, nullptr);
  auto* words = static_cast<uint64_t*>(p);
  const size_t n = bytes / sizeof(uint64_t);
  {
    BackgroundPrefault prefault;
    prefault.Add(p, bytes / 2);
    prefault.Add(static_cast<char*>(p) + bytes / 2, bytes / 2);
    prefault.Start();
    // Every 3rd word of the first two thirds, front to back, as a filler would.
    for (size_t i = 0; i < n / 3 * 2; i += 3) words[i] = i * 2654435761u + 1;
  }  // joins
  for (size_t i = 0; i < n; ++i) {
    const uint64_t want = (i < n / 3 * 2 && i % 3 == 0) ? i * 2654435761u + 1 : 0;
    ASSERT_EQ(words[i], want) << "word " << i;
  }
  munmap(p, HugePageBytes(bytes));
}

TEST(BackgroundPrefaultTest, SmallRangesAndRestartsAreHarmless) {
  std::vector<char> small(1 << 20, 'x');
  BackgroundPrefault prefault;
  prefault.Add(small.data(), small.size());  // below kMinBytes: ignored
  prefault.Start();
  prefault.Join();
  prefault.Join();
  std::vector<uint32_t> big;
  ReserveHuge(&big, (size_t{40} << 20) / sizeof(uint32_t));
  prefault.Add(big.data(), big.capacity() * sizeof(uint32_t));
  prefault.Start();
  prefault.Start();  // joins the first; nothing new to do
  big.assign(big.capacity(), 7);
  prefault.Join();
  EXPECT_EQ(big.front(), 7u);
  EXPECT_EQ(big.back(), 7u);
  EXPECT_TRUE(std::all_of(small.begin(), small.end(), [](char c) { return c == 'x'; }));
}

}  // namespace
}  // namespace stackhouse
