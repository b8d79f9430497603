#include "otlp/otlp.h"

#include <gtest/gtest.h>

#include "base/gzip.h"
#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/builder.h"
#include "profile/ops.h"
#include "profile/pprof.h"
#include "profile/testing/ground_truth.h"

namespace stackhouse::otlp {
namespace {

namespace pb = opentelemetry::proto::profiles::v1development;
using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

// What OTLP keeps of a pprof: everything but ids, the mapping has_* flags,
// comments, frame filters, the default type and the doc URL.
profile::Profile Comparable(const profile::Profile& in) {
  profile::Profile p = in;
  for (auto& m : p.mappings) {
    m.has_functions = m.has_filenames = m.has_line_numbers = m.has_inline_frames = false;
  }
  for (auto& l : p.locations) l.is_folded = false;
  p.comments.clear();
  p.drop_frames = p.keep_frames = p.default_sample_type = p.doc_url = 0;
  return profile::Normalize(p);
}

ExportRequest RoundTripWire(const ExportRequest& req) {
  std::string wire = req.SerializeAsString();
  auto back = ParseRequest(wire, "application/x-protobuf", "", 64 << 20);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return back.ok() ? *back : ExportRequest();
}

class OtlpTestdataTest : public ::testing::TestWithParam<std::string> {};

TEST_P(OtlpTestdataTest, PprofRoundTripsThroughOtlp) {
  auto p = profile::DecodePprof(ReadOrDie(SharedTestdata(GetParam())));
  ASSERT_TRUE(p.ok());
  ExportRequest req;
  AppendProfile(*p, {{"service.name", "svc"}, {"host.name", "h1"}}, &req);
  // One OTLP profile per sample type, one dictionary.
  ASSERT_EQ(req.resource_profiles_size(), 1);
  EXPECT_EQ(req.resource_profiles(0).scope_profiles(0).profiles_size(), static_cast<int>(p->num_types()));
  EXPECT_EQ(req.dictionary().string_table(0), "");
  DecodeResult r = FromOtlp(RoundTripWire(req));
  EXPECT_EQ(r.rejected, 0) << r.error;
  ASSERT_EQ(r.profiles.size(), 1u);
  EXPECT_TRUE(Comparable(r.profiles[0].profile) == Comparable(*p)) << GetParam();
  std::vector<profile::LabelPair> want = {{"host_name", "h1"}, {"service_name", "svc"}};
  EXPECT_EQ(r.profiles[0].labels, want);
  // And back again gives the same OTLP.
  ExportRequest again;
  AppendProfile(r.profiles[0].profile, {{"service.name", "svc"}, {"host.name", "h1"}}, &again);
  DecodeResult r2 = FromOtlp(again);
  ASSERT_EQ(r2.profiles.size(), 1u);
  EXPECT_TRUE(Comparable(r2.profiles[0].profile) == Comparable(*p));
}

INSTANTIATE_TEST_SUITE_P(Testdata, OtlpTestdataTest, ::testing::ValuesIn(profile::testing::PprofTestdataNames()),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

profile::Profile Small() {
  profile::ProfileBuilder b;
  profile::Profile& p = b.profile();
  p.sample_types = {{b.String("samples"), b.String("count")}, {b.String("cpu"), b.String("nanoseconds")}};
  p.period_type = {b.String("cpu"), b.String("nanoseconds")};
  p.period = 10000000;
  p.time_nanos = 1700000000000000000;
  p.duration_nanos = 10000000000;
  profile::Mapping m;
  m.filename = b.String("/usr/bin/app");
  m.build_id = b.String("ab12cd34ef56ab12");
  m.memory_start = 0x1000;
  m.memory_limit = 0x9000;
  uint32_t map = b.Mapping(m);
  uint32_t fmain = b.Function(b.String("main"), b.String("main"), b.String("main.c"), 3);
  uint32_t fwork = b.Function(b.String("work"), b.String("_Z4workv"), b.String("work.cc"), 10);
  profile::Line lmain[] = {{fmain, 5, 0}};
  profile::Line lwork[] = {{fwork, 12, 7}};
  uint32_t locs[] = {b.Location(map, 0x1200, lwork), b.Location(map, 0x1100, lmain)};
  profile::Label labels[] = {{b.String("span_id"), b.String("00f067aa0ba902b7"), 0, 0},
                             {b.String("thread"), b.String("w1"), 0, 0},
                             {b.String("bytes"), 0, 512, b.String("bytes")}};
  int64_t v1[] = {3, 30000000};
  b.AddSample(locs, v1, labels);
  int64_t v2[] = {1, 10000000};
  b.AddSample(std::span<const uint32_t>(locs + 1, 1), v2);
  return b.Finish();
}

TEST(OtlpTest, LabelsLinksAndBuildIds) {
  profile::Profile p = Small();
  ExportRequest req;
  AppendProfile(p, {{"service.name", "api"}}, &req);
  const pb::ProfilesDictionary& d = req.dictionary();
  // span_id became a link, the build id a mapping attribute, the stacks shared.
  ASSERT_GE(d.link_table_size(), 2);
  EXPECT_EQ(d.link_table(1).span_id().size(), 8u);
  ASSERT_GE(d.mapping_table_size(), 2);
  ASSERT_EQ(d.mapping_table(1).attribute_indices_size(), 1);
  const pb::KeyValueAndUnit& a = d.attribute_table(d.mapping_table(1).attribute_indices(0));
  EXPECT_EQ(d.string_table(a.key_strindex()), "process.executable.build_id.gnu");
  EXPECT_EQ(a.value().string_value(), "ab12cd34ef56ab12");
  EXPECT_EQ(d.stack_table_size(), 3);  // the zero stack and two
  const auto& prof = req.resource_profiles(0).scope_profiles(0).profiles(0);
  EXPECT_EQ(prof.samples(0).link_index(), 1);
  DecodeResult r = FromOtlp(req);
  ASSERT_EQ(r.profiles.size(), 1u);
  EXPECT_TRUE(Comparable(r.profiles[0].profile) == Comparable(p));
}

TEST(OtlpTest, ServiceNameRules) {
  profile::Profile p = Small();
  ExportRequest req;
  AppendProfile(p, {{"process.executable.name", "nginx"}, {"container.id", "abc"}}, &req);
  AppendProfile(p, {}, &req);
  DecodeResult r = FromOtlp(req);
  ASSERT_EQ(r.profiles.size(), 2u);
  std::vector<profile::LabelPair> want = {
      {"process_executable_name", "nginx"}, {"container_id", "abc"}, {"service_name", "unknown_service:nginx"}};
  EXPECT_EQ(r.profiles[0].labels, want);
  EXPECT_EQ(r.profiles[1].labels, std::vector<profile::LabelPair>({{"service_name", "unknown_service"}}));
}

TEST(OtlpTest, BadReferencesRejectOnlyTheirProfile) {
  profile::Profile p = Small();
  ExportRequest req;
  AppendProfile(p, {{"service.name", "good"}}, &req);
  AppendProfile(p, {{"service.name", "bad"}}, &req);
  auto* bad = req.mutable_resource_profiles(1)->mutable_scope_profiles(0)->mutable_profiles(0);
  bad->mutable_samples(0)->set_stack_index(9999);
  DecodeResult r = FromOtlp(req);
  ASSERT_EQ(r.profiles.size(), 1u);
  EXPECT_EQ(r.rejected, 2);  // both sample types of the bad one
  EXPECT_NE(r.error.find("stack index 9999"), std::string::npos) << r.error;
  // Other broken references.
  ExportRequest req2;
  AppendProfile(p, {{"service.name", "x"}}, &req2);
  req2.mutable_dictionary()->mutable_location_table(1)->set_mapping_index(-3);
  r = FromOtlp(req2);
  EXPECT_EQ(r.profiles.size(), 0u);
  EXPECT_NE(r.error.find("mapping index -3"), std::string::npos) << r.error;
  ExportRequest req3;
  AppendProfile(p, {{"service.name", "x"}}, &req3);
  req3.mutable_dictionary()->mutable_function_table(1)->set_name_strindex(1 << 20);
  r = FromOtlp(req3);
  EXPECT_EQ(r.profiles.size(), 0u);
  EXPECT_NE(r.error.find("string index"), std::string::npos) << r.error;
}

TEST(OtlpTest, TimestampOnlySamplesCountOneEach) {
  ExportRequest req;
  AppendProfile(Small(), {{"service.name", "t"}}, &req);
  auto* prof = req.mutable_resource_profiles(0)->mutable_scope_profiles(0)->mutable_profiles(0);
  prof->mutable_samples(0)->clear_values();
  prof->mutable_samples(0)->add_timestamps_unix_nano(1);
  prof->mutable_samples(0)->add_timestamps_unix_nano(2);
  DecodeResult r = FromOtlp(req);
  ASSERT_EQ(r.profiles.size(), 1u);
  EXPECT_EQ(r.profiles[0].profile.Total(0), 2 + 1);
}

TEST(OtlpTest, JsonWithHexIdsAndGzip) {
  ExportRequest req;
  AppendProfile(Small(), {{"service.name", "j"}}, &req);
  auto json = ToJson(req);
  ASSERT_TRUE(json.ok());
  EXPECT_NE(json->find("\"spanId\":\"00f067aa0ba902b7\""), std::string::npos) << *json;
  auto back = ParseRequest(*json, "application/json; charset=utf-8", "", 1 << 20);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  DecodeResult r = FromOtlp(*back);
  ASSERT_EQ(r.profiles.size(), 1u);
  EXPECT_TRUE(Comparable(r.profiles[0].profile) == Comparable(Small()));
  std::string gz = Gzip(req.SerializeAsString());
  auto unzipped = ParseRequest(gz, "application/x-protobuf", "gzip", 1 << 20);
  ASSERT_TRUE(unzipped.ok()) << unzipped.status().ToString();
  EXPECT_EQ(unzipped->SerializeAsString(), req.SerializeAsString());
}

TEST(OtlpTest, BodyErrors) {
  std::string wire = ExportRequest().SerializeAsString();
  EXPECT_EQ(ParseRequest("{", "application/json", "", 1024).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRequest("{\"resourceProfiles\": 3}", "application/json", "", 1024).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRequest("\xff\xff\xff", "application/x-protobuf", "", 1024).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRequest(wire, "text/plain", "", 1024).status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(ParseRequest(wire, "application/x-protobuf", "br", 1024).status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(ParseRequest("not gzip", "application/x-protobuf", "gzip", 1024).status().code(),
            StatusCode::kInvalidArgument);
  // The size limit holds after decompression.
  std::string big(1 << 20, 'a');
  EXPECT_EQ(ParseRequest(Gzip(big), "application/x-protobuf", "gzip", 1000).status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(ParseRequest(big, "application/x-protobuf", "", 1000).status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace stackhouse::otlp
