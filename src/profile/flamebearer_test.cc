#include "profile/flamebearer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/testing/testing.h"
#include "profile/flame_tree.h"
#include "profile/pprof.h"

namespace stackhouse::profile {
namespace {

using stackhouse::testing::OwnTestdata;
using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

Profile DecodeOrDie(const std::string& file) {
  auto p = DecodePprof(ReadOrDie(SharedTestdata(file)));
  EXPECT_TRUE(p.ok()) << file << ": " << p.status().ToString();
  return p.ok() ? std::move(p).value() : Profile();
}

void Add(FlameTree* tree, std::vector<std::string> stack, int64_t value) {
  std::vector<uint32_t> ids;
  for (const std::string& s : stack) ids.push_back(tree->NameId(s));
  tree->AddStack(ids, value);
}

// A node as read back from flamebearer JSON: the root-first path of names
// (joined by '\x1f') and its values.
struct Decoded {
  int64_t total = 0;
  int64_t self = 0;
};

// The reader: undoes the x deltas, and finds each bar's parent as the bar of
// the previous level whose [x, x + total) holds the bar's x.
std::map<std::string, Decoded> DecodeLevels(const nlohmann::json& fb) {
  struct Bar {
    int64_t x, total;
    std::string path;
  };
  std::map<std::string, Decoded> out;
  const auto& names = fb.at("names");
  std::vector<Bar> prev;
  for (size_t d = 0; d < fb.at("levels").size(); ++d) {
    const auto& level = fb.at("levels")[d];
    EXPECT_EQ(level.size() % 4, 0u) << "level " << d;
    std::vector<Bar> cur;
    int64_t end = 0;
    size_t p = 0;
    for (size_t i = 0; i + 3 < level.size(); i += 4) {
      int64_t x = end + level[i].get<int64_t>();
      int64_t total = level[i + 1].get<int64_t>();
      int64_t self = level[i + 2].get<int64_t>();
      std::string name = names.at(level[i + 3].get<size_t>()).get<std::string>();
      EXPECT_GE(level[i].get<int64_t>(), 0) << "bars overlap at level " << d;
      end = x + total;
      std::string path;
      if (d == 0) {
        EXPECT_EQ(x, 0);
        path = name;
      } else {
        while (p < prev.size() && !(prev[p].x <= x && x < prev[p].x + prev[p].total)) ++p;
        if (p == prev.size()) {
          ADD_FAILURE() << "no parent for bar " << i / 4 << " of level " << d;
          return out;
        }
        path = prev[p].path + '\x1f' + name;
      }
      EXPECT_EQ(out.count(path), 0u) << "duplicate " << path;
      out[path] = {total, self};
      cur.push_back({x, total, std::move(path)});
    }
    prev = std::move(cur);
  }
  return out;
}

std::map<std::string, Decoded> TreeNodes(const FlameTree& tree) {
  std::map<std::string, Decoded> out;
  std::vector<std::string> paths(tree.nodes().size());
  for (uint32_t i = 0; i < tree.nodes().size(); ++i) {
    const FlameTree::Node& n = tree.node(i);
    paths[i] = i == 0 ? tree.node_name(0) : paths[n.parent] + '\x1f' + tree.node_name(i);
    out[paths[i]] = {n.total, n.self};
  }
  return out;
}

TEST(FlamebearerTest, SmallTreeGolden) {
  FlameTree tree;
  Add(&tree, {"main", "foo", "bar"}, 3);
  Add(&tree, {"main", "foo"}, 1);
  Add(&tree, {"main", "baz"}, 2);
  Add(&tree, {"main"}, 1);
  Add(&tree, {"init"}, 2);
  tree.NameId("unused");  // interned but on no stack: left out of names[]
  FlamebearerMetadata meta{"cpu", "", "samples", 100};
  // x: init [0,2) and main [2,9) (self 1 on its right); baz [2,4), foo [4,8);
  // bar [4,7).
  EXPECT_EQ(WriteFlamebearer(tree, meta),
            R"({"version":1,"flamebearer":{"names":["total","main","foo","bar","baz","init"],)"
            R"("levels":[[0,9,0,0],[0,2,2,5,0,7,1,1],[2,2,2,4,0,4,1,2],[4,3,3,3]],)"
            R"("numTicks":9,"maxSelf":3},"metadata":{"format":"single","spyName":"unknown",)"
            R"("sampleRate":100,"units":"samples","name":"cpu"}})");
}

TEST(FlamebearerTest, EmptyTree) {
  FlameTree tree;
  EXPECT_EQ(WriteFlamebearer(tree, {"", "gospy", "", 100}),
            R"({"version":1,"flamebearer":{"names":["total"],"levels":[[0,0,0,0]],)"
            R"("numTicks":0,"maxSelf":0},"metadata":{"format":"single","spyName":"gospy",)"
            R"("sampleRate":100,"units":"","name":""}})");
}

TEST(FlamebearerTest, EscapesNamesAndSharesRepeatedNames) {
  FlameTree tree;
  Add(&tree, {"a\"b\\c\n", "rec", "rec", "rec"}, 5);
  Add(&tree, {"total", "\xff"}, 1);  // a frame called "total"; invalid UTF-8
  std::string json = WriteFlamebearer(tree, {"x\"y", "", "", 100});
  auto j = nlohmann::json::parse(json);  // throws (fails the test) if invalid
  std::vector<std::string> names = j["flamebearer"]["names"];
  EXPECT_EQ(names, (std::vector<std::string>{"total", "a\"b\\c\n", "rec", "\xEF\xBF\xBD"}));
  EXPECT_EQ(j["metadata"]["name"], "x\"y");
  auto decoded = DecodeLevels(j["flamebearer"]);
  EXPECT_EQ(decoded.size(), tree.nodes().size());
  const std::string sep = "\x1f";
  EXPECT_EQ(decoded["total" + sep + "total" + sep + "\xEF\xBF\xBD"].self, 1);
  EXPECT_EQ(decoded["total" + sep + "a\"b\\c\n" + sep + "rec" + sep + "rec" + sep + "rec"].self, 5);
}

TEST(FlamebearerTest, DeepStackDoesNotRecurse) {
  FlameTree tree;
  std::vector<uint32_t> stack;
  for (int i = 0; i < 200000; ++i) stack.push_back(tree.NameId(i % 2 ? "a" : "b"));
  tree.AddStack(stack, 7);
  auto j = nlohmann::json::parse(WriteFlamebearer(tree, {}));
  ASSERT_EQ(j["flamebearer"]["levels"].size(), 200001u);
  EXPECT_EQ(j["flamebearer"]["levels"][200000], nlohmann::json({0, 7, 7, 2}));
  EXPECT_EQ(j["flamebearer"]["names"].size(), 3u);
}

TEST(FlamebearerTest, GoCpuDecodesBackToTheTree) {
  Profile p = DecodeOrDie("go_cpu.pb.gz");
  for (const char* type : {"samples", "cpu"}) {
    int t = p.FindSampleType(type);
    ASSERT_GE(t, 0) << type;
    FlameTree tree = FlameTree::FromProfile(p, t);
    auto j = nlohmann::json::parse(WriteFlamebearer(tree, FlamebearerMetadataFor(p, t)));
    const auto& fb = j["flamebearer"];
    EXPECT_EQ(fb["numTicks"].get<int64_t>(), p.Total(t)) << type;
    EXPECT_EQ(fb["maxSelf"].get<int64_t>(), tree.MaxSelf()) << type;
    EXPECT_EQ(fb["levels"].size(), tree.MaxDepth() + 1) << type;
    EXPECT_EQ(fb["names"][0], "total");
    std::vector<std::string> names = fb["names"];
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "duplicate name";

    auto decoded = DecodeLevels(fb);
    auto want = TreeNodes(tree);
    EXPECT_EQ(decoded.size(), want.size()) << type;
    for (const auto& [path, node] : want) {
      auto it = decoded.find(path);
      ASSERT_NE(it, decoded.end()) << type << " missing " << path;
      EXPECT_EQ(it->second.total, node.total) << type << " " << path;
      EXPECT_EQ(it->second.self, node.self) << type << " " << path;
    }
  }
  EXPECT_EQ(p.Total(p.FindSampleType("samples")), 514);
}

// Golden: go_cpu.pb.gz, sample type "samples". To regenerate after an
// intended format change, run this test with STACKHOUSE_UPDATE_GOLDEN=1 (it
// rewrites testdata/golden/flamebearer_go_cpu.json), then review the diff.
TEST(FlamebearerTest, GoCpuGolden) {
  Profile p = DecodeOrDie("go_cpu.pb.gz");
  int t = p.FindSampleType("samples");
  ASSERT_GE(t, 0);
  std::string got = WriteFlamebearer(FlameTree::FromProfile(p, t), FlamebearerMetadataFor(p, t));
  const std::string path = OwnTestdata("golden/flamebearer_go_cpu.json");
  const char* update = std::getenv("STACKHOUSE_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << got;
  }
  EXPECT_EQ(got, ReadOrDie(path)) << "rerun with STACKHOUSE_UPDATE_GOLDEN=1 to update " << path;
}

struct MetaCase {
  const char* file;
  const char* type;
  const char* units;
  int64_t sample_rate;
};

TEST(FlamebearerTest, MetadataForGoProfiles) {
  const MetaCase cases[] = {
      {"go_cpu.pb.gz", "samples", "samples", 100},  // period 10 ms
      {"go_cpu.pb.gz", "cpu", "samples", 1000000000},
      {"go_heap.pb.gz", "alloc_objects", "objects", 100},
      {"go_heap.pb.gz", "alloc_space", "bytes", 100},
      {"go_heap.pb.gz", "inuse_objects", "objects", 100},
      {"go_heap.pb.gz", "inuse_space", "bytes", 100},
      {"go_mutex.pb.gz", "contentions", "lock_samples", 100},
      {"go_mutex.pb.gz", "delay", "lock_nanoseconds", 100},
      {"go_block.pb.gz", "contentions", "lock_samples", 100},
      {"go_block.pb.gz", "delay", "lock_nanoseconds", 100},
  };
  for (const MetaCase& c : cases) {
    Profile p = DecodeOrDie(c.file);
    int t = p.FindSampleType(c.type);
    ASSERT_GE(t, 0) << c.file << " " << c.type;
    FlamebearerMetadata m = FlamebearerMetadataFor(p, t);
    EXPECT_EQ(m.name, c.type) << c.file;
    EXPECT_EQ(m.units, c.units) << c.file << " " << c.type;
    EXPECT_EQ(m.sample_rate, c.sample_rate) << c.file << " " << c.type;
    EXPECT_EQ(m.spy_name, "");
  }
}

TEST(FlamebearerTest, MetadataForBuiltProfiles) {
  auto meta = [](const char* type, const char* unit, const char* period_unit, int64_t period) {
    Profile p;
    p.strings = {"", type, unit, "x", period_unit};
    p.sample_types.push_back({1, 2});
    p.period_type = {3, 4};
    p.period = period;
    return FlamebearerMetadataFor(p, 0);
  };
  FlamebearerMetadata m = meta("goroutine", "count", "", 1);
  EXPECT_EQ(m.units, "goroutines");
  m = meta("wall", "nanoseconds", "nanoseconds", 10000000);
  EXPECT_EQ(m.units, "samples");
  EXPECT_EQ(m.sample_rate, 1000000000);
  m = meta("samples", "count", "nanoseconds", 10327000);  // Node's ~97 Hz
  EXPECT_EQ(m.units, "samples");
  EXPECT_EQ(m.sample_rate, 97);
  m = meta("samples", "count", "", 0);
  EXPECT_EQ(m.sample_rate, 100);
  m = meta("lock_duration", "nanoseconds", "", 0);
  EXPECT_EQ(m.units, "lock_nanoseconds");
  m = meta("weird", "furlongs", "", 0);
  EXPECT_EQ(m.units, "");
  EXPECT_EQ(m.sample_rate, 100);
  EXPECT_EQ(FlamebearerMetadataFor(Profile(), 0).units, "");  // out of range
}

}  // namespace
}  // namespace stackhouse::profile
