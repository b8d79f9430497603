#include "base/hash.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stackhouse {
namespace {

TEST(HashIndexTest, DeduplicatesExternalKeys) {
  std::vector<std::string> keys;
  HashIndex index;
  auto intern = [&](const std::string& s) {
    uint32_t next = static_cast<uint32_t>(keys.size());
    uint32_t id = index.FindOrInsert(HashString(s), next, [&](uint32_t i) { return keys[i] == s; });
    if (id == next) keys.push_back(s);
    return id;
  };
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 10000; ++i) EXPECT_EQ(intern("k" + std::to_string(i)), uint32_t(i));
  }
  EXPECT_EQ(keys.size(), 10000u);
  EXPECT_EQ(index.size(), 10000u);
  std::string probe = "k77";
  EXPECT_EQ(index.Find(HashString(probe), [&](uint32_t i) { return keys[i] == probe; }), 77u);
  std::string missing = "nope";
  EXPECT_EQ(index.Find(HashString(missing), [&](uint32_t i) { return keys[i] == missing; }),
            HashIndex::kEmpty);
}

TEST(HashKeyIndexTest, MapsKeysToIdsThroughGrowth) {
  HashKeyIndex index;
  // Keys that share their low bits probe the same run of slots.
  auto key = [](uint64_t i) { return (i << 40) | 0x1234; };
  for (uint32_t i = 0; i < 5000; ++i) EXPECT_EQ(index.FindOrInsert(key(i), i), i);
  for (uint32_t i = 0; i < 5000; ++i) EXPECT_EQ(index.FindOrInsert(key(i), 99999), i);
  EXPECT_EQ(index.size(), 5000u);
  EXPECT_EQ(index.Find(key(4321)), 4321u);
  EXPECT_EQ(index.Find(key(5000)), HashKeyIndex::kEmpty);
  EXPECT_EQ(index.Find(0), HashKeyIndex::kEmpty);
  EXPECT_EQ(index.FindOrInsert(0, 7), 7u);  // zero is an ordinary key
  EXPECT_EQ(index.Find(0), 7u);
  index.Clear();
  EXPECT_EQ(index.Find(key(1)), HashKeyIndex::kEmpty);
  EXPECT_EQ(index.size(), 0u);
}

}  // namespace
}  // namespace stackhouse
