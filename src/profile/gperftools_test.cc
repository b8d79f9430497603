#include "profile/gperftools.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/builder.h"
#include "profile/pprof.h"
#include "profile/testing/ground_truth.h"
#include "profile/top.h"

namespace stackhouse::profile {
namespace {

using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

Profile ParseOrDie(std::string_view data) {
  auto p = ParseGperftoolsCpu(data);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return Profile();
  EXPECT_TRUE(p->Validate().ok()) << p->Validate().ToString();
  return std::move(p).value();
}

// Stack of addresses (leaf first) -> summed value of sample type `type`.
std::map<std::vector<uint64_t>, int64_t> AddressStacks(const Profile& p, int type) {
  std::map<std::vector<uint64_t>, int64_t> out;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    std::vector<uint64_t> key;
    for (uint32_t loc : p.sample_stack(i)) key.push_back(p.locations[loc].address);
    out[key] += p.sample_values(i)[type];
  }
  return out;
}

// Address -> name of the innermost function of the location with that
// address, for the locations of `p` that have lines.
std::map<uint64_t, std::string> AddressNames(const Profile& p) {
  std::map<uint64_t, std::string> out;
  for (const Location& loc : p.locations) {
    auto lines = p.location_lines(loc);
    if (lines.empty()) continue;
    const Function* f = p.function(lines.front().function);
    if (f != nullptr && !p.str(f->name).empty()) out[loc.address] = p.str(f->name);
  }
  return out;
}

// A copy of `p` whose locations carry one line naming the function that
// `names` gives for their address (none if it has no name).
Profile Symbolize(const Profile& p, const std::map<uint64_t, std::string>& names) {
  ProfileBuilder b;
  Profile& q = b.profile();
  for (const ValueType& t : p.sample_types) {
    q.sample_types.push_back({b.String(p.str(t.type)), b.String(p.str(t.unit))});
  }
  std::vector<uint32_t> stack;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    stack.clear();
    for (uint32_t loc : p.sample_stack(i)) {
      uint64_t address = p.locations[loc].address;
      auto it = names.find(address);
      if (it == names.end()) {
        stack.push_back(b.Location(0, address, {}));
      } else {
        Line line;
        line.function = b.Function(it->second);
        stack.push_back(b.Location(0, address, std::span<const Line>(&line, 1)));
      }
    }
    b.AddSample(stack, p.sample_values(i));
  }
  return b.Finish();
}

// The "top 5 leaf functions" of the .prof.txt sidecar, names cut at '('.
std::vector<std::pair<int64_t, std::string>> LeafTruth(const std::string& sidecar) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::istringstream in(ReadOrDie(sidecar));
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    std::string_view t = TrimSpace(line);
    if (t.starts_with("top 5 leaf functions")) {
      in_section = true;
      continue;
    }
    if (!in_section) continue;
    size_t tab = t.find('\t');
    auto v = tab == std::string_view::npos ? std::nullopt : ParseInt64(t.substr(0, tab));
    if (!v) break;
    std::string_view name = t.substr(tab + 1);
    out.emplace_back(*v, std::string(name.substr(0, name.find('('))));
  }
  return out;
}

TEST(GperftoolsTest, TestdataTotalsAndShape) {
  Profile p = ParseOrDie(ReadOrDie(SharedTestdata("gperftools_cpu.prof")));
  ASSERT_EQ(p.num_types(), 2u);
  EXPECT_EQ(p.str(p.sample_types[0].type), "samples");
  EXPECT_EQ(p.str(p.sample_types[0].unit), "count");
  EXPECT_EQ(p.str(p.sample_types[1].type), "cpu");
  EXPECT_EQ(p.str(p.sample_types[1].unit), "nanoseconds");
  EXPECT_EQ(p.str(p.period_type.type), "cpu");
  EXPECT_EQ(p.str(p.period_type.unit), "nanoseconds");
  EXPECT_EQ(p.period, 10000000);
  EXPECT_EQ(p.Total(0), 503);
  EXPECT_EQ(p.Total(1), 5030000000);
  EXPECT_EQ(p.samples.size(), 85u);
  size_t max_depth = 0;
  for (const Sample& s : p.samples) max_depth = std::max<size_t>(max_depth, s.stack_size);
  EXPECT_EQ(max_depth, 13u);
  EXPECT_TRUE(p.lines.empty());
  EXPECT_TRUE(p.functions.empty());

  // The executable segment of the binary, as in the maps text.
  const Mapping* app = nullptr;
  for (const Mapping& m : p.mappings) {
    if (p.str(m.filename) == "/opt/td/build/gperf-s/inventory_app") {
      EXPECT_EQ(app, nullptr) << "only the r-xp line is a mapping";
      app = &m;
    }
  }
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->memory_start, 0x55e626372000u);
  EXPECT_EQ(app->memory_limit, 0x55e626373000u);
  EXPECT_EQ(app->file_offset, 0x1000u);
  // Every location lies in a mapping (the binary or libc).
  for (const Location& loc : p.locations) {
    const Mapping* m = p.mapping(loc.mapping);
    ASSERT_NE(m, nullptr) << loc.address;
    EXPECT_GE(loc.address, m->memory_start);
    EXPECT_LT(loc.address, m->memory_limit);
  }
}

// go tool pprof -proto lowers every pc but the leaf by 1 (and would drop a
// pc[1] equal to pc[0]; this file has none); its address stacks and ours
// are then identical.
TEST(GperftoolsTest, AddressStacksMatchGoToolPprof) {
  Profile ours = ParseOrDie(ReadOrDie(SharedTestdata("gperftools_cpu.prof")));
  auto theirs = DecodePprof(ReadOrDie(SharedTestdata("gperftools_cpu.pb.gz")));
  ASSERT_TRUE(theirs.ok()) << theirs.status().ToString();
  ASSERT_EQ(theirs->num_types(), 2u);
  EXPECT_EQ(theirs->period, ours.period);
  EXPECT_EQ(ours.str(ours.drop_frames), theirs->str(theirs->drop_frames));
  for (int t = 0; t < 2; ++t) {
    auto a = AddressStacks(ours, t), b = AddressStacks(*theirs, t);
    EXPECT_EQ(a.size(), 85u);
    EXPECT_TRUE(a == b) << "type " << t;
  }
}

TEST(GperftoolsTest, SymbolizedTopMatchesGroundTruth) {
  Profile ours = ParseOrDie(ReadOrDie(SharedTestdata("gperftools_cpu.prof")));
  auto pb = DecodePprof(ReadOrDie(SharedTestdata("gperftools_cpu.pb.gz")));
  ASSERT_TRUE(pb.ok());
  Profile sym = Symbolize(ours, AddressNames(*pb));
  ASSERT_TRUE(sym.Validate().ok());

  auto leaf = LeafTruth(SharedTestdata("gperftools_cpu.prof.txt"));
  ASSERT_EQ(leaf.size(), 5u);
  EXPECT_EQ(leaf[0], std::make_pair(int64_t{415}, std::string("scoreItem")));
  TopTable top = ComputeTop(sym, 0);
  EXPECT_EQ(top.total, 503);
  ASSERT_GE(top.entries.size(), leaf.size());
  for (size_t k = 0; k < leaf.size(); ++k) {
    EXPECT_EQ(top.entries[k].flat, leaf[k].first) << k;
    auto it = std::find_if(top.entries.begin(), top.entries.end(),
                           [&](const TopEntry& e) { return e.name == leaf[k].second; });
    ASSERT_NE(it, top.entries.end()) << leaf[k].second;
    EXPECT_EQ(it->flat, leaf[k].first) << leaf[k].second;
  }

  // The cpu column against the pb.gz sidecar, cum included for one row.
  auto truth = testing::ReadGroundTruth(SharedTestdata("gperftools_cpu.pb.gz.txt"));
  EXPECT_EQ(truth.totals["cpu/nanoseconds"], ours.Total(1));
  TopTable cpu = ComputeTop(sym, 1);
  const auto& want = truth.top_flat["cpu/nanoseconds"];
  ASSERT_EQ(want.size(), 5u);
  for (size_t k = 0; k < want.size(); ++k) EXPECT_EQ(cpu.entries[k].flat, want[k].first) << k;
  for (const TopEntry& e : cpu.entries) {
    if (e.name == "shelfQuicksort") {
      EXPECT_EQ(e.cum, 860000000);
    }
  }
}

// --- synthetic files ---------------------------------------------------------

std::string Words(std::initializer_list<uint64_t> words, size_t width = 8,
                  bool big_endian = false) {
  std::string out;
  for (uint64_t v : words) {
    for (size_t i = 0; i < width; ++i) {
      size_t shift = 8 * (big_endian ? width - 1 - i : i);
      out.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  }
  return out;
}

constexpr char kMaps[] =
    "00001000-00002000 r-xp 00000000 08:01 42    /bin/app\n"
    "00002000-00003000 r--p 00001000 08:01 42    /bin/app\n"
    "7f000000-7f001000 r-xp 00010000 08:01 43 /lib/with space.so (deleted)\n"
    "ff000000-ff001000 r-xp 00000000 00:00 0 \n";

std::string SmallFile(size_t width, bool big_endian) {
  return Words({0, 3, 0,          100,        0,       // header: 100 us
                2, 3, 0x1010,     0x1021,     0x2001,  // leaf, caller in app, r--p caller
                1, 2, 0x7f000010, 0x7f000010,          // pc[1] == pc[0]
                3, 3, 0x1010,     0x1021,     0x2001,  // same stack as the first
                0, 1, 0},
               width, big_endian) +
         kMaps;
}

TEST(GperftoolsTest, SmallFileAdjustsMapsAndMerges) {
  Profile p = ParseOrDie(SmallFile(8, false));
  EXPECT_EQ(p.period, 100000);
  ASSERT_EQ(p.samples.size(), 2u);
  auto stacks = AddressStacks(p, 0);
  std::map<std::vector<uint64_t>, int64_t> want = {
      {{0x1010, 0x1020, 0x2000}, 5},
      {{0x7f000010}, 1},
  };
  EXPECT_EQ(stacks, want);
  EXPECT_EQ(p.Total(1), 6 * 100000);
  // Three executable mappings, path with spaces kept whole.
  ASSERT_EQ(p.mappings.size(), 3u);
  EXPECT_EQ(p.str(p.mappings[0].filename), "/bin/app");
  EXPECT_EQ(p.str(p.mappings[1].filename), "/lib/with space.so (deleted)");
  EXPECT_EQ(p.mappings[1].file_offset, 0x10000u);
  EXPECT_EQ(p.str(p.mappings[2].filename), "");
  for (const Location& loc : p.locations) {
    if (loc.address == 0x2000) {
      EXPECT_EQ(loc.mapping, 0u);  // only in the r--p line
    } else if (loc.address < 0x2000) {
      EXPECT_EQ(loc.mapping, 1u);
    } else {
      EXPECT_EQ(loc.mapping, 2u);
    }
  }
  EXPECT_EQ(p.locations.size(), 4u);
}

TEST(GperftoolsTest, AllWordFormatsGiveTheSameProfile) {
  Profile want = ParseOrDie(SmallFile(8, false));
  EXPECT_TRUE(ParseOrDie(SmallFile(8, true)) == want);
  EXPECT_TRUE(ParseOrDie(SmallFile(4, false)) == want);
  EXPECT_TRUE(ParseOrDie(SmallFile(4, true)) == want);
  for (size_t w : {4, 8}) {
    for (bool be : {false, true}) EXPECT_TRUE(LooksLikeGperftoolsCpu(SmallFile(w, be)));
  }
}

TEST(GperftoolsTest, LooksLike) {
  EXPECT_TRUE(LooksLikeGperftoolsCpu(ReadOrDie(SharedTestdata("gperftools_cpu.prof"))));
  EXPECT_FALSE(LooksLikeGperftoolsCpu(ReadOrDie(SharedTestdata("gperftools_cpu.pb.gz"))));
  EXPECT_FALSE(LooksLikeGperftoolsCpu(ReadOrDie(SharedTestdata("perf_folded.txt"))));
  EXPECT_FALSE(LooksLikeGperftoolsCpu(""));
  EXPECT_FALSE(LooksLikeGperftoolsCpu(Words({0, 3, 0})));
  EXPECT_FALSE(LooksLikeGperftoolsCpu(Words({0, 4, 0, 100, 0})));
}

TEST(GperftoolsTest, EmptyProfileAndEmptyMaps) {
  Profile p = ParseOrDie(Words({0, 3, 0, 10000, 0, 0, 1, 0}));
  EXPECT_TRUE(p.samples.empty());
  EXPECT_TRUE(p.mappings.empty());
  EXPECT_EQ(p.period, 10000000);
}

void ExpectError(const std::string& data, const std::string& want) {
  auto p = ParseGperftoolsCpu(data);
  ASSERT_FALSE(p.ok()) << want;
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find(want), std::string::npos) << p.status().message();
}

TEST(GperftoolsTest, ErrorsNameTheOffset) {
  const std::string header = Words({0, 3, 0, 10000, 0});
  ExpectError("", "offset 0: truncated header");
  ExpectError(header.substr(0, 30), "offset 30: truncated header");
  ExpectError(Words({0, 3, 0}, 4), "offset 12: truncated header");
  ExpectError("not a profile at all, just some text\n", "offset 0: bad header");
  ExpectError(Words({1, 3, 0, 10000, 0, 0, 1, 0}), "offset 0: bad header");
  ExpectError(Words({0, 3, 1, 10000, 0, 0, 1, 0}), "offset 16: unsupported header version 1");
  ExpectError(Words({0, 3, 0, 0, 0, 0, 1, 0}), "offset 24: bad header: sampling period is 0");
  ExpectError(Words({0, 3, 0, ~uint64_t{0}, 0, 0, 1, 0}), "offset 24: bad header");
  ExpectError(Words({0, 3, 0, 10, 0}, 4), "offset 20: missing trailer");
  ExpectError(header + Words({1, 2, 0x10, 0x20}), "offset 72: missing trailer");
  ExpectError(header + Words({1, 2, 0x10, 0x20}) + "abc", "offset 72: missing trailer");
  ExpectError(header + Words({1, 5, 0x10, 0x20}), "offset 40: record of depth 5 runs past");
  ExpectError(header + Words({1, 2000, 0x10}), "offset 48: record depth 2000 exceeds the limit");
  ExpectError(header + Words({~uint64_t{0}, 1, 0x10, 0, 1, 0}), "offset 40: sample count");
  // Two records whose counts overflow the cpu total only together.
  uint64_t half = (std::numeric_limits<int64_t>::max() / 10000000) / 2 + 1;
  ExpectError(header + Words({half, 1, 0x10, half, 1, 0x20, 0, 1, 0}), "offset 64: sample count");
  // Maps text: the offset of the bad line.
  ExpectError(header + Words({0, 1, 0}) + "1000-2000 r-xp 0 08:01 1 /a\nnonsense\n",
              "offset 92: maps line 2");
  ExpectError(header + Words({0, 1, 0}) + "2000-1000 r-xp 0 08:01 1 /a\n",
              "offset 64: maps line 1: empty address range");
}

TEST(GperftoolsTest, EveryPrefixOfTheTestdataIsHandled) {
  std::string data = ReadOrDie(SharedTestdata("gperftools_cpu.prof"));
  size_t ok = 0;
  for (size_t n = 0; n <= data.size(); ++n) {
    auto p = ParseGperftoolsCpu(std::string_view(data).substr(0, n));
    if (p.ok()) {
      ++ok;
      EXPECT_TRUE(p->Validate().ok());
      EXPECT_EQ(p->Total(0), 503);
    } else {
      EXPECT_NE(p.status().message().find("offset "), std::string::npos);
    }
  }
  EXPECT_GT(ok, 0u);  // prefixes cut inside the maps text at a line end
}

}  // namespace
}  // namespace stackhouse::profile
