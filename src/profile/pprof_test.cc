#include "profile/pprof.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "base/gzip.h"
#include "base/protowire.h"
#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/testing/ground_truth.h"
#include "profile/top.h"

namespace stackhouse::profile {
namespace {

using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

Profile DecodeOrDie(const std::string& data) {
  auto p = DecodePprof(data);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : Profile();
}

std::string TypeKey(const Profile& p, size_t i) {
  return StrCat(p.str(p.sample_types[i].type), "/", p.str(p.sample_types[i].unit));
}

class PprofTestdataTest : public ::testing::TestWithParam<std::string> {};

TEST_P(PprofTestdataTest, TotalsAndTopMatchGroundTruth) {
  const std::string name = GetParam();
  Profile p = DecodeOrDie(ReadOrDie(SharedTestdata(name)));
  auto truth = testing::ReadGroundTruth(SharedTestdata(name + ".txt"));
  ASSERT_FALSE(truth.totals.empty()) << name;
  ASSERT_EQ(p.num_types(), truth.totals.size()) << name;
  for (size_t t = 0; t < p.num_types(); ++t) {
    std::string key = TypeKey(p, t);
    ASSERT_TRUE(truth.totals.count(key)) << name << " " << key;
    EXPECT_EQ(p.Total(t), truth.totals[key]) << name << " " << key;
    ASSERT_TRUE(truth.top_flat.count(key)) << name << " " << key;
    TopTable top = ComputeTop(p, static_cast<int>(t));
    EXPECT_EQ(top.total, truth.totals[key]);
    const auto& want = truth.top_flat[key];
    ASSERT_GE(top.entries.size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) {
      // Same values in the same order; names may differ only among ties.
      EXPECT_EQ(top.entries[k].flat, want[k].first) << name << " " << key << " row " << k;
      bool found = false;
      for (const TopEntry& e : top.entries) {
        if (e.name == want[k].second) {
          EXPECT_EQ(e.flat, want[k].first) << name << " " << want[k].second;
          found = true;
        }
      }
      EXPECT_TRUE(found) << name << " missing " << want[k].second;
    }
  }
}

TEST_P(PprofTestdataTest, RoundTripIsLossless) {
  Profile p = DecodeOrDie(ReadOrDie(SharedTestdata(GetParam())));
  std::string encoded = EncodePprof(p);
  Profile q = DecodeOrDie(encoded);
  EXPECT_TRUE(p == q);
  // Encoding is deterministic, and gzip form decodes the same.
  EXPECT_EQ(EncodePprof(q), encoded);
  EXPECT_TRUE(DecodeOrDie(EncodePprofGzip(p)) == p);
}

INSTANTIATE_TEST_SUITE_P(Testdata, PprofTestdataTest,
                         ::testing::ValuesIn(testing::PprofTestdataNames()),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

TEST(PprofTest, NodeLabelsAndFieldsSurvive) {
  Profile p = DecodeOrDie(ReadOrDie(SharedTestdata("node_1.pb.gz")));
  int64_t eu = 0, us = 0;
  int samples_idx = p.FindSampleType("samples");
  ASSERT_GE(samples_idx, 0);
  for (size_t i = 0; i < p.samples.size(); ++i) {
    for (const Label& l : p.sample_labels(i)) {
      if (p.str(l.key) != "region") continue;
      if (p.str(l.str) == "eu") eu += p.sample_values(i)[samples_idx];
      if (p.str(l.str) == "us") us += p.sample_values(i)[samples_idx];
    }
  }
  EXPECT_EQ(eu, 479);
  EXPECT_EQ(us, 473);
  EXPECT_EQ(p.period, 10327000);
  EXPECT_EQ(p.duration_nanos, 10069322000);
  EXPECT_EQ(p.samples.size(), 961u);
}

// Builds a profile that uses every field of profile.proto.
Profile EveryFieldProfile() {
  Profile p;
  auto s = [&](const char* v) {
    p.strings.emplace_back(v);
    return static_cast<int64_t>(p.strings.size() - 1);
  };
  p.sample_types = {{s("alloc_objects"), s("count")}, {s("alloc_space"), s("bytes")}};
  p.period_type = {s("space"), s("bytes")};
  p.period = 524288;
  p.time_nanos = 1700000000123456789;
  p.duration_nanos = 10000000000;
  p.drop_frames = s("runtime\\..*");
  p.keep_frames = s("runtime\\.main");
  p.comments = {s("first comment"), s("second")};
  p.default_sample_type = s("alloc_space");
  p.doc_url = s("https://example.com/doc");
  Mapping m;
  m.id = 7;
  m.memory_start = 0x400000;
  m.memory_limit = 0x500000;
  m.file_offset = 0x1000;
  m.filename = s("/usr/bin/app");
  m.build_id = s("abcdef0123");
  m.has_functions = m.has_filenames = m.has_line_numbers = m.has_inline_frames = true;
  p.mappings.push_back(m);
  Function f1{11, s("inner"), s("_Z5innerv"), s("a.cc"), 10};
  Function f2{12, s("outer"), s("_Z5outerv"), s("a.cc"), 20};
  p.functions = {f1, f2};
  p.lines = {{1, 12, 3}, {2, 25, 0}, {2, 27, 9}};
  Location l1;
  l1.id = 100;
  l1.mapping = 1;
  l1.address = 0x401234;
  l1.line_begin = 0;
  l1.line_count = 2;  // inner inlined into outer
  Location l2;
  l2.id = 200;
  l2.mapping = 1;
  l2.address = 0x401300;
  l2.line_begin = 2;
  l2.line_count = 1;
  l2.is_folded = true;
  p.locations = {l1, l2};
  std::vector<Label> labels = {{s("span_id"), s("0af7651916cd43dd"), 0, 0},
                               {s("bytes"), 0, 4096, s("bytes")}};
  std::vector<uint32_t> stack = {0, 1};
  std::vector<int64_t> values = {3, -12288};
  p.AddSample(stack, values, labels);
  p.AddSample(std::vector<uint32_t>{1}, std::vector<int64_t>{1, 64});
  return p;
}

TEST(PprofTest, EveryFieldRoundTrips) {
  Profile p = EveryFieldProfile();
  ASSERT_TRUE(p.Validate().ok());
  Profile q = DecodeOrDie(EncodePprof(p));
  EXPECT_TRUE(p == q);
  EXPECT_EQ(q.str(q.doc_url), "https://example.com/doc");
  EXPECT_EQ(q.DefaultSampleTypeIndex(), 1);
  EXPECT_EQ(q.locations[0].line_count, 2u);
  EXPECT_TRUE(q.locations[1].is_folded);
  EXPECT_EQ(q.sample_values(0)[1], -12288);
}

TEST(PprofTest, UnknownFieldsAreSkipped) {
  std::string bytes = EncodePprof(EveryFieldProfile());
  // Field 99, varint, then field 98 length-delimited.
  bytes += std::string("\x98\x06\x05\x92\x06\x03" "abc", 9);
  EXPECT_TRUE(DecodeOrDie(bytes) == EveryFieldProfile());
}

TEST(PprofTest, ErrorsNameTheProblem) {
  std::string good = EncodePprof(EveryFieldProfile());
  auto truncated = DecodePprof(good.substr(0, good.size() - 3));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("offset"), std::string::npos)
      << truncated.status().message();

  // Three sample types but samples with two values each.
  std::string vt, wb = good;
  protowire::Writer(&vt).VarintField(1, 1);
  protowire::Writer(&wb).BytesField(1, vt);
  auto wr = DecodePprof(wb);
  ASSERT_FALSE(wr.ok());
  EXPECT_NE(wr.status().message().find("2 values for 3 sample types"), std::string::npos)
      << wr.status().message();

  // Garbage and an over-limit gzip.
  EXPECT_FALSE(DecodePprof("\xff\xff\xff").ok());
  PprofDecodeOptions small;
  small.max_decompressed_bytes = 100;
  auto big = DecodePprof(Gzip(good), small);
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
}

TEST(PprofTest, MissingReferencesAreErrors) {
  Profile p = EveryFieldProfile();
  p.lines[0].function = 0;  // "no function" is allowed
  EXPECT_TRUE(DecodePprof(EncodePprof(p)).ok());
  // Re-encode with a location id that collides.
  Profile d = EveryFieldProfile();
  d.locations[1].id = 100;
  // Colliding ids are replaced by index+1 on encode, so decode still works.
  EXPECT_TRUE(DecodePprof(EncodePprof(d)).ok());
  // A hand-made sample referring to location id 5 (absent).
  std::string bytes, vt, sample;
  protowire::Writer(&vt).VarintField(1, 1);
  protowire::Writer(&vt).VarintField(2, 2);
  protowire::Writer sw(&sample);
  sw.VarintField(1, 5);
  sw.VarintField(2, 1);
  protowire::Writer w(&bytes);
  w.BytesField(1, vt);
  w.BytesField(2, sample);
  for (const char* str : {"", "x", "y"}) w.BytesField(6, str);
  auto r = DecodePprof(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("location id 5"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace stackhouse::profile

namespace stackhouse::profile {
namespace {

TEST(PprofTest, ParallelChunkedGzipDecodesToTheSameProfile) {
  // Big enough (> 8M stack entries) for EncodePprofGzip to encode in chunks.
  Profile p;
  p.strings = {"", "samples", "count", "f"};
  p.sample_types = {{1, 2}};
  p.functions.push_back({1, 3, 0, 0, 0});
  for (uint32_t i = 0; i < 500; ++i) {
    Location loc;
    loc.id = i + 1;
    loc.address = 0x1000 + i;
    loc.line_begin = i;
    p.lines.push_back({1, static_cast<int64_t>(i), 0});
    loc.line_count = 1;
    p.locations.push_back(loc);
  }
  std::vector<uint32_t> stack(30);
  for (uint32_t s = 0; s < 300000; ++s) {
    for (uint32_t k = 0; k < stack.size(); ++k) stack[k] = (s * 7 + k * 13) % 500;
    int64_t v = s % 5 + 1;
    p.AddSample(stack, std::span<const int64_t>(&v, 1));
  }
  std::string z = EncodePprofGzip(p, 1, 2);
  auto q = DecodePprof(z);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_TRUE(*q == p);
  EXPECT_EQ(*Gunzip(z, size_t{1} << 30), EncodePprof(p));
}

// Several MB of samples are decoded in parts on several threads, straight
// into the profile's arrays: the result, and every error, must be the same
// as on one thread.
TEST(PprofTest, ParallelDecodeMatchesOneThread) {
  Profile p;
  p.strings = {"", "samples", "count", "cpu", "nanoseconds", "endpoint", "/a", "/b"};
  p.sample_types = {{1, 2}, {3, 4}};
  for (uint32_t i = 0; i < 200000; ++i) {  // ids of 3 varint bytes
    Location loc;
    loc.id = i + 1;
    loc.address = 0x1000 + i;
    p.locations.push_back(loc);
  }
  std::vector<uint32_t> stack;
  uint64_t x = 1;
  for (uint32_t s = 0; s < 250000; ++s) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    stack.resize(10 + (x >> 59));
    for (uint32_t k = 0; k < stack.size(); ++k) stack[k] = static_cast<uint32_t>((x >> 20) + k * 7919) % 200000;
    int64_t v[2] = {static_cast<int64_t>(s % 5 + 1), static_cast<int64_t>(s) * 1000};
    std::vector<Label> labels;
    if (s % 1000 == 0) labels.push_back({5, s % 2000 == 0 ? 6 : 7, 0, 0});
    p.AddSample(stack, v, labels);
  }
  const std::string bytes = EncodePprof(p);
  ASSERT_GT(bytes.size(), size_t{16} << 20);
  auto decode = [](std::string_view b, int threads) {
    PprofDecodeOptions o;
    o.threads = threads;
    return DecodePprof(b, o);
  };
  for (int threads : {2, 3, 4}) {
    auto q = decode(bytes, threads);
    ASSERT_TRUE(q.ok()) << threads << ": " << q.status().ToString();
    EXPECT_TRUE(*q == p) << threads;
  }

  // A sample with unpacked location ids, at the end (the last part).
  std::string tail;
  tail += '\x12';  // Profile.sample, length-delimited
  tail += '\x08';  // its length
  tail += "\x08\x05\x08\x07";      // location_id 5, location_id 7 (unpacked)
  tail += "\x12\x02\x03\x04";      // value [3, 4]
  auto one = decode(bytes + tail, 1);
  auto four = decode(bytes + tail, 4);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_TRUE(four.ok()) << four.status().ToString();
  EXPECT_TRUE(*one == *four);
  auto last = four->sample_stack(four->samples.size() - 1);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0], 4u);
  EXPECT_EQ(last[1], 6u);

  // Errors in the first part and in the last, and a missing location.
  std::string one_value = "\x12\x06\x0a\x01\x05\x12\x01\x03";  // ids [5], value [3]
  for (const std::string& bad : {one_value + bytes, bytes + one_value}) {
    auto a = decode(bad, 1);
    auto b = decode(bad, 4);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().ToString(), b.status().ToString());
    EXPECT_NE(a.status().message().find("values for 2 sample types"), std::string::npos)
        << a.status().ToString();
  }
  std::string bad_id = "\x12\x09\x0a\x03\xff\xff\x7f\x12\x02\x03\x04";  // id 2097151
  auto a = decode(bytes + bad_id, 1);
  auto b = decode(bytes + bad_id, 4);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().ToString(), b.status().ToString());
  EXPECT_NE(a.status().message().find("missing location id 2097151"), std::string::npos)
      << a.status().ToString();
}

}  // namespace
}  // namespace stackhouse::profile

namespace stackhouse::profile {
namespace {

// The encoder's output for a profile that uses every field, byte for byte.
// After an intended change of the encoding, rerun with
// STACKHOUSE_UPDATE_GOLDEN=1 to rewrite testdata/golden/every_field.pb.
TEST(PprofTest, EncoderGolden) {
  std::string got = EncodePprof(EveryFieldProfile());
  std::string path = stackhouse::testing::OwnTestdata("golden/every_field.pb");
  if (const char* update = std::getenv("STACKHOUSE_UPDATE_GOLDEN"); update && *update) {
    std::ofstream(path, std::ios::binary) << got;
  }
  EXPECT_EQ(got, ReadOrDie(path)) << "rerun with STACKHOUSE_UPDATE_GOLDEN=1 to update " << path;
}

}  // namespace
}  // namespace stackhouse::profile
