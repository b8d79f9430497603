#include "profile/speedscope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/builder.h"
#include "profile/folded.h"
#include "profile/pprof.h"
#include "profile/testing/ground_truth.h"
#include "profile/top.h"

namespace stackhouse::profile {
namespace {

using stackhouse::testing::OwnTestdata;
using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;
using ::testing::HasSubstr;

Profile ParseOrDie(std::string_view json) {
  auto p = ParseSpeedscope(json);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return Profile();
  EXPECT_TRUE(p->Validate().ok()) << p->Validate().ToString();
  return std::move(p).value();
}

// Folded stacks of sample type `type` (e.g. "wall"), "" if it is missing.
std::string Folded(const Profile& p, std::string_view type) {
  int t = p.FindSampleType(type);
  return t < 0 ? "" : WriteFolded(p, t);
}

// The string label "thread" of sample i, "" if none.
std::string_view Thread(const Profile& p, size_t i) {
  for (const Label& l : p.sample_labels(i)) {
    if (p.str(l.key) == "thread") return p.str(l.str);
  }
  return "";
}

// A copy of `p` with only the samples whose "thread" label is `thread`.
Profile OnlyThread(const Profile& p, std::string_view thread) {
  Profile out = p;
  out.samples.clear();
  out.stack.clear();
  out.labels.clear();
  out.values.clear();
  for (size_t i = 0; i < p.samples.size(); ++i) {
    if (Thread(p, i) == thread)
      out.AddSample(p.sample_stack(i), p.sample_values(i), p.sample_labels(i));
  }
  return out;
}

// --- round trip of the real profiles ------------------------------------------

class SpeedscopeTestdataTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SpeedscopeTestdataTest, WriteThenReadKeepsTotalsAndTopFunctions) {
  const std::string name = GetParam();
  auto decoded = DecodePprof(ReadOrDie(SharedTestdata(name)));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Profile& p = *decoded;
  auto truth = testing::ReadGroundTruth(SharedTestdata(name + ".txt"));
  Profile q = ParseOrDie(WriteSpeedscope(p));
  ASSERT_GT(p.num_types(), 1u) << name;  // so every sample of q has a thread label
  for (size_t i = 0; i < q.samples.size(); ++i) ASSERT_NE(Thread(q, i), "") << name;

  for (size_t t = 0; t < p.num_types(); ++t) {
    std::string_view type = p.str(p.sample_types[t].type);
    std::string_view unit = p.str(p.sample_types[t].unit);
    std::string key = StrCat(type, "/", unit);
    // nanoseconds stay nanoseconds (wall), bytes stay bytes, the rest is counted.
    auto [kind, kind_unit] = unit == "nanoseconds" ? std::pair("wall", "nanoseconds")
                             : unit == "bytes"     ? std::pair("space", "bytes")
                                                   : std::pair("samples", "count");
    int qt = q.FindSampleType(kind);
    ASSERT_GE(qt, 0) << name << " " << key;
    EXPECT_EQ(q.str(q.sample_types[qt].unit), kind_unit);
    Profile sub = OnlyThread(q, type);
    ASSERT_FALSE(sub.samples.empty()) << name << " " << key;
    EXPECT_EQ(sub.Total(qt), p.Total(t)) << name << " " << key;
    ASSERT_TRUE(truth.totals.count(key)) << name << " " << key;
    EXPECT_EQ(sub.Total(qt), truth.totals[key]) << name << " " << key;
    // Every other column of this thread's samples is zero.
    for (size_t c = 0; c < sub.num_types(); ++c) {
      if (c != static_cast<size_t>(qt)) {
        EXPECT_EQ(sub.Total(c), 0) << name << " " << key;
      }
    }

    // The same functions with the same flat and cumulative values.
    TopTable want = ComputeTop(p, static_cast<int>(t));
    TopTable got = ComputeTop(sub, qt);
    EXPECT_EQ(got.total, want.total);
    ASSERT_EQ(got.entries.size(), want.entries.size()) << name << " " << key;
    for (size_t k = 0; k < want.entries.size(); ++k) {
      EXPECT_EQ(got.entries[k].name, want.entries[k].name) << name << " " << key << " row " << k;
      EXPECT_EQ(got.entries[k].flat, want.entries[k].flat) << name << " " << key << " row " << k;
      EXPECT_EQ(got.entries[k].cum, want.entries[k].cum) << name << " " << key << " row " << k;
    }
    // And the independent tool's top functions are there with their values.
    for (const auto& [flat, fn] : truth.top_flat[key]) {
      bool found = false;
      for (const TopEntry& e : got.entries) {
        if (e.name == fn) {
          EXPECT_EQ(e.flat, flat) << name << " " << key << " " << fn;
          found = true;
        }
      }
      EXPECT_TRUE(found) << name << " " << key << " missing " << fn;
    }
  }
  // The active profile is the default sample type.
  int d = p.DefaultSampleTypeIndex();
  std::string_view du = p.str(p.sample_types[d].unit);
  EXPECT_EQ(q.str(q.sample_types[q.DefaultSampleTypeIndex()].type), du == "nanoseconds" ? "wall"
                                                                    : du == "bytes"     ? "space"
                                                                                    : "samples");
}

INSTANTIATE_TEST_SUITE_P(Testdata, SpeedscopeTestdataTest,
                         ::testing::ValuesIn(testing::PprofTestdataNames()), [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

// --- reading ------------------------------------------------------------------

TEST(SpeedscopeTest, EventedNestedFramesGiveSelfTimes) {
  Profile p = ParseOrDie(R"({
    "$schema": "https://www.speedscope.app/file-format-schema.json",
    "shared": {"frames": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
    "profiles": [{"type": "evented", "name": "main", "unit": "microseconds",
                  "startValue": 0, "endValue": 20, "events": [
      {"type": "O", "frame": 0, "at": 0},
      {"type": "O", "frame": 1, "at": 1},
      {"type": "O", "frame": 2, "at": 3},
      {"type": "C", "frame": 2, "at": 6},
      {"type": "C", "frame": 1, "at": 10},
      {"type": "O", "frame": 2, "at": 12},
      {"type": "O", "frame": 2, "at": 12.5},
      {"type": "C", "frame": 2, "at": 14}]}]})");
  ASSERT_EQ(p.num_types(), 1u);
  EXPECT_EQ(p.str(p.sample_types[0].type), "wall");
  EXPECT_EQ(p.str(p.sample_types[0].unit), "nanoseconds");
  // a;c and a stay open until endValue (20 µs).
  EXPECT_EQ(Folded(p, "wall"),
            "a 3000\n"
            "a;b 6000\n"
            "a;b;c 3000\n"
            "a;c 6500\n"
            "a;c;c 1500\n");
  EXPECT_EQ(p.Total(0), 20000);
  EXPECT_TRUE(p.labels.empty());  // a single profile has no thread label
}

TEST(SpeedscopeTest, EventedGapsWithEmptyStackCountNothing) {
  Profile p = ParseOrDie(R"({"shared": {"frames": [{"name": "a"}, {"name": "b"}]},
    "profiles": [{"type": "evented", "name": "x", "unit": "none", "startValue": 0,
                  "endValue": 100, "events": [
      {"type": "O", "frame": 0, "at": 0}, {"type": "C", "frame": 0, "at": 5},
      {"type": "O", "frame": 1, "at": 10}, {"type": "C", "frame": 1, "at": 12}]}]})");
  EXPECT_EQ(Folded(p, "samples"), "a 5\nb 2\n");
  EXPECT_EQ(p.str(p.sample_types[0].unit), "count");
}

TEST(SpeedscopeTest, SampledFractionalMillisecondsRoundToNanoseconds) {
  Profile p = ParseOrDie(R"({"shared": {"frames": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
    "profiles": [{"type": "sampled", "name": "cpu", "unit": "milliseconds", "startValue": 0,
                  "endValue": 4, "samples": [[0, 1], [0], [0, 1], [2]],
                  "weights": [1.5, 0.25, 2.0000004, 0.0000006]}]})");
  EXPECT_EQ(Folded(p, "wall"), "a 250000\na;b 3500000\nc 1\n");
  EXPECT_EQ(p.Total(0), 3750001);
}

TEST(SpeedscopeTest, SampledStacksAreRootFirstAndFramesKeepFileLineColumn) {
  Profile p = ParseOrDie(R"({"shared": {"frames": [
      {"name": "main", "file": "main.go", "line": 10, "col": 2},
      {"name": "leaf", "file": "leaf.go", "line": 7},
      {"name": "main", "file": "main.go", "line": 10, "col": 2}]},
    "profiles": [{"type": "sampled", "name": "x", "unit": "bytes", "startValue": 0,
                  "endValue": 9, "samples": [[0, 1], [2, 1]], "weights": [4, 5]}]})");
  EXPECT_EQ(p.str(p.sample_types[0].type), "space");
  EXPECT_EQ(p.str(p.sample_types[0].unit), "bytes");
  // Equal frames share one location, so both samples merge.
  ASSERT_EQ(p.samples.size(), 1u);
  EXPECT_EQ(p.locations.size(), 2u);
  EXPECT_EQ(p.sample_values(0)[0], 9);
  auto stack = p.sample_stack(0);
  ASSERT_EQ(stack.size(), 2u);
  const Location& leaf = p.locations[stack[0]];
  const Location& root = p.locations[stack[1]];
  ASSERT_EQ(leaf.line_count, 1u);
  ASSERT_EQ(root.line_count, 1u);
  const Line& leaf_line = p.location_lines(leaf)[0];
  const Line& root_line = p.location_lines(root)[0];
  EXPECT_EQ(p.str(p.function(leaf_line.function)->name), "leaf");
  EXPECT_EQ(p.str(p.function(leaf_line.function)->filename), "leaf.go");
  EXPECT_EQ(p.function(leaf_line.function)->start_line, 7);
  EXPECT_EQ(leaf_line.line, 7);
  EXPECT_EQ(leaf_line.column, 0);
  EXPECT_EQ(p.str(p.function(root_line.function)->name), "main");
  EXPECT_EQ(root_line.line, 10);
  EXPECT_EQ(root_line.column, 2);
}

TEST(SpeedscopeTest, MultipleProfilesGetThreadLabelsAndOneColumnPerUnitKind) {
  Profile p = ParseOrDie(R"({"shared": {"frames": [{"name": "a"}, {"name": "b"}]},
    "activeProfileIndex": 1,
    "profiles": [
      {"type": "sampled", "name": "t1", "unit": "bytes", "startValue": 0, "endValue": 7,
       "samples": [[0], [0, 1]], "weights": [3, 4]},
      {"type": "sampled", "name": "t2", "unit": "none", "startValue": 0, "endValue": 2,
       "samples": [[0]], "weights": [2]},
      {"type": "evented", "name": "t3", "unit": "seconds", "startValue": 0, "endValue": 1.5,
       "events": [{"type": "O", "frame": 1, "at": 0}]},
      {"type": "sampled", "unit": "bytes", "startValue": 0, "endValue": 10,
       "samples": [[1]], "weights": [10]}]})");
  ASSERT_EQ(p.num_types(), 3u);
  EXPECT_EQ(p.str(p.sample_types[0].type), "space");
  EXPECT_EQ(p.str(p.sample_types[1].type), "samples");
  EXPECT_EQ(p.str(p.sample_types[2].type), "wall");
  EXPECT_EQ(p.DefaultSampleTypeIndex(), 1);
  // thread -> totals per column.
  std::map<std::string, std::vector<int64_t>> totals;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    auto& t = totals[std::string(Thread(p, i))];
    t.resize(3);
    int nonzero = 0;
    for (size_t c = 0; c < 3; ++c) {
      t[c] += p.sample_values(i)[c];
      nonzero += p.sample_values(i)[c] != 0;
    }
    EXPECT_EQ(nonzero, 1);
  }
  std::map<std::string, std::vector<int64_t>> want = {
      {"t1", {7, 0, 0}},
      {"t2", {0, 2, 0}},
      {"t3", {0, 0, 1500000000}},
      {"profile 3", {10, 0, 0}},  // unnamed: told apart by index
  };
  EXPECT_EQ(totals, want);
}

// --- errors -------------------------------------------------------------------

std::string ErrorOf(std::string_view json, const SpeedscopeOptions& options = {},
                    StatusCode code = StatusCode::kInvalidArgument) {
  auto p = ParseSpeedscope(json, options);
  EXPECT_FALSE(p.ok()) << json;
  if (p.ok()) return "";
  EXPECT_EQ(p.status().code(), code) << p.status().ToString();
  return p.status().message();
}

constexpr std::string_view kFrames = R"("shared": {"frames": [{"name": "a"}, {"name": "b"}]})";

std::string Sampled(std::string_view samples, std::string_view weights) {
  return StrCat("{", kFrames, R"(, "profiles": [{"type": "sampled", "name": "p", "unit": "none",)",
                R"( "startValue": 0, "endValue": 1, "samples": )", samples, R"(, "weights": )",
                weights, "}]}");
}

std::string Evented(std::string_view events, std::string_view end = "100") {
  return StrCat("{", kFrames, R"(, "profiles": [{"type": "evented", "name": "p",)",
                R"( "unit": "milliseconds", "startValue": 0, "endValue": )", end, R"(, "events": )",
                events, "}]}");
}

TEST(SpeedscopeErrorTest, SyntaxErrorNamesTheByteOffset) {
  EXPECT_THAT(ErrorOf(R"({"shared": {"frames": [}})"),
              HasSubstr("speedscope: invalid JSON at byte offset 23: "));
  EXPECT_THAT(ErrorOf(""), HasSubstr("invalid JSON at byte offset 0"));
  EXPECT_THAT(ErrorOf(Sampled("[[0]]", "[1e400]")), HasSubstr("invalid JSON"));
}

TEST(SpeedscopeErrorTest, BadFrameIndex) {
  EXPECT_EQ(ErrorOf(Sampled("[[0], [1, 5]]", "[1, 2]")),
            "speedscope: profiles[0].samples[1]: frame index 5 out of range (2 frames)");
  EXPECT_EQ(ErrorOf(Sampled("[[-1]]", "[1]")),
            "speedscope: profiles[0].samples[0]: frame index -1 out of range (2 frames)");
  EXPECT_THAT(ErrorOf(Sampled("[[0.5]]", "[1]")),
              HasSubstr("profiles[0].samples[0]: frame index 0.5 is not an integer"));
  EXPECT_THAT(ErrorOf(Evented(R"([{"type": "O", "frame": 2, "at": 0}])")),
              HasSubstr("profiles[0].events[0]: frame index 2 out of range (2 frames)"));
}

TEST(SpeedscopeErrorTest, UnbalancedCloseEvent) {
  EXPECT_EQ(ErrorOf(Evented(R"([{"type": "O", "frame": 0, "at": 0},
                                {"type": "O", "frame": 1, "at": 1},
                                {"type": "C", "frame": 0, "at": 2}])")),
            "speedscope: profiles[0].events[2]: \"C\" event closes frame 0 (\"a\") but frame 1 "
            "(\"b\") is on top of the stack");
  EXPECT_THAT(ErrorOf(Evented(R"([{"type": "C", "frame": 1, "at": 0}])")),
              HasSubstr("profiles[0].events[0]: \"C\" event closes frame 1 (\"b\") but no frame "
                        "is open"));
  EXPECT_THAT(ErrorOf(Evented(R"([{"type": "X", "frame": 1, "at": 0}])")),
              HasSubstr("profiles[0].events[0]: unknown event type \"X\""));
}

TEST(SpeedscopeErrorTest, TimeGoingBackwards) {
  EXPECT_EQ(ErrorOf(Evented(R"([{"type": "O", "frame": 0, "at": 5},
                                {"type": "C", "frame": 0, "at": 4.5}])")),
            "speedscope: profiles[0].events[1]: time goes backwards: \"at\" 4.5 is before the "
            "previous event's 5");
  // Also when the difference rounds away in nanoseconds.
  EXPECT_THAT(ErrorOf(Evented(R"([{"type": "O", "frame": 0, "at": 5.0000000002},
                                  {"type": "C", "frame": 0, "at": 5.0000000001}])")),
              HasSubstr("profiles[0].events[1]: time goes backwards"));
  EXPECT_THAT(ErrorOf(Evented(R"([{"type": "O", "frame": 0, "at": 5}])", "4")),
              HasSubstr("profiles[0].endValue: 4 is before the last event"));
  EXPECT_THAT(
      ErrorOf(StrCat("{", kFrames, R"(, "profiles": [{"type": "evented", "name": "p",)",
                     R"( "unit": "none", "events": [{"type": "O", "frame": 0, "at": 0}]}]})")),
      HasSubstr("profiles[0]: missing \"endValue\""));
}

TEST(SpeedscopeErrorTest, WrongTypesAndValues) {
  struct Case {
    std::string json;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"[]", "speedscope: top level: expected an object, got array"},
      {"{}", "speedscope: top level: missing \"shared\""},
      {R"({"shared": []})", "speedscope: shared: expected an object, got array"},
      {R"({"shared": {}})", "speedscope: shared: missing \"frames\""},
      {R"({"shared": {"frames": {}}})", "speedscope: shared.frames: expected an array, got object"},
      {R"({"shared": {"frames": [1]}})",
       "speedscope: shared.frames[0]: expected an object, got number"},
      {R"({"shared": {"frames": [{"name": 3}]}})",
       "speedscope: shared.frames[0].name: expected a string, got number"},
      {R"({"shared": {"frames": [{"name": "a", "file": 3}]}})",
       "speedscope: shared.frames[0].file: expected a string, got number"},
      {R"({"shared": {"frames": [{"name": "a", "line": -3}]}})",
       "speedscope: shared.frames[0].line: -3 is not a non-negative integer"},
      {R"({"shared": {"frames": [{"name": "a", "col": "x"}]}})",
       "speedscope: shared.frames[0].col: \"x\" is not a non-negative integer"},
      {StrCat("{", kFrames, "}"), "speedscope: top level: missing \"profiles\""},
      {StrCat("{", kFrames, R"(, "profiles": {}})"),
       "speedscope: profiles: expected an array, got object"},
      {StrCat("{", kFrames, R"(, "profiles": []})"), "speedscope: profiles: no profiles"},
      {StrCat("{", kFrames, R"(, "profiles": [null]})"),
       "speedscope: profiles[0]: expected an object, got null"},
      {StrCat("{", kFrames, R"(, "profiles": [{"type": "timed", "unit": "none"}]})"),
       "speedscope: profiles[0].type: unknown profile type \"timed\" (want \"sampled\" or "
       "\"evented\")"},
      {StrCat("{", kFrames, R"(, "profiles": [{"type": "sampled", "unit": "parsecs"}]})"),
       "speedscope: profiles[0].unit: unknown unit \"parsecs\" (want none, nanoseconds, "
       "microseconds, milliseconds, seconds or bytes)"},
      {StrCat("{", kFrames, R"(, "profiles": [{"type": "sampled"}]})"),
       "speedscope: profiles[0]: missing \"unit\""},
      {StrCat("{", kFrames, R"(, "profiles": [{"type": "sampled", "unit": "none", "name": 1}]})"),
       "speedscope: profiles[0].name: expected a string, got number"},
      {StrCat("{", kFrames,
              R"(, "profiles": [{"type": "sampled", "unit": "none", "samples": []}]})"),
       "speedscope: profiles[0]: missing \"weights\""},
      {StrCat("{", kFrames, R"(, "profiles": [{"type": "evented", "unit": "none", "events": 1}]})"),
       "speedscope: profiles[0].events: expected an array, got number"},
      {StrCat("{", kFrames,
              R"(, "activeProfileIndex": 1, "profiles": [{"type": "sampled", "unit": "none",)",
              R"( "samples": [], "weights": []}]})"),
       "speedscope: activeProfileIndex: 1 is not a profile index (1 profiles)"},
      {Sampled("[[0]]", "[1, 2]"), "speedscope: profiles[0]: 1 samples but 2 weights"},
      {Sampled("[0]", "[1]"),
       "speedscope: profiles[0].samples[0]: expected an array of frame indexes, got number"},
      {Sampled("[[0]]", R"(["1"])"),
       "speedscope: profiles[0].weights[0]: expected a number, got string"},
      {Sampled("[[0]]", "[-1]"), "speedscope: profiles[0].weights[0]: weight -1 is negative"},
      {Sampled("[[0]]", "[-0.5]"), "speedscope: profiles[0].weights[0]: weight -0.5 is negative"},
      {Sampled("[[0]]", "[1e300]"),
       "speedscope: profiles[0].weights[0]: weight 1e+300 is out of range"},
      {Sampled("[[0], [1]]", "[9223372036854775807, 1]"),
       "speedscope: profiles[0].samples[1]: the total of samples overflows int64"},
      {Evented(R"([{"type": "O", "frame": 0}])"),
       "speedscope: profiles[0].events[0]: missing \"at\""},
      {Evented(R"([{"type": "O", "frame": 0, "at": "1"}])"),
       "speedscope: profiles[0].events[0].at: expected a number, got string"},
      {Evented(R"([{"type": "O", "frame": 0, "at": 1e13}])"),
       "speedscope: profiles[0].events[0]: time 10000000000000.0 is out of range"},
      {Evented(R"([[]])"), "speedscope: profiles[0].events[0]: expected an object, got array"},
  };
  for (const Case& c : cases) EXPECT_EQ(ErrorOf(c.json), c.want) << c.json;
}

TEST(SpeedscopeErrorTest, LimitsAreEnforced) {
  SpeedscopeOptions small;
  small.max_input_bytes = 100;
  std::string big = Sampled("[[0]]", StrCat("[1", std::string(200, ' '), "]"));
  EXPECT_EQ(ErrorOf(big, small, StatusCode::kResourceExhausted),
            StrCat("speedscope: input is ", big.size(), " bytes, more than the limit of 100"));
  SpeedscopeOptions shallow;
  shallow.max_frames_per_stack = 3;
  EXPECT_TRUE(ParseSpeedscope(Sampled("[[0, 1, 0]]", "[1]"), shallow).ok());
  EXPECT_EQ(ErrorOf(Sampled("[[0, 1, 0, 1]]", "[1]"), shallow, StatusCode::kResourceExhausted),
            "speedscope: profiles[0].samples[0]: 4 frames, more than the limit of 3");
  std::string events = "[";
  for (int i = 0; i < 4; ++i)
    events += StrCat(i ? "," : "", R"({"type": "O", "frame": 0, "at": 0})");
  events += "]";
  EXPECT_EQ(ErrorOf(Evented(events), shallow, StatusCode::kResourceExhausted),
            "speedscope: profiles[0].events[3]: more than 3 frames open");
}

TEST(SpeedscopeErrorTest, EventedStacksCannotBlowUpMemory) {
  // 10000 nested frames, then many short distinct frames on top: each would
  // be a sample with a 10001-frame stack.
  std::string frames;
  const int kTop = 5000;
  for (int i = 0; i < kTop; ++i) frames += StrCat(i ? "," : "", R"({"name":"f)", i, "\"}");
  std::string events;
  for (int i = 0; i < 10000; ++i) events += StrCat(R"({"type":"O","frame":0,"at":0},)");
  for (int i = 0; i < kTop; ++i) {
    events += StrCat(R"({"type":"O","frame":)", i, R"(,"at":)", 2 * i, R"(},{"type":"C","frame":)",
                     i, R"(,"at":)", 2 * i + 1, "},");
  }
  events.pop_back();
  std::string json = StrCat(R"({"shared":{"frames":[)", frames,
                            R"(]},"profiles":[{"type":"evented","name":"p","unit":"none",)",
                            R"("startValue":0,"endValue":20000,"events":[)", events, "]}]}");
  SpeedscopeOptions opt;
  opt.max_frames_per_stack = 20000;
  EXPECT_THAT(ErrorOf(json, opt, StatusCode::kResourceExhausted),
              HasSubstr("frames per input byte"));
}

// --- writing ------------------------------------------------------------------

// A small profile with two sample types, an inlined frame, a frame named by
// its system name only, an unsymbolized address, names that need escaping,
// zero values and an all-zero sample.
Profile SmallProfile() {
  ProfileBuilder b;
  Profile& p = b.profile();
  p.sample_types = {{b.String("samples"), b.String("count")},
                    {b.String("cpu"), b.String("nanoseconds")}};
  p.default_sample_type = b.String("samples");
  uint32_t f_main = b.Function(b.String("main"), 0, b.String("src/main.cc"), 10);
  uint32_t f_work = b.Function(b.String("Work"), 0, b.String("src/work.cc"), 20);
  uint32_t f_inl = b.Function(b.String("Inlined<\"q\\\">\tnaïve"), 0, b.String("src/work.h"), 30);
  uint32_t f_sys = b.Function(0, b.String("_Z3sysv"), 0, 0);
  Line l_main{f_main, 12, 3};
  Line l_work[2] = {{f_inl, 33, 0}, {f_work, 25, 0}};  // inlined callee first
  Line l_sys{f_sys, 0, 0};
  Mapping m;
  m.filename = b.String("/usr/lib/libc.so.6");
  uint32_t loc_main = b.Location(0, 0x1000, std::span<const Line>(&l_main, 1));
  uint32_t loc_work = b.Location(0, 0x2000, l_work);
  uint32_t loc_sys = b.Location(0, 0x3000, std::span<const Line>(&l_sys, 1));
  uint32_t loc_raw = b.Location(b.Mapping(m), 0x7f00, {});
  uint32_t loc_unused = b.Location(0, 0x9000, {});
  auto add = [&](std::vector<uint32_t> leaf_first, int64_t samples, int64_t cpu) {
    int64_t v[2] = {samples, cpu};
    b.AppendSample(leaf_first, v);
  };
  add({loc_work, loc_main}, 3, 30000000);
  add({loc_main}, 1, 10000000);
  add({loc_sys, loc_main}, 0, 5000);
  add({loc_raw, loc_work, loc_main}, 2, 0);
  add({loc_unused}, 0, 0);
  return b.Finish();
}

// The golden file is testdata/golden/speedscope_small.json. After an
// intended change of the output, regenerate it from the repository root with
//   STACKHOUSE_UPDATE_GOLDEN=1 build/bin/profile_speedscope_test --gtest_filter='*Golden*'
// and review the diff.
TEST(SpeedscopeWriteTest, SmallProfileMatchesGolden) {
  std::string got = WriteSpeedscope(SmallProfile(), "small \"test\"");
  const std::string path = OwnTestdata("golden/speedscope_small.json");
  if (const char* update = std::getenv("STACKHOUSE_UPDATE_GOLDEN"); update && *update) {
    std::ofstream(path, std::ios::binary) << got;
  }
  EXPECT_EQ(got, ReadOrDie(path)) << "regenerate with STACKHOUSE_UPDATE_GOLDEN=1";
}

TEST(SpeedscopeWriteTest, OutputIsDeterministicAndReadsBack) {
  Profile p = SmallProfile();
  std::string out = WriteSpeedscope(p);
  EXPECT_EQ(WriteSpeedscope(p), out);
  Profile q = ParseOrDie(out);
  // samples/count -> "none" -> samples/count; cpu/nanoseconds -> wall/nanoseconds.
  ASSERT_EQ(q.num_types(), 2u);
  EXPECT_EQ(q.str(q.sample_types[0].type), "samples");
  EXPECT_EQ(q.str(q.sample_types[1].type), "wall");
  EXPECT_EQ(q.DefaultSampleTypeIndex(), 0);
  EXPECT_EQ(Folded(OnlyThread(q, "samples"), "samples"), Folded(p, "samples"));
  EXPECT_EQ(Folded(OnlyThread(q, "cpu"), "wall"), Folded(p, "cpu"));
  // File and start line survive on the frames.
  bool found = false;
  for (const Function& f : q.functions) {
    if (q.str(f.name) == "Work") {
      EXPECT_EQ(q.str(f.filename), "src/work.cc");
      EXPECT_EQ(f.start_line, 20);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(SpeedscopeWriteTest, EmptyProfileIsValidJson) {
  Profile p;
  std::string out = WriteSpeedscope(p);
  EXPECT_THAT(out, HasSubstr("\"profiles\":[\n]"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("activeProfileIndex")));
  // No profiles is an error when read back, but the JSON itself parses.
  EXPECT_EQ(ErrorOf(out), "speedscope: profiles: no profiles");
}

}  // namespace
}  // namespace stackhouse::profile
