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
#include "profile/flame_truncate.h"
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
            R"("levels":[[0,9,0,0],[0,2,2,5,0,7,1,1],[3,2,2,4,0,4,1,2],[6,3,3,3]],)"
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

// ---- Truncation report on the single format ----

// Reads FlamebearerBinary's output back: the JSON, the unit, the levels.
struct BinaryDecoded {
  std::string json;
  uint64_t unit = 0;
  std::vector<std::vector<int64_t>> levels;
};
BinaryDecoded DecodeBinary(const std::string& b, size_t stride) {
  BinaryDecoded d;
  EXPECT_EQ(b.substr(0, 5), std::string("SHFB\x01", 5));
  size_t len = 0;
  for (int i = 0; i < 4; ++i) len |= size_t{static_cast<uint8_t>(b[5 + i])} << (8 * i);
  d.json = b.substr(9, len);
  size_t pos = 9 + len;
  auto uvarint = [&] {
    uint64_t v = 0;
    for (int shift = 0; pos < b.size(); shift += 7) {
      const auto c = static_cast<uint8_t>(b[pos++]);
      v |= uint64_t{c & 0x7fu} << shift;
      if (!(c & 0x80)) break;
    }
    return v;
  };
  d.unit = uvarint();
  d.levels.resize(uvarint());
  for (auto& l : d.levels) {
    l.resize(uvarint());
    for (size_t k = 0; k < l.size(); ++k) {
      const uint64_t z = uvarint();
      const auto v = static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
      l[k] = k % stride == stride - 1 ? v : v * static_cast<int64_t>(d.unit);
    }
  }
  EXPECT_EQ(pos, b.size());
  return d;
}

TEST(FlamebearerTest, BinaryFormRoundTrips) {
  // Values in units of a period; a value past a double's 53 bits; negative
  // values (a diff's); units that only a later value breaks.
  const int64_t big = 10000000 * ((int64_t{1} << 37) + 1);  // ~1.4e18
  struct Case {
    std::vector<std::vector<int64_t>> levels;
    size_t stride;
    uint64_t unit;
  } cases[] = {
      {{{0, 30000000, 10000000, 0}, {0, 20000000, 20000000, 1, 0, 10000000, 0, 2}}, 4, 10000000},
      {{{0, big, 0, 0}, {0, big - 10000000, big - 10000000, 1}}, 4, 10000000},
      {{{0, 12, 6, 0}, {0, 6, 6, 1}, {0, 3, 3, 2}}, 4, 3},
      {{{0, 7, 0, 0}}, 4, 7},
      {{{0, 0, 0, 0}}, 4, 1},
      {{{0, 40, 0, -20, 60, 0, 0}, {-8, 40, 40, 4, 60, -60, 1}}, 7, 4},
  };
  for (const Case& c : cases) {
    FlamebearerData data;
    data.levels = c.levels;
    const BinaryDecoded d = DecodeBinary(FlamebearerBinary("{\"x\":1}", data, c.stride), c.stride);
    EXPECT_EQ(d.json, "{\"x\":1}");
    EXPECT_EQ(d.unit, c.unit);
    EXPECT_EQ(d.levels, c.levels);
  }
}

TEST(FlamebearerTest, TruncationReportIsAnExtraObject) {
  Profile p = DecodeOrDie("go_cpu.pb.gz");
  int t = p.FindSampleType("samples");
  ASSERT_GE(t, 0);
  FlameTree tree = FlameTree::FromProfile(p, t);
  FlamebearerMetadata meta = FlamebearerMetadataFor(p, t);
  const std::string plain = WriteFlamebearer(tree, meta);
  EXPECT_EQ(WriteFlamebearer(tree, meta, nullptr), plain);

  TruncationReport r{12, 34, 56, 7};
  std::string with = WriteFlamebearer(tree, meta, &r);
  EXPECT_EQ(with, plain.substr(0, plain.size() - 1) +
                      R"(,"truncation":{"keptNodes":12,"foldedNodes":34,"foldedValue":56,)"
                      R"("otherNodes":7}})");

  // A truncated tree: kept bars carry the input's values, the report adds up.
  ASSERT_GT(tree.nodes().size(), 50u);
  FlameTree cut = TruncateFlameTree(tree, 50, &r);
  auto j = nlohmann::json::parse(WriteFlamebearer(cut, meta, &r));
  EXPECT_EQ(j["flamebearer"]["numTicks"].get<int64_t>(), tree.total());
  EXPECT_EQ(
      j["truncation"]["keptNodes"].get<size_t>() + j["truncation"]["foldedNodes"].get<size_t>(),
      tree.nodes().size());
  auto decoded = DecodeLevels(j["flamebearer"]);
  EXPECT_EQ(decoded.size(), cut.nodes().size());
  EXPECT_LE(decoded.size(), 50u);
  auto want = TreeNodes(tree);
  int64_t other_sum = 0;
  for (const auto& [path, node] : decoded) {
    if (path.ends_with("\x1fother")) {
      other_sum += node.total;
      continue;
    }
    ASSERT_EQ(want.count(path), 1u) << path;
    EXPECT_EQ(want[path].total, node.total) << path;
    EXPECT_EQ(want[path].self, node.self) << path;
  }
  EXPECT_EQ(other_sum, r.folded_value);
  EXPECT_EQ(j["truncation"]["foldedValue"].get<int64_t>(), r.folded_value);
}

// ---- The "double" (diff) format ----

struct DiffValues {
  int64_t left_total = 0, left_self = 0, right_total = 0, right_self = 0;
  bool operator==(const DiffValues&) const = default;
};

std::ostream& operator<<(std::ostream& os, const DiffValues& v) {
  return os << "{" << v.left_total << "," << v.left_self << " | " << v.right_total << ","
            << v.right_self << "}";
}

// The reader of the double format, as Pyroscope's UI does it: undoes the x
// deltas of each side, places each bar at left x + right x with width left
// total + right total, and finds each bar's parent as the bar of the
// previous level whose range holds it. Also checks that each side on its own
// nests (children after the parent's self, inside the parent).
std::map<std::string, DiffValues> DecodeDiffLevels(const nlohmann::json& fb) {
  struct Bar {
    int64_t lx, lt, ls, rx, rt, rs;
    std::string path;
  };
  std::map<std::string, DiffValues> out;
  const auto& names = fb.at("names");
  std::vector<Bar> prev;
  for (size_t d = 0; d < fb.at("levels").size(); ++d) {
    const auto& level = fb.at("levels")[d];
    EXPECT_EQ(level.size() % 7, 0u) << "level " << d;
    std::vector<Bar> cur;
    int64_t left_end = 0, right_end = 0;
    size_t p = 0;
    // Per parent: where the next child may start on each side.
    int64_t left_next = 0, right_next = 0;
    size_t next_parent = SIZE_MAX;
    for (size_t i = 0; i + 6 < level.size(); i += 7) {
      EXPECT_GE(level[i].get<int64_t>(), 0) << "left bars overlap at level " << d;
      EXPECT_GE(level[i + 3].get<int64_t>(), 0) << "right bars overlap at level " << d;
      Bar b{left_end + level[i].get<int64_t>(),
            level[i + 1].get<int64_t>(),
            level[i + 2].get<int64_t>(),
            right_end + level[i + 3].get<int64_t>(),
            level[i + 4].get<int64_t>(),
            level[i + 5].get<int64_t>(),
            ""};
      std::string name = names.at(level[i + 6].get<size_t>()).get<std::string>();
      left_end = b.lx + b.lt;
      right_end = b.rx + b.rt;
      if (d == 0) {
        EXPECT_EQ(b.lx, 0);
        EXPECT_EQ(b.rx, 0);
        b.path = name;
      } else {
        const int64_t x = b.lx + b.rx;
        while (p < prev.size() && !(prev[p].lx + prev[p].rx <= x &&
                                    x < prev[p].lx + prev[p].rx + prev[p].lt + prev[p].rt)) {
          ++p;
        }
        if (p == prev.size()) {
          ADD_FAILURE() << "no parent for bar " << i / 7 << " of level " << d;
          return out;
        }
        if (p != next_parent) {
          next_parent = p;
          left_next = prev[p].lx + prev[p].ls;  // self first, as Pyroscope
          right_next = prev[p].rx + prev[p].rs;
        }
        EXPECT_EQ(b.lx, left_next) << name;
        EXPECT_EQ(b.rx, right_next) << name;
        left_next += b.lt;
        right_next += b.rt;
        EXPECT_LE(left_next, prev[p].lx + prev[p].lt) << name;
        EXPECT_LE(right_next, prev[p].rx + prev[p].rt) << name;
        b.path = prev[p].path + '\x1f' + name;
      }
      EXPECT_EQ(out.count(b.path), 0u) << "duplicate " << b.path;
      out[b.path] = {b.lt, b.ls, b.rt, b.rs};
      cur.push_back(std::move(b));
    }
    prev = std::move(cur);
  }
  return out;
}

// The union of two trees by path, from the trees themselves.
std::map<std::string, DiffValues> UnionNodes(const FlameTree& left, const FlameTree& right) {
  std::map<std::string, DiffValues> out;
  for (const auto& [path, n] : TreeNodes(left)) {
    out[path].left_total = n.total;
    out[path].left_self = n.self;
  }
  for (const auto& [path, n] : TreeNodes(right)) {
    out[path].right_total = n.total;
    out[path].right_self = n.self;
  }
  return out;
}

// left: main/foo 3, main/bar 2, main 1, init 1 (7); right: main/foo 1,
// main/baz 4, gc 3 (8).
std::pair<FlameTree, FlameTree> SmallDiffTrees() {
  FlameTree left, right;
  Add(&left, {"main", "foo"}, 3);
  Add(&left, {"main", "bar"}, 2);
  Add(&left, {"main"}, 1);
  Add(&left, {"init"}, 1);
  Add(&right, {"main", "foo"}, 1);
  Add(&right, {"main", "baz"}, 4);
  Add(&right, {"gc"}, 3);
  return {std::move(left), std::move(right)};
}

TEST(FlamebearerDiffTest, SmallGolden) {
  auto [left, right] = SmallDiffTrees();
  // Per side, self first and then the children by name:
  //   left:  gc [0,0) init [0,1) main [1,7) (self [1,2)); bar [2,4) baz [4,4) foo [4,7)
  //   right: gc [0,3) init [3,3) main [3,8); bar [3,3) baz [3,7) foo [7,8)
  EXPECT_EQ(WriteFlamebearerDiff(left, right, {"cpu", "", "samples", 100}),
            R"({"version":1,"flamebearer":{"names":["total","gc","init","main","bar","baz","foo"],)"
            R"("levels":[[0,7,0,0,8,0,0],)"
            R"([0,0,0,0,3,3,1,0,1,1,0,0,0,2,0,6,1,0,5,0,3],)"
            R"([2,2,2,3,0,0,4,0,0,0,0,4,4,5,0,3,3,0,1,1,6]],)"
            R"("numTicks":15,"maxSelf":4},"metadata":{"format":"double","spyName":"unknown",)"
            R"("sampleRate":100,"units":"samples","name":"cpu"},"leftTicks":7,"rightTicks":8})");
}

TEST(FlamebearerDiffTest, MergeHelper) {
  auto [left, right] = SmallDiffTrees();
  DiffTree u = MergeFlameTrees(left, right);
  ASSERT_EQ(u.nodes.size(), 7u);
  ASSERT_EQ(u.first_child.size(), 8u);
  EXPECT_EQ(u.left_total(), 7);
  EXPECT_EQ(u.right_total(), 8);
  // Breadth first, children contiguous and sorted.
  std::vector<std::string> order;
  for (const DiffNode& n : u.nodes) order.push_back(u.names[n.name]);
  EXPECT_EQ(order, (std::vector<std::string>{"total", "gc", "init", "main", "bar", "baz", "foo"}));
  EXPECT_EQ(u.first_child, (std::vector<uint32_t>{1, 4, 4, 4, 7, 7, 7, 7}));
  EXPECT_EQ(u.nodes[3].parent, 0u);
  EXPECT_EQ(u.nodes[5].parent, 3u);
  const DiffNode& gc = u.nodes[1];
  EXPECT_EQ(DiffValues({gc.left_total, gc.left_self, gc.right_total, gc.right_self}),
            DiffValues({0, 0, 3, 3}));
  const DiffNode& main = u.nodes[3];
  EXPECT_EQ(DiffValues({main.left_total, main.left_self, main.right_total, main.right_self}),
            DiffValues({6, 1, 5, 0}));
}

void ExpectDiffDecodesBack(const FlameTree& left, const FlameTree& right) {
  auto j = nlohmann::json::parse(WriteFlamebearerDiff(left, right, {}));
  const auto& fb = j["flamebearer"];
  EXPECT_EQ(j["metadata"]["format"], "double");
  EXPECT_EQ(j["leftTicks"].get<int64_t>(), left.total());
  EXPECT_EQ(j["rightTicks"].get<int64_t>(), right.total());
  EXPECT_EQ(fb["numTicks"].get<int64_t>(), left.total() + right.total());
  EXPECT_EQ(fb["maxSelf"].get<int64_t>(), std::max(left.MaxSelf(), right.MaxSelf()));
  EXPECT_EQ(fb["names"][0], "total");
  EXPECT_FALSE(j.contains("truncation"));
  std::vector<std::string> names = fb["names"];
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "duplicate name";
  auto decoded = DecodeDiffLevels(fb);
  auto want = UnionNodes(left, right);
  EXPECT_EQ(decoded.size(), want.size());
  for (const auto& [path, v] : want) {
    auto it = decoded.find(path);
    ASSERT_NE(it, decoded.end()) << "missing " << path;
    EXPECT_EQ(it->second, v) << path;
  }
}

TEST(FlamebearerDiffTest, DecodesBackByNamePath) {
  auto [left, right] = SmallDiffTrees();
  ExpectDiffDecodesBack(left, right);
  ExpectDiffDecodesBack(right, left);
  ExpectDiffDecodesBack(left, left);

  // Two wall-time profiles of the same Node.js program.
  Profile a = DecodeOrDie("node_1.pb.gz"), b = DecodeOrDie("node_3.pb.gz");
  ASSERT_GT(a.num_types(), 0u);
  ASSERT_EQ(a.str(a.sample_types[0].type), b.str(b.sample_types[0].type));
  FlameTree ta = FlameTree::FromProfile(a, 0), tb = FlameTree::FromProfile(b, 0);
  ExpectDiffDecodesBack(ta, tb);
  // And two different programs: mostly nodes present on one side only.
  Profile g = DecodeOrDie("go_cpu.pb.gz");
  ExpectDiffDecodesBack(ta, FlameTree::FromProfile(g, g.FindSampleType("samples")));
}

TEST(FlamebearerDiffTest, OneSideEmpty) {
  auto [left, right] = SmallDiffTrees();
  FlameTree empty;
  ExpectDiffDecodesBack(empty, right);
  ExpectDiffDecodesBack(left, empty);
  auto j = nlohmann::json::parse(WriteFlamebearerDiff(empty, right, {}));
  EXPECT_EQ(j["leftTicks"], 0);
  EXPECT_EQ(j["rightTicks"], 8);
  for (const auto& level : j["flamebearer"]["levels"]) {
    for (size_t i = 0; i < level.size(); i += 7) {
      EXPECT_EQ(level[i], 0);  // no left x delta: every left bar is [0,0)
      EXPECT_EQ(level[i + 1], 0);
      EXPECT_EQ(level[i + 2], 0);
    }
  }
  EXPECT_EQ(WriteFlamebearerDiff(empty, empty, {}),
            R"({"version":1,"flamebearer":{"names":["total"],"levels":[[0,0,0,0,0,0,0]],)"
            R"("numTicks":0,"maxSelf":0},"metadata":{"format":"double","spyName":"unknown",)"
            R"("sampleRate":100,"units":"","name":""},"leftTicks":0,"rightTicks":0})");
}

TEST(FlamebearerDiffTest, TruncationKeepsByShareOfEachSide) {
  // Left is 1000 wide, right 10: by raw values a and b would win; by share
  // c (80% of right) and a (70% of left) do, and b (30% / 20%, with a
  // child) is folded.
  FlameTree left, right;
  Add(&left, {"a"}, 700);
  Add(&left, {"b", "b1"}, 300);
  Add(&right, {"b"}, 2);
  Add(&right, {"c"}, 8);
  TruncationReport r;
  std::string json = WriteFlamebearerDiff(left, right, {}, 4, &r);
  EXPECT_EQ(json,
            R"({"version":1,"flamebearer":{"names":["total","a","c","other"],)"
            R"("levels":[[0,1000,0,0,10,0,0],[0,700,700,0,0,0,1,0,0,0,0,8,8,2,0,300,300,0,2,2,3]],)"
            R"("numTicks":1010,"maxSelf":700},"metadata":{"format":"double","spyName":"unknown",)"
            R"("sampleRate":100,"units":"","name":""},"leftTicks":1000,"rightTicks":10,)"
            R"("truncation":{"keptNodes":3,"foldedNodes":2,"foldedValue":302,"otherNodes":1}})");
  EXPECT_EQ(r.kept_nodes, 3u);
  EXPECT_EQ(r.folded_value, 302);

  // A limit that cuts nothing still reports.
  auto j = nlohmann::json::parse(WriteFlamebearerDiff(left, right, {}, 100, &r));
  EXPECT_EQ(j["truncation"]["foldedNodes"], 0);
  EXPECT_EQ(j["truncation"]["keptNodes"], 5);
}

TEST(FlamebearerDiffTest, TruncatedDiffFoldsPerParent) {
  Profile a = DecodeOrDie("node_1.pb.gz"), b = DecodeOrDie("node_3.pb.gz");
  FlameTree left = FlameTree::FromProfile(a, 0), right = FlameTree::FromProfile(b, 0);
  auto all = UnionNodes(left, right);
  ASSERT_GT(all.size(), 150u);
  for (const auto& [path, v] : all) ASSERT_FALSE(path.ends_with("\x1fother")) << path;

  for (size_t max : {size_t{1}, size_t{2}, size_t{3}, size_t{10}, size_t{50}, size_t{150}}) {
    SCOPED_TRACE("max_nodes " + std::to_string(max));
    TruncationReport r;
    std::string json = WriteFlamebearerDiff(left, right, {}, max, &r);
    EXPECT_EQ(json, WriteFlamebearerDiff(left, right, {}, max));  // deterministic
    auto j = nlohmann::json::parse(json);
    EXPECT_EQ(j["leftTicks"].get<int64_t>(), left.total());
    EXPECT_EQ(j["rightTicks"].get<int64_t>(), right.total());
    EXPECT_EQ(j["truncation"]["keptNodes"].get<size_t>(), r.kept_nodes);
    EXPECT_EQ(r.kept_nodes + r.folded_nodes, all.size());
    auto decoded = DecodeDiffLevels(j["flamebearer"]);
    const size_t limit = std::max<size_t>(max, 2);
    EXPECT_LE(decoded.size(), limit);
    EXPECT_GE(decoded.size(), limit - 1);
    EXPECT_EQ(decoded.size(), r.kept_nodes + r.other_nodes);

    // Kept bars carry the union's values; each "other" carries the sum of
    // the union children of its parent that are missing.
    std::map<std::string, DiffValues> missing;  // parent path -> folded sums
    for (const auto& [path, v] : all) {
      if (decoded.count(path)) continue;
      std::string parent = path.substr(0, path.rfind('\x1f'));
      if (!decoded.count(parent)) continue;  // folded with an ancestor
      DiffValues& m = missing[parent];
      m.left_total += v.left_total;
      m.right_total += v.right_total;
      m.left_self = m.left_total;
      m.right_self = m.right_total;
    }
    int64_t folded = 0;
    size_t others = 0;
    for (const auto& [path, v] : decoded) {
      if (path.ends_with("\x1fother")) {
        std::string parent = path.substr(0, path.size() - 6);
        ASSERT_EQ(missing.count(parent), 1u) << path;
        EXPECT_EQ(v, missing[parent]) << path;
        folded += v.left_total + v.right_total;
        ++others;
        continue;
      }
      ASSERT_EQ(all.count(path), 1u) << path;
      EXPECT_EQ(v, all[path]) << path;
    }
    EXPECT_EQ(others, missing.size());
    EXPECT_EQ(others, r.other_nodes);
    EXPECT_EQ(folded, r.folded_value);
  }
}

TEST(FlamebearerDiffTest, DeepChainDoesNotRecurse) {
  FlameTree left, right;
  std::vector<uint32_t> stack;
  for (int i = 0; i < 200000; ++i) stack.push_back(left.NameId(i % 2 ? "a" : "b"));
  left.AddStack(stack, 7);
  stack.clear();
  for (int i = 0; i < 100000; ++i) stack.push_back(right.NameId(i % 2 ? "a" : "b"));
  right.AddStack(stack, 3);
  auto j = nlohmann::json::parse(WriteFlamebearerDiff(left, right, {}));
  ASSERT_EQ(j["flamebearer"]["levels"].size(), 200001u);
  EXPECT_EQ(j["flamebearer"]["levels"][100000], nlohmann::json({0, 7, 0, 0, 3, 3, 2}));
  // Left only: on the right it sits (zero wide) after its parent's self.
  EXPECT_EQ(j["flamebearer"]["levels"][200000], nlohmann::json({0, 7, 7, 3, 0, 0, 2}));
  TruncationReport r;
  j = nlohmann::json::parse(WriteFlamebearerDiff(left, right, {}, 8192, &r));
  EXPECT_EQ(j["flamebearer"]["levels"].size(), 8192u);
  EXPECT_EQ(r.kept_nodes + r.other_nodes, 8192u);
}

}  // namespace
}  // namespace stackhouse::profile
