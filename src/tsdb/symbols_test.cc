#include "tsdb/symbols.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "base/testing/testing.h"
#include "profile/folded.h"
#include "profile/pprof.h"
#include "tsdb/testing/store_testing.h"

namespace stackhouse::tsdb {
namespace {

profile::Profile Load(const std::string& name) { return testing::SharedPprof(name); }

// Interns every sample of p; returns the node per sample.
std::vector<uint32_t> InternAll(SymbolTable* t, const profile::Profile& p) {
  ProfileInterner in(t, p);
  std::vector<uint32_t> nodes;
  for (size_t i = 0; i < p.samples.size(); ++i) nodes.push_back(in.Stack(i));
  return nodes;
}

// The frame names of a node's stack, leaf first.
std::vector<std::string> Names(const SymbolTable& t, uint32_t node) {
  std::vector<uint32_t> locs;
  t.StackLocations(node, &locs);
  std::vector<std::string> out;
  for (uint32_t l : locs) out.push_back(t.FrameName(l));
  return out;
}

TEST(SymbolTableTest, InterningDeduplicatesAndStacksShareNodes) {
  SymbolTable t;
  profile::Profile p = Load("go_cpu.pb.gz");
  std::vector<uint32_t> first = InternAll(&t, p);
  SymbolTable::Sizes after_first = t.sizes();
  // Interning the same profile again adds nothing and gives the same nodes.
  EXPECT_EQ(InternAll(&t, p), first);
  EXPECT_EQ(t.sizes(), after_first);
  // A node's path reproduces the sample's frames.
  for (size_t i = 0; i < p.samples.size(); ++i) {
    auto stack = p.sample_stack(i);
    ASSERT_EQ(Names(t, first[i]).size(), stack.size());
    EXPECT_EQ(Names(t, first[i])[0], p.FrameName(p.locations[stack[0]]));
  }
  // Parents precede children.
  for (uint32_t n = 1; n < t.num_nodes(); ++n) EXPECT_LT(t.parent(n), n);
  // Fewer nodes than stack entries: prefixes are shared.
  EXPECT_LT(t.num_nodes(), p.stack.size());
}

// PrepareStacks (batched lookups) gives the same nodes and the same table as
// mapping each sample on its own, into an empty table and into one that
// already holds part of the symbols.
TEST(SymbolTableTest, PreparedStacksMatchOneByOne) {
  for (const char* file : {"go_cpu.pb.gz", "go_heap.pb.gz"}) {
    profile::Profile p = Load(file);
    profile::Profile other = Load("go_cpu.pb.gz");
    for (bool warm : {false, true}) {
      SymbolTable one, batched;
      if (warm) {
        InternAll(&one, other);
        InternAll(&batched, other);
      }
      std::vector<uint32_t> expected = InternAll(&one, p);
      ProfileInterner in(&batched, p);
      in.PrepareStacks();
      std::vector<uint32_t> got;
      for (size_t i = 0; i < p.samples.size(); ++i) got.push_back(in.Stack(i));
      EXPECT_EQ(got, expected) << file << (warm ? " (warm)" : "");
      // The hashes computed ahead (two samples at a time) are the tree's own:
      // with a wrong one, Stack() would still be right, only slower.
      for (size_t i = 0; i < p.samples.size(); ++i) {
        auto values = p.sample_values(i);
        bool stored = std::any_of(values.begin(), values.end(), [](int64_t v) { return v != 0; });
        if (!stored || p.sample_stack(i).empty()) continue;  // left to Stack()
        ASSERT_EQ(in.prepared_path_hash(i), batched.node_hash(got[i])) << file << " sample " << i;
      }
      EXPECT_EQ(batched.sizes(), one.sizes()) << file;
    }
    // Samples whose values are all 0 are left to Stack(): their symbols are
    // not interned ahead, and Stack() still maps them when asked.
    profile::Profile zeroed = p;
    for (size_t i = 0; i < zeroed.samples.size(); i += 2) {
      for (int64_t& v : zeroed.mutable_sample_values(i)) v = 0;
    }
    SymbolTable one, batched;
    std::vector<uint32_t> expected;
    {
      ProfileInterner in(&one, zeroed);
      for (size_t i = 1; i < zeroed.samples.size(); i += 2) expected.push_back(in.Stack(i));
    }
    ProfileInterner in(&batched, zeroed);
    in.PrepareStacks();
    EXPECT_EQ(batched.sizes().locations, one.sizes().locations) << file;
    std::vector<uint32_t> got;
    for (size_t i = 1; i < zeroed.samples.size(); i += 2) got.push_back(in.Stack(i));
    EXPECT_EQ(got, expected) << file;
    // A zeroed sample, asked for, still maps to its own stack.
    auto stack = zeroed.sample_stack(0);
    std::vector<std::string> names = Names(batched, in.Stack(0));
    ASSERT_EQ(names.size(), stack.size()) << file;
    EXPECT_EQ(names[0], zeroed.FrameName(zeroed.locations[stack[0]])) << file;
  }
}

// A new stack is added after its longest prefix already in the tree (found
// by path hashes); the tree is the same, node for node, as adding every
// stack frame by frame from the root: stacks that extend, branch off at
// every depth from known ones, start at new roots, or repeat.
TEST(SymbolTableTest, NewStacksJoinTheirLongestKnownPrefix) {
  std::mt19937 rng(11);
  SymbolTable fast, walked;
  std::vector<std::vector<uint32_t>> seen;  // root first
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint32_t> root_first;
    if (seen.empty() || rng() % 10 == 0) {
      root_first.push_back(1 + rng() % 40);  // maybe a new root
    } else {
      root_first = seen[rng() % seen.size()];
      root_first.resize(rng() % (root_first.size() + 1));  // any depth, even 0
    }
    size_t extra = rng() % 4 == 0 ? 0 : 1 + rng() % 12;
    for (size_t k = 0; k < extra; ++k) root_first.push_back(1 + rng() % 40);
    if (root_first.empty()) continue;
    seen.push_back(root_first);
    std::vector<uint32_t> leaf_first(root_first.rbegin(), root_first.rend());
    uint64_t h = SymbolTable::RootPathHash();
    for (uint32_t loc : root_first) h = SymbolTable::MixPathHash(h, loc);
    uint32_t want = 0;
    for (uint32_t loc : root_first) want = walked.Child(want, loc);
    ASSERT_EQ(fast.Stack(leaf_first, h), want) << "stack " << i;
    ASSERT_EQ(fast.num_nodes(), walked.num_nodes()) << "stack " << i;
  }
  EXPECT_EQ(fast.parents(), walked.parents());
  EXPECT_EQ(fast.node_locations(), walked.node_locations());
}

TEST(SymbolTableTest, ContentHashFastPathAgreesAcrossProfiles) {
  // The same symbols in another profile (re-encoded with other ids and order)
  // map to the same table entries.
  SymbolTable t;
  profile::Profile a = profile::ParseFolded("main;a;b 1\nmain;c 2\n").value();
  profile::Profile b = profile::ParseFolded("x;y 5\nmain;c 1\nmain;a;b 3\n").value();
  std::vector<uint32_t> na = InternAll(&t, a);
  std::vector<uint32_t> nb = InternAll(&t, b);
  EXPECT_EQ(na[0], nb[2]);  // main;a;b
  EXPECT_EQ(na[1], nb[1]);  // main;c
  EXPECT_EQ(t.num_locations(), 6u);  // main, a, b, c, x, y
}

TEST(SymbolTableTest, DeltaRoundTripReproducesTheTable) {
  SymbolTable writer, reader;
  std::vector<std::string> records;
  for (const char* f : {"go_cpu.pb.gz", "go_heap.pb.gz", "node_1.pb.gz"}) {
    SymbolTable::Sizes before = writer.sizes();
    InternAll(&writer, Load(f));
    std::string rec;
    writer.EncodeDelta(before, &rec);
    records.push_back(rec);
  }
  for (const std::string& rec : records) {
    protowire::Reader r(rec);
    ASSERT_TRUE(reader.DecodeDelta(&r).ok());
    EXPECT_TRUE(r.done());
  }
  EXPECT_EQ(reader.sizes(), writer.sizes());
  for (uint32_t n = 1; n < writer.num_nodes(); ++n) {
    ASSERT_EQ(reader.parent(n), writer.parent(n));
    ASSERT_EQ(Names(reader, n), Names(writer, n));
  }
  // Applying a delta twice (or out of order) is detected.
  protowire::Reader again(records[1]);
  Status s = reader.DecodeDelta(&again);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("starts at"), std::string::npos);
  // The decoded table keeps interning consistently.
  EXPECT_EQ(InternAll(&reader, Load("node_1.pb.gz")), InternAll(&writer, Load("node_1.pb.gz")));
  EXPECT_EQ(reader.sizes(), writer.sizes());
}

TEST(SymbolTableTest, SectionsRoundTripAndRejectCorruption) {
  SymbolTable t;
  std::vector<uint32_t> nodes = InternAll(&t, Load("node_3.pb.gz"));
  std::string s[5];
  t.EncodeSections(&s[0], &s[1], &s[2], &s[3], &s[4]);
  auto back = SymbolTable::DecodeSections(s[0], s[1], s[2], s[3], s[4]);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->sizes(), t.sizes());
  for (uint32_t n : nodes) EXPECT_EQ(Names(*back, n), Names(t, n));
  // A stack section whose parent delta points past the root is corrupt.
  std::string bad = s[4];
  bad[1] = 0x7f;
  EXPECT_FALSE(SymbolTable::DecodeSections(s[0], s[1], s[2], s[3], bad).ok());
  EXPECT_FALSE(SymbolTable::DecodeSections("", s[1], s[2], s[3], s[4]).ok());
  EXPECT_FALSE(SymbolTable::DecodeSections(s[0], s[1], s[2], s[3].substr(0, s[3].size() / 2), s[4]).ok());
}

// Renumbered() must give exactly what the block's reader decodes: a block
// opened right after it is written uses it instead of reading back.
TEST(SymbolTableTest, RenumberedEqualsTheDecodedBlockTable) {
  SymbolTable t;
  for (const char* f : {"go_cpu.pb.gz", "node_3.pb.gz", "go_heap.pb.gz"}) InternAll(&t, Load(f));
  ASSERT_FALSE(t.grouped_by_parent());
  const SymbolTable::NodeOrder order = t.BreadthFirstOrder();
  std::string s[5];
  t.EncodeSections(&s[0], &s[1], &s[2], &s[3], &s[4], &order);
  auto decoded = SymbolTable::DecodeSections(s[0], s[1], s[2], s[3], s[4]);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const SymbolTable made = t.Renumbered(order);
  const SymbolTable& want = *decoded;
  ASSERT_EQ(made.sizes(), want.sizes());
  EXPECT_TRUE(made.grouped_by_parent());
  EXPECT_EQ(made.grouped_by_parent(), want.grouped_by_parent());
  EXPECT_EQ(made.MemoryBytes(), want.MemoryBytes());
  const SymbolTable::Sizes n = want.sizes();
  for (uint32_t i = 0; i < n.strings; ++i) ASSERT_EQ(made.string(i), want.string(i));
  for (uint32_t i = 1; i <= n.mappings; ++i) ASSERT_EQ(made.mapping(i), want.mapping(i));
  for (uint32_t i = 1; i <= n.functions; ++i) ASSERT_EQ(made.function(i), want.function(i));
  for (uint32_t i = 0; i < n.locations; ++i) {
    ASSERT_EQ(made.location(i).mapping, want.location(i).mapping);
    ASSERT_EQ(made.location(i).address, want.location(i).address);
    const auto a = made.lines(made.location(i)), b = want.lines(want.location(i));
    ASSERT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  }
  EXPECT_EQ(made.parents(), want.parents());
  EXPECT_EQ(made.node_locations(), want.node_locations());
  for (uint32_t i = 0; i < n.nodes; ++i) ASSERT_EQ(made.node_hash(i), want.node_hash(i));
  // Both intern alike afterwards (the content hashes and indexes agree).
  SymbolTable a = made, b = want;
  EXPECT_EQ(InternAll(&a, Load("node_1.pb.gz")), InternAll(&b, Load("node_1.pb.gz")));
  EXPECT_EQ(a.sizes(), b.sizes());
}

TEST(SymbolTableTest, ImporterMergesTablesByContent) {
  SymbolTable a, b, merged;
  std::vector<uint32_t> na = InternAll(&a, profile::ParseFolded("main;a;b 1\nmain;c 2\n").value());
  std::vector<uint32_t> nb = InternAll(&b, profile::ParseFolded("main;c 5\nmain;a;d 1\n").value());
  TableImporter ia(&merged, a), ib(&merged, b);
  EXPECT_EQ(ia.Node(na[1]), ib.Node(nb[0]));  // main;c in both
  EXPECT_EQ(Names(merged, ia.Node(na[0])), (std::vector<std::string>{"b", "a", "main"}));
  EXPECT_EQ(Names(merged, ib.Node(nb[1])), (std::vector<std::string>{"d", "a", "main"}));
  EXPECT_EQ(merged.parent(ia.Node(na[0])), merged.parent(ib.Node(nb[1])));  // main;a shared
}

}  // namespace
}  // namespace stackhouse::tsdb
