#include "profile/ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "base/testing/testing.h"
#include "profile/builder.h"
#include "profile/pprof.h"
#include "profile/testing/ground_truth.h"

namespace stackhouse::profile {
namespace {

Profile Load(const std::string& name) {
  auto p = DecodePprof(stackhouse::testing::ReadOrDie(stackhouse::testing::SharedTestdata(name)));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : Profile();
}

// A copy of p with every table permuted, ids changed, and duplicated
// symbols and split samples: the same meaning in a different shape.
Profile Shuffled(const Profile& p, uint32_t seed) {
  std::mt19937 rng(seed);
  Profile q;
  q.strings.clear();
  // Strings: reversed order after "", plus a duplicate of every string.
  std::vector<int64_t> smap(p.strings.size());
  q.strings.push_back("");
  for (size_t i = p.strings.size(); i-- > 1;) {
    smap[i] = static_cast<int64_t>(q.strings.size());
    q.strings.push_back(p.strings[i]);
    q.strings.push_back(p.strings[i]);  // unused duplicate
  }
  auto S = [&](int64_t i) { return smap[i]; };
  std::vector<uint32_t> fperm(p.functions.size());
  std::iota(fperm.begin(), fperm.end(), 0);
  std::shuffle(fperm.begin(), fperm.end(), rng);
  std::vector<uint32_t> fmap(p.functions.size() + 1, 0);
  for (size_t k = 0; k < fperm.size(); ++k) {
    Function f = p.functions[fperm[k]];
    f.id = 1000 + k * 3;
    f.name = S(f.name);
    f.system_name = S(f.system_name);
    f.filename = S(f.filename);
    fmap[fperm[k] + 1] = static_cast<uint32_t>(k + 1);
    q.functions.push_back(f);
  }
  for (const Mapping& m0 : p.mappings) {
    Mapping m = m0;
    m.id += 50;
    m.filename = S(m.filename);
    m.build_id = S(m.build_id);
    q.mappings.push_back(m);
  }
  std::vector<uint32_t> lperm(p.locations.size());
  std::iota(lperm.begin(), lperm.end(), 0);
  std::shuffle(lperm.begin(), lperm.end(), rng);
  std::vector<uint32_t> lmap(p.locations.size());
  for (size_t k = 0; k < lperm.size(); ++k) {
    Location loc = p.locations[lperm[k]];
    loc.id = 7 + k;
    loc.line_begin = static_cast<uint32_t>(q.lines.size());
    for (const Line& l : p.location_lines(p.locations[lperm[k]])) {
      q.lines.push_back({fmap[l.function], l.line, l.column});
    }
    lmap[lperm[k]] = static_cast<uint32_t>(k);
    q.locations.push_back(loc);
  }
  for (const ValueType& vt : p.sample_types) q.sample_types.push_back({S(vt.type), S(vt.unit)});
  q.period_type = {S(p.period_type.type), S(p.period_type.unit)};
  q.period = p.period;
  q.time_nanos = p.time_nanos;
  q.duration_nanos = p.duration_nanos;
  for (int64_t c : p.comments) q.comments.push_back(S(c));
  q.default_sample_type = S(p.default_sample_type);
  q.drop_frames = S(p.drop_frames);
  q.keep_frames = S(p.keep_frames);
  q.doc_url = S(p.doc_url);
  std::vector<uint32_t> sperm(p.samples.size());
  std::iota(sperm.begin(), sperm.end(), 0);
  std::shuffle(sperm.begin(), sperm.end(), rng);
  std::vector<uint32_t> stack;
  std::vector<Label> labels;
  for (uint32_t i : sperm) {
    stack.clear();
    for (uint32_t loc : p.sample_stack(i)) stack.push_back(lmap[loc]);
    labels.clear();
    for (const Label& l : p.sample_labels(i)) labels.push_back({S(l.key), S(l.str), l.num, S(l.num_unit)});
    std::reverse(labels.begin(), labels.end());
    // Split each sample in two halves.
    std::vector<int64_t> a, b;
    for (int64_t v : p.sample_values(i)) {
      a.push_back(v / 2);
      b.push_back(v - v / 2);
    }
    q.AddSample(stack, a, labels);
    q.AddSample(stack, b, labels);
  }
  EXPECT_TRUE(q.Validate().ok()) << q.Validate().ToString();
  return q;
}

class OpsTestdataTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OpsTestdataTest, NormalizeIgnoresShape) {
  Profile p = Load(GetParam());
  Profile n1 = Normalize(p);
  Profile n2 = Normalize(Shuffled(p, 1));
  Profile n3 = Normalize(Shuffled(p, 2));
  EXPECT_TRUE(n1 == n2);
  EXPECT_TRUE(n2 == n3);
  EXPECT_TRUE(Normalize(n1) == n1);  // idempotent
  for (size_t t = 0; t < p.num_types(); ++t) EXPECT_EQ(n1.Total(t), p.Total(t));
  EXPECT_TRUE(n1.Validate().ok());
}

TEST_P(OpsTestdataTest, CompactKeepsTotalsAndMerges) {
  Profile p = Load(GetParam());
  Profile q = Shuffled(p, 3);
  Profile c = Compact(q);
  EXPECT_LE(c.samples.size(), p.samples.size());
  EXPECT_LE(c.strings.size(), p.strings.size());
  for (size_t t = 0; t < p.num_types(); ++t) EXPECT_EQ(c.Total(t), p.Total(t));
  EXPECT_TRUE(c.Validate().ok());
}

TEST_P(OpsTestdataTest, MergeWithItselfDoubles) {
  Profile p = Load(GetParam());
  const Profile* both[] = {&p, &p};
  auto m = Merge(both);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  for (size_t t = 0; t < p.num_types(); ++t) EXPECT_EQ(m->Total(t), 2 * p.Total(t));
  Profile doubled = p;
  Scale(&doubled, 2.0);
  EXPECT_TRUE(Normalize(*m) == Normalize(doubled));
}

INSTANTIATE_TEST_SUITE_P(Testdata, OpsTestdataTest,
                         ::testing::ValuesIn(testing::PprofTestdataNames()),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

TEST(OpsTest, MergeIsCommutativeAndChecksTypes) {
  Profile a = Load("node_1.pb.gz"), b = Load("node_3.pb.gz");
  const Profile* ab[] = {&a, &b};
  const Profile* ba[] = {&b, &a};
  auto m1 = Merge(ab), m2 = Merge(ba);
  ASSERT_TRUE(m1.ok() && m2.ok());
  Profile n1 = Normalize(*m1), n2 = Normalize(*m2);
  // Metadata (time) comes from the first profile's side; compare samples.
  n2.time_nanos = n1.time_nanos;
  n2.duration_nanos = n1.duration_nanos;
  n2.period = n1.period;
  EXPECT_TRUE(n1 == n2);
  EXPECT_EQ(m1->time_nanos, std::min(a.time_nanos, b.time_nanos));

  Profile heap = Load("go_heap.pb.gz");
  const Profile* bad[] = {&a, &heap};
  auto err = Merge(bad);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("incompatible"), std::string::npos);
}

TEST(OpsTest, ScaleRoundsAndTargetsOneColumn) {
  ProfileBuilder b;
  b.profile().sample_types = {{b.String("samples"), b.String("count")},
                              {b.String("cpu"), b.String("nanoseconds")}};
  uint32_t loc = b.FrameLocation("f");
  std::vector<uint32_t> stack = {loc};
  std::vector<int64_t> v = {3, 10};
  b.AddSample(stack, v);
  Profile p = b.Finish();
  Scale(&p, 0.5, 0);
  EXPECT_EQ(p.sample_values(0)[0], 2);  // 1.5 rounds to 2
  EXPECT_EQ(p.sample_values(0)[1], 10);
  Scale(&p, 3.0);
  EXPECT_EQ(p.sample_values(0)[0], 6);
  EXPECT_EQ(p.sample_values(0)[1], 30);
}

TEST(OpsTest, BuilderMergesSaturateInsteadOfOverflowing) {
  // Equal stacks' values are summed; extreme ones stop at the int64 limits
  // (signed overflow would be undefined behaviour).
  ProfileBuilder b;
  b.profile().sample_types = {{b.String("samples"), b.String("count")},
                              {b.String("alloc"), b.String("bytes")}};
  std::vector<uint32_t> stack = {b.FrameLocation("f")};
  std::vector<int64_t> high = {INT64_MAX - 1, INT64_MIN + 1}, two = {2, -2};
  b.AddSample(stack, high);
  b.AddSample(stack, two);
  Profile p = b.Finish();
  ASSERT_EQ(p.samples.size(), 1u);
  EXPECT_EQ(p.sample_values(0)[0], INT64_MAX);
  EXPECT_EQ(p.sample_values(0)[1], INT64_MIN);
}

TEST(OpsTest, SelectSampleType) {
  Profile p = Load("node_1.pb.gz");
  int cpu = p.FindSampleType("cpu");
  ASSERT_GE(cpu, 0);
  auto s = SelectSampleType(p, cpu);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->num_types(), 1u);
  EXPECT_EQ(s->str(s->sample_types[0].type), "cpu");
  EXPECT_EQ(s->Total(0), 9981288075);
  for (size_t i = 0; i < s->samples.size(); ++i) EXPECT_NE(s->sample_values(i)[0], 0);
  EXPECT_FALSE(SelectSampleType(p, 7).ok());
}

TEST(OpsTest, DeltaOfCumulativeColumns) {
  auto make = [](int64_t a_count, int64_t a_delay, int64_t b_count, int64_t b_delay) {
    ProfileBuilder b;
    Profile& p = b.profile();
    p.sample_types = {{b.String("contentions"), b.String("count")}, {b.String("delay"), b.String("nanoseconds")}};
    uint32_t fa = b.FrameLocation("lockA"), fb = b.FrameLocation("lockB");
    int64_t va[] = {a_count, a_delay}, vb[] = {b_count, b_delay};
    if (a_count || a_delay) b.AddSample(std::span<const uint32_t>(&fa, 1), va);
    if (b_count || b_delay) b.AddSample(std::span<const uint32_t>(&fb, 1), vb);
    return b.Finish();
  };
  Profile prev = make(10, 1000, 5, 500);
  Profile cur = make(12, 1300, 5, 500);  // lockB did not change
  int cols[] = {0, 1};
  auto d = DeltaProfile(prev, cur, cols);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->samples.size(), 1u);  // lockB's zero delta is dropped
  EXPECT_EQ(d->FrameName(d->locations[d->sample_stack(0)[0]]), "lockA");
  EXPECT_EQ(d->sample_values(0)[0], 2);
  EXPECT_EQ(d->sample_values(0)[1], 300);
  // A restart (smaller counters): the new values as they are.
  auto r = DeltaProfile(cur, make(1, 50, 0, 0), cols);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Total(0), 1);
  EXPECT_EQ(r->Total(1), 50);
  // Only some columns cumulative: the others keep cur's values.
  int one[] = {0};
  auto partial = DeltaProfile(prev, cur, one);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->Total(0), 2);
  EXPECT_EQ(partial->Total(1), 1300 + 500);
  // Different sample types: an error.
  Profile other = make(1, 1, 1, 1);
  other.strings.Set(other.sample_types[0].type, "samples");
  EXPECT_FALSE(DeltaProfile(prev, other, cols).ok());
}

}  // namespace
}  // namespace stackhouse::profile
