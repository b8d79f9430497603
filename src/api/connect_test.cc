#include "api/connect.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/google/v1/profile.pb.h"
#include "api/push/v1/push.pb.h"
#include "api/querier/v1/querier.pb.h"
#include "api/types/v1/types.pb.h"
#include "base/gzip.h"
#include "base/protowire.h"
#include "base/testing/testing.h"

namespace stackhouse::api {
namespace {

using google::protobuf::util::MessageDifferencer;

push::v1::PushRequest SamplePush() {
  push::v1::PushRequest req;
  auto* series = req.add_series();
  auto* l = series->add_labels();
  l->set_name("__name__");
  l->set_value("process_cpu");
  l = series->add_labels();
  l->set_name("service_name");
  l->set_value("checkout \"eu\"");
  auto* sample = series->add_samples();
  sample->set_raw_profile(std::string("\x1f\x8b\x00\xff\x01", 5));
  sample->set_id("7c9e6679-7425-40de-944b-e07fc1f90ae7");
  return req;
}

TEST(ConnectTest, PushRequestRoundTripsThroughProto) {
  push::v1::PushRequest in = SamplePush();
  std::string body = EncodeConnectResponse(ConnectCodec::kProto, in);
  EXPECT_EQ(body, in.SerializeAsString());
  push::v1::PushRequest out;
  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kProto, body, "", &out).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(in, out));
}

TEST(ConnectTest, PushRequestRoundTripsThroughJson) {
  push::v1::PushRequest in = SamplePush();
  std::string body = EncodeConnectResponse(ConnectCodec::kJson, in);
  EXPECT_EQ(body,
            "{\"series\":[{\"labels\":[{\"name\":\"__name__\",\"value\":\"process_cpu\"},"
            "{\"name\":\"service_name\",\"value\":\"checkout \\\"eu\\\"\"}],"
            "\"samples\":[{\"rawProfile\":\"H4sA/wE=\","
            "\"ID\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\"}]}]}");
  push::v1::PushRequest out;
  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kJson, body, "", &out).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(in, out));
}

TEST(ConnectTest, PushRequestJsonAsAnSdkSendsIt) {
  // Original proto names are accepted too, and unknown fields are ignored.
  std::string body = R"({
    "series": [{
      "labels": [{"name": "__name__", "value": "wall"}],
      "samples": [{"raw_profile": "AAEC", "ID": "abc", "futureField": 1}],
      "somethingNew": {"nested": [1, 2]}
    }]
  })";
  push::v1::PushRequest out;
  Status s = DecodeConnectRequest(ConnectCodec::kJson, body, "", &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out.series_size(), 1);
  EXPECT_EQ(out.series(0).labels(0).value(), "wall");
  EXPECT_EQ(out.series(0).samples(0).raw_profile(), std::string("\x00\x01\x02", 3));
  EXPECT_EQ(out.series(0).samples(0).id(), "abc");
}

querier::v1::SelectMergeStacktracesRequest SampleSelect() {
  querier::v1::SelectMergeStacktracesRequest req;
  req.set_profile_typeid("process_cpu:cpu:nanoseconds:cpu:nanoseconds");
  req.set_label_selector("{service_name=\"api\"}");
  req.set_start(1700000000000);
  req.set_end(1700003600000);
  req.set_max_nodes(16384);
  req.set_format(querier::v1::PROFILE_FORMAT_PPROF);
  req.mutable_stack_trace_selector()->add_call_site()->set_name("main");
  req.add_profile_id_selector("p1");
  req.add_trace_id_selector("0123456789abcdef0123456789abcdef");
  req.add_span_selector("9a517183f26a089d");
  return req;
}

TEST(ConnectTest, SelectMergeStacktracesJsonFieldNames) {
  std::string body = EncodeConnectResponse(ConnectCodec::kJson, SampleSelect());
  EXPECT_EQ(body,
            "{\"profileTypeID\":\"process_cpu:cpu:nanoseconds:cpu:nanoseconds\","
            "\"labelSelector\":\"{service_name=\\\"api\\\"}\","
            "\"start\":\"1700000000000\",\"end\":\"1700003600000\","
            "\"maxNodes\":\"16384\",\"format\":\"PROFILE_FORMAT_PPROF\","
            "\"stackTraceSelector\":{\"callSite\":[{\"name\":\"main\"}]},"
            "\"profileIdSelector\":[\"p1\"],"
            "\"traceIdSelector\":[\"0123456789abcdef0123456789abcdef\"],"
            "\"spanSelector\":[\"9a517183f26a089d\"]}");
}

TEST(ConnectTest, SelectMergeStacktracesAsGrafanaSendsIt) {
  // Grafana's data source sends int64 both as strings and as numbers.
  std::string body = R"({"profileTypeID":"process_cpu:cpu:nanoseconds:cpu:nanoseconds",)"
                     R"("labelSelector":"{service_name=\"api\"}","start":"1700000000000",)"
                     R"("end":1700003600000,"maxNodes":16384,"format":4,"newGrafanaOption":true})";
  querier::v1::SelectMergeStacktracesRequest out;
  Status s = DecodeConnectRequest(ConnectCodec::kJson, body, "", &out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.profile_typeid(), "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
  EXPECT_EQ(out.label_selector(), "{service_name=\"api\"}");
  EXPECT_EQ(out.start(), 1700000000000);
  EXPECT_EQ(out.end(), 1700003600000);
  ASSERT_TRUE(out.has_max_nodes());
  EXPECT_EQ(out.max_nodes(), 16384);
  EXPECT_EQ(out.format(), querier::v1::PROFILE_FORMAT_PPROF);

  // The proto field names work as well.
  querier::v1::SelectMergeStacktracesRequest by_proto_name;
  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kJson,
                                   R"({"profile_typeID":"x","label_selector":"{}",)"
                                   R"("max_nodes":"5","format":"PROFILE_FORMAT_TREE"})",
                                   "", &by_proto_name)
                  .ok());
  EXPECT_EQ(by_proto_name.profile_typeid(), "x");
  EXPECT_EQ(by_proto_name.max_nodes(), 5);
  EXPECT_EQ(by_proto_name.format(), querier::v1::PROFILE_FORMAT_TREE);
}

TEST(ConnectTest, SelectMergeStacktracesRoundTripsThroughBothCodecs) {
  querier::v1::SelectMergeStacktracesRequest in = SampleSelect();
  for (ConnectCodec codec : {ConnectCodec::kProto, ConnectCodec::kJson}) {
    querier::v1::SelectMergeStacktracesRequest out;
    ASSERT_TRUE(DecodeConnectRequest(codec, EncodeConnectResponse(codec, in), "", &out).ok());
    EXPECT_TRUE(MessageDifferencer::Equals(in, out));
  }
}

TEST(ConnectTest, OtherRequestsJsonFieldNames) {
  querier::v1::SelectSeriesRequest series;
  series.set_profile_typeid("memory:alloc_space:bytes:space:bytes");
  series.set_label_selector("{}");
  series.set_start(1);
  series.set_end(2);
  series.add_group_by("pod");
  series.set_step(15);
  series.set_aggregation(types::v1::TIME_SERIES_AGGREGATION_TYPE_AVERAGE);
  series.set_limit(10);
  series.set_exemplar_type(types::v1::EXEMPLAR_TYPE_INDIVIDUAL);
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, series),
            "{\"profileTypeID\":\"memory:alloc_space:bytes:space:bytes\",\"labelSelector\":\"{}\","
            "\"start\":\"1\",\"end\":\"2\",\"groupBy\":[\"pod\"],\"step\":15,"
            "\"aggregation\":\"TIME_SERIES_AGGREGATION_TYPE_AVERAGE\",\"limit\":\"10\","
            "\"exemplarType\":\"EXEMPLAR_TYPE_INDIVIDUAL\"}");

  types::v1::LabelValuesRequest values;
  values.set_name("service_name");
  values.add_matchers("{__profile_type__=\"x\"}");
  values.set_start(3);
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, values),
            "{\"name\":\"service_name\",\"matchers\":[\"{__profile_type__=\\\"x\\\"}\"],"
            "\"start\":\"3\"}");

  querier::v1::SeriesRequest labels;
  labels.add_label_names("service_name");
  labels.add_label_names("__profile_type__");
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, labels),
            "{\"labelNames\":[\"service_name\",\"__profile_type__\"]}");

  querier::v1::DiffRequest diff;
  diff.mutable_left()->set_profile_typeid("a");
  diff.mutable_right()->set_max_nodes(0);  // optional: present even when 0
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, diff),
            "{\"left\":{\"profileTypeID\":\"a\"},\"right\":{\"maxNodes\":\"0\"}}");
}

TEST(ConnectTest, ResponsesPrintInt64AsStrings) {
  querier::v1::SelectMergeStacktracesResponse resp;
  auto* fg = resp.mutable_flamegraph();
  fg->add_names("total");
  fg->add_names("main");
  auto* level = fg->add_levels();
  for (int64_t v : {0, 100, 10, 0}) level->add_values(v);
  fg->set_total(100);
  fg->set_max_self(90);
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, resp),
            "{\"flamegraph\":{\"names\":[\"total\",\"main\"],"
            "\"levels\":[{\"values\":[\"0\",\"100\",\"10\",\"0\"]}],"
            "\"total\":\"100\",\"maxSelf\":\"90\"}}");

  querier::v1::DiffResponse diff;
  diff.mutable_flamegraph()->set_leftticks(7);
  diff.mutable_flamegraph()->set_rightticks(9);
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, diff),
            "{\"flamegraph\":{\"leftTicks\":\"7\",\"rightTicks\":\"9\"}}");

  querier::v1::SelectSeriesResponse series;
  auto* s = series.add_series();
  auto* l = s->add_labels();
  l->set_name("service_name");
  l->set_value("api");
  auto* p = s->add_points();
  p->set_value(1.5);
  p->set_timestamp(1700000000000);
  auto* e = p->add_exemplars();
  e->set_profile_id("p1");
  e->set_value(3);
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, series),
            "{\"series\":[{\"labels\":[{\"name\":\"service_name\",\"value\":\"api\"}],"
            "\"points\":[{\"value\":1.5,\"timestamp\":\"1700000000000\","
            "\"exemplars\":[{\"profileId\":\"p1\",\"value\":\"3\"}]}]}]}");

  querier::v1::ProfileTypesResponse types;
  auto* t = types.add_profile_types();
  t->set_id("process_cpu:cpu:nanoseconds:cpu:nanoseconds");
  t->set_name("process_cpu");
  t->set_sample_type("cpu");
  t->set_period_unit("nanoseconds");
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, types),
            "{\"profileTypes\":[{\"ID\":\"process_cpu:cpu:nanoseconds:cpu:nanoseconds\","
            "\"name\":\"process_cpu\",\"sampleType\":\"cpu\",\"periodUnit\":\"nanoseconds\"}]}");

  types::v1::GetProfileStatsResponse stats;
  stats.set_data_ingested(true);
  stats.set_oldest_profile_time(5);
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, stats),
            "{\"dataIngested\":true,\"oldestProfileTime\":\"5\"}");

  // Empty messages print as {}.
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, push::v1::PushResponse()), "{}");
}

TEST(ConnectTest, ResponsesRepairInvalidUtf8) {
  types::v1::LabelValuesResponse resp;
  resp.add_names("ok \xf0\x9f\x94\xa5");  // a valid 4-byte sequence stays
  resp.add_names(std::string("bad\xff\xfe!", 6));
  resp.add_names("\xc0\x80 overlong, \xed\xa0\x80 surrogate, \xe2\x82 cut");
  const std::string fixed_1 = "bad\xef\xbf\xbd\xef\xbf\xbd!";
  const std::string fixed_2 =
      "\xef\xbf\xbd\xef\xbf\xbd overlong, \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd surrogate, "
      "\xef\xbf\xbd\xef\xbf\xbd cut";
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kJson, resp),
            "{\"names\":[\"ok \xf0\x9f\x94\xa5\",\"" + fixed_1 + "\",\"" + fixed_2 + "\"]}");

  types::v1::LabelValuesResponse decoded;
  ASSERT_TRUE(decoded.ParseFromString(EncodeConnectResponse(ConnectCodec::kProto, resp)));
  ASSERT_EQ(decoded.names_size(), 3);
  EXPECT_EQ(decoded.names(0), resp.names(0));
  EXPECT_EQ(decoded.names(1), fixed_1);
  EXPECT_EQ(decoded.names(2), fixed_2);
  // The caller's message is left alone.
  EXPECT_EQ(resp.names(1), std::string("bad\xff\xfe!", 6));

  // Nested strings are repaired too; bytes fields are not touched.
  push::v1::PushRequest push = SamplePush();
  push.mutable_series(0)->mutable_labels(0)->set_value("\x80");
  push::v1::PushRequest push_decoded;
  ASSERT_TRUE(push_decoded.ParseFromString(EncodeConnectResponse(ConnectCodec::kProto, push)));
  EXPECT_EQ(push_decoded.series(0).labels(0).value(), "\xef\xbf\xbd");
  EXPECT_EQ(push_decoded.series(0).samples(0).raw_profile(),
            push.series(0).samples(0).raw_profile());
}

TEST(ConnectTest, GzipRequestBodies) {
  push::v1::PushRequest in = SamplePush();
  for (ConnectCodec codec : {ConnectCodec::kProto, ConnectCodec::kJson}) {
    std::string body = Gzip(EncodeConnectResponse(codec, in));
    push::v1::PushRequest out;
    Status s = DecodeConnectRequest(codec, body, "gzip", &out);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(MessageDifferencer::Equals(in, out));
    out.Clear();
    ASSERT_TRUE(DecodeConnectRequest(codec, body, " GZIP ", &out).ok());
    EXPECT_TRUE(MessageDifferencer::Equals(in, out));
  }
  // "identity" is no compression.
  push::v1::PushRequest out;
  ASSERT_TRUE(
      DecodeConnectRequest(ConnectCodec::kProto, in.SerializeAsString(), "identity", &out).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(in, out));
}

TEST(ConnectTest, DecompressionLimit) {
  // A highly compressible body: 1 MiB of label value.
  push::v1::PushRequest big;
  auto* l = big.add_series()->add_labels();
  l->set_name("x");
  l->set_value(std::string(1 << 20, 'a'));
  std::string raw = big.SerializeAsString();
  std::string zipped = Gzip(raw);
  ASSERT_LT(zipped.size(), 4096u);

  push::v1::PushRequest out;
  Status s = DecodeConnectRequest(ConnectCodec::kProto, zipped, "gzip", &out, 64 << 10);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("push.v1.PushRequest"), std::string::npos) << s.message();
  EXPECT_EQ(out.series_size(), 0);

  s = DecodeConnectRequest(ConnectCodec::kProto, raw, "", &out, 64 << 10);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();

  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kProto, zipped, "gzip", &out, raw.size()).ok());
  EXPECT_EQ(out.series(0).labels(0).value().size(), size_t{1} << 20);
}

TEST(ConnectTest, BadContentEncodings) {
  push::v1::PushRequest out;
  Status s = DecodeConnectRequest(ConnectCodec::kProto, "abc", "br", &out);
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("br"), std::string::npos) << s.message();
  EXPECT_EQ(ToConnectError(s).http_status, 501);

  s = DecodeConnectRequest(ConnectCodec::kProto, "definitely not gzip", "gzip", &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("gzip"), std::string::npos) << s.message();

  std::string truncated = Gzip(SamplePush().SerializeAsString());
  truncated.resize(truncated.size() / 2);
  s = DecodeConnectRequest(ConnectCodec::kProto, truncated, "gzip", &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
}

TEST(ConnectTest, ContentTypes) {
  struct Case {
    const char* content_type;
    ConnectCodec codec;
  };
  for (const Case& c : std::vector<Case>{
           {"application/proto", ConnectCodec::kProto},
           {"application/json", ConnectCodec::kJson},
           {"application/json; charset=utf-8", ConnectCodec::kJson},
           {"Application/JSON;charset=UTF-8", ConnectCodec::kJson},
           {"application/json; charset=\"utf-8\"", ConnectCodec::kJson},
           {" application/proto ; foo=bar", ConnectCodec::kProto},
       }) {
    StatusOr<ConnectCodec> codec = CodecForContentType(c.content_type);
    ASSERT_TRUE(codec.ok()) << c.content_type << ": " << codec.status().ToString();
    EXPECT_EQ(*codec, c.codec) << c.content_type;
  }
  for (const char* bad :
       {"", "text/plain", "application/grpc", "application/grpc+proto", "application/connect+json",
        "application/protobuf", "application/x-www-form-urlencoded", "application/jsonx",
        "application/json; charset=latin1"}) {
    StatusOr<ConnectCodec> codec = CodecForContentType(bad);
    ASSERT_FALSE(codec.ok()) << bad;
    EXPECT_EQ(codec.status().code(), StatusCode::kInvalidArgument);
    ConnectError e = UnsupportedMediaTypeError(codec.status());
    EXPECT_EQ(e.http_status, 415);
    EXPECT_EQ(e.body.rfind("{\"code\":\"unimplemented\",\"message\":\"unsupported ", 0), 0u)
        << e.body;
  }
  EXPECT_EQ(ConnectContentType(ConnectCodec::kProto), "application/proto");
  EXPECT_EQ(ConnectContentType(ConnectCodec::kJson), "application/json");
}

TEST(ConnectTest, MalformedBodies) {
  push::v1::PushRequest out;
  // A truncated length-delimited field.
  Status s = DecodeConnectRequest(ConnectCodec::kProto, std::string("\x0a\x05\x0a", 3), "", &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "malformed application/proto body for push.v1.PushRequest (3 bytes)");
  // Field number 0.
  s = DecodeConnectRequest(ConnectCodec::kProto, std::string("\x00\x01", 2), "", &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);

  for (const char* bad :
       {"{", "[]", "42", "{\"series\": \"x\"}", "{\"series\": [{\"labels\": 5}]}",
        "{\"series\": [{\"samples\": [{\"rawProfile\": \"not base64!\"}]}]}", "{} trailing"}) {
    s = DecodeConnectRequest(ConnectCodec::kJson, bad, "", &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message().rfind("malformed application/json body for push.v1.PushRequest: ", 0), 0u)
        << bad << " -> " << s.message();
    EXPECT_EQ(out.series_size(), 0) << bad;
  }

  querier::v1::SelectMergeStacktracesRequest sel;
  s = DecodeConnectRequest(ConnectCodec::kJson, R"({"start": "soon"})", "", &sel);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();

  // Every error maps to HTTP 400 with a Connect body.
  ConnectError e = ToConnectError(s);
  EXPECT_EQ(e.http_status, 400);
  EXPECT_EQ(e.body.rfind("{\"code\":\"invalid_argument\",\"message\":\"malformed", 0), 0u)
      << e.body;
}

TEST(ConnectTest, DeeplyNestedBodiesDoNotCrash) {
  // Deep JSON under an unknown field is skipped or refused, never a crash.
  push::v1::PushRequest out;
  std::string json = "{\"unknown\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  Status s = DecodeConnectRequest(ConnectCodec::kJson, json, "", &out);
  EXPECT_TRUE(s.ok() || s.code() == StatusCode::kInvalidArgument) << s.ToString();
  json = std::string(200000, '{');
  s = DecodeConnectRequest(ConnectCodec::kJson, json, "", &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();

  // Our schemas are not recursive, but unknown groups nest: 100k start-group
  // tags of an unknown field hit the parser's recursion limit.
  std::string proto;
  protowire::Writer w(&proto);
  for (int i = 0; i < 100000; ++i) w.Varint((uint64_t{50} << 3) | 3);
  for (int i = 0; i < 100000; ++i) w.Varint((uint64_t{50} << 3) | 4);
  s = DecodeConnectRequest(ConnectCodec::kProto, proto, "", &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
}

TEST(ConnectTest, EmptyBodyIsTheEmptyMessage) {
  querier::v1::ProfileTypesRequest req;
  req.set_start(5);
  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kJson, "", "", &req).ok());
  EXPECT_EQ(req.start(), 0);
  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kProto, "", "", &req).ok());
  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kJson, "{}", "", &req).ok());
  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kJson, Gzip(""), "gzip", &req).ok());
}

TEST(ConnectTest, UnknownProtoFieldsAreKept) {
  // A newer client may send fields we do not know (here number 99).
  std::string body = SamplePush().SerializeAsString();
  protowire::Writer w(&body);
  w.VarintField(99, 7);
  push::v1::PushRequest out;
  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kProto, body, "", &out).ok());
  EXPECT_EQ(out.series_size(), 1);
  EXPECT_EQ(out.SerializeAsString(), body);
}

TEST(ConnectTest, EveryStatusCodeMapsToConnect) {
  struct Case {
    StatusCode code;
    const char* connect;
    int http;
  };
  const std::vector<Case> cases = {
      {StatusCode::kCancelled, "canceled", 499},
      {StatusCode::kUnknown, "unknown", 500},
      {StatusCode::kInvalidArgument, "invalid_argument", 400},
      {StatusCode::kDeadlineExceeded, "deadline_exceeded", 504},
      {StatusCode::kNotFound, "not_found", 404},
      {StatusCode::kAlreadyExists, "already_exists", 409},
      {StatusCode::kPermissionDenied, "permission_denied", 403},
      {StatusCode::kResourceExhausted, "resource_exhausted", 429},
      {StatusCode::kFailedPrecondition, "failed_precondition", 400},
      {StatusCode::kAborted, "aborted", 409},
      {StatusCode::kOutOfRange, "out_of_range", 400},
      {StatusCode::kUnimplemented, "unimplemented", 501},
      {StatusCode::kInternal, "internal", 500},
      {StatusCode::kUnavailable, "unavailable", 503},
      {StatusCode::kDataLoss, "data_loss", 500},
  };
  ASSERT_EQ(cases.size(), 15u);  // every StatusCode but kOk
  for (const Case& c : cases) {
    EXPECT_EQ(ConnectCode(c.code), c.connect);
    EXPECT_EQ(ConnectHttpStatus(c.code), c.http) << c.connect;
    ConnectError e = ToConnectError(Status(c.code, "boom"));
    EXPECT_EQ(e.http_status, c.http) << c.connect;
    EXPECT_EQ(e.body, std::string("{\"code\":\"") + c.connect + "\",\"message\":\"boom\"}");
  }
  EXPECT_EQ(ConnectHttpStatus(StatusCode::kOk), 200);
  ConnectError ok = ToConnectError(OkStatus());
  EXPECT_EQ(ok.http_status, 500);
  EXPECT_EQ(ok.body.rfind("{\"code\":\"unknown\"", 0), 0u);
}

TEST(ConnectTest, ErrorMessagesAreEscaped) {
  ConnectError e =
      ToConnectError(InvalidArgumentError(std::string("bad \"selector\"\n\\ \x01 \xff end")));
  EXPECT_EQ(e.body,
            "{\"code\":\"invalid_argument\",\"message\":"
            "\"bad \\\"selector\\\"\\n\\\\ \\u0001 \xef\xbf\xbd end\"}");
  EXPECT_EQ(ToConnectError(NotFoundError("")).body, "{\"code\":\"not_found\"}");
}

// ---- google.v1.Profile is pprof ----

// Encodes a small pprof profile by hand, field by field, with pprof's field
// numbers and in the canonical layout libprotobuf writes (fields in number
// order, packed repeated scalars, zero scalars omitted).
std::string HandEncodedPprof() {
  using protowire::Writer;
  std::string out;
  Writer w(&out);
  auto nested = [&](uint32_t field, const std::string& body) { w.BytesField(field, body); };
  auto packed = [&](uint32_t field, const std::vector<uint64_t>& values) {
    std::string body;
    Writer b(&body);
    for (uint64_t v : values) b.Varint(v);
    w.BytesField(field, body);
  };
  // sample_type = 1: {type = 1, unit = 2}
  {
    std::string vt;
    Writer b(&vt);
    b.VarintField(1, 1);
    b.VarintField(2, 2);
    nested(1, vt);
  }
  // sample = 2: {location_id = 1 packed [2, 1], value = 2 packed [10], label = 3}
  {
    std::string s;
    Writer b(&s);
    std::string ids;
    Writer(&ids).Varint(2);
    Writer(&ids).Varint(1);
    b.BytesField(1, ids);
    std::string vals;
    Writer(&vals).Varint(10);
    b.BytesField(2, vals);
    std::string label;
    Writer l(&label);
    l.VarintField(1, 7);
    l.VarintField(3, static_cast<uint64_t>(int64_t{-3}));
    l.VarintField(4, 2);
    b.BytesField(3, label);
    nested(2, s);
  }
  // mapping = 3
  {
    std::string m;
    Writer b(&m);
    b.VarintField(1, 1);
    b.VarintField(2, 0x400000);
    b.VarintField(3, 0x500000);
    b.VarintField(4, 0x1000);
    b.VarintField(5, 5);
    b.VarintField(6, 6);
    b.VarintField(7, 1);
    b.VarintField(10, 1);
    nested(3, m);
  }
  // location = 4 (two), each with one line
  for (uint64_t id : {1, 2}) {
    std::string loc;
    Writer b(&loc);
    b.VarintField(1, id);
    b.VarintField(2, 1);
    b.VarintField(3, 0x401000 + id);
    std::string line;
    Writer ln(&line);
    ln.VarintField(1, id);
    ln.VarintField(2, 40 + id);
    b.BytesField(4, line);
    if (id == 2) b.VarintField(5, 1);
    nested(4, loc);
  }
  // function = 5 (two)
  for (uint64_t id : {1, 2}) {
    std::string f;
    Writer b(&f);
    b.VarintField(1, id);
    b.VarintField(2, 2 + id);  // "main" / "work"
    b.VarintField(3, 2 + id);
    b.VarintField(4, 5);
    b.VarintField(5, 30 + id);
    nested(5, f);
  }
  // string_table = 6
  for (const char* s : {"", "cpu", "nanoseconds", "main", "work", "main.go", "buildid", "thread"}) {
    w.BytesField(6, s);
  }
  w.VarintField(7, 3);                    // drop_frames
  w.VarintField(8, 4);                    // keep_frames
  w.VarintField(9, 1700000000000000000);  // time_nanos
  w.VarintField(10, 10000000000);         // duration_nanos
  {
    std::string vt;
    Writer b(&vt);
    b.VarintField(1, 1);
    b.VarintField(2, 2);
    nested(11, vt);  // period_type
  }
  w.VarintField(12, 10000000);  // period
  packed(13, {3, 4});           // comment
  w.VarintField(14, 1);         // default_sample_type
  return out;
}

TEST(ConnectTest, GoogleProfileFieldNumbersArePprofs) {
  const std::string pprof = HandEncodedPprof();
  google::v1::Profile p;
  ASSERT_TRUE(p.ParseFromString(pprof));
  ASSERT_EQ(p.sample_type_size(), 1);
  EXPECT_EQ(p.sample_type(0).type(), 1);
  EXPECT_EQ(p.sample_type(0).unit(), 2);
  ASSERT_EQ(p.sample_size(), 1);
  EXPECT_EQ(p.sample(0).location_id_size(), 2);
  EXPECT_EQ(p.sample(0).location_id(0), 2u);
  EXPECT_EQ(p.sample(0).value(0), 10);
  EXPECT_EQ(p.sample(0).label(0).key(), 7);
  EXPECT_EQ(p.sample(0).label(0).num(), -3);
  EXPECT_EQ(p.sample(0).label(0).num_unit(), 2);
  ASSERT_EQ(p.mapping_size(), 1);
  EXPECT_EQ(p.mapping(0).memory_start(), 0x400000u);
  EXPECT_EQ(p.mapping(0).memory_limit(), 0x500000u);
  EXPECT_EQ(p.mapping(0).file_offset(), 0x1000u);
  EXPECT_EQ(p.mapping(0).filename(), 5);
  EXPECT_EQ(p.mapping(0).build_id(), 6);
  EXPECT_TRUE(p.mapping(0).has_functions());
  EXPECT_FALSE(p.mapping(0).has_filenames());
  EXPECT_TRUE(p.mapping(0).has_inline_frames());
  ASSERT_EQ(p.location_size(), 2);
  EXPECT_EQ(p.location(1).id(), 2u);
  EXPECT_EQ(p.location(1).mapping_id(), 1u);
  EXPECT_EQ(p.location(1).address(), 0x401002u);
  EXPECT_EQ(p.location(1).line(0).function_id(), 2u);
  EXPECT_EQ(p.location(1).line(0).line(), 42);
  EXPECT_TRUE(p.location(1).is_folded());
  ASSERT_EQ(p.function_size(), 2);
  EXPECT_EQ(p.function(1).name(), 4);
  EXPECT_EQ(p.function(1).system_name(), 4);
  EXPECT_EQ(p.function(1).filename(), 5);
  EXPECT_EQ(p.function(1).start_line(), 32);
  ASSERT_EQ(p.string_table_size(), 8);
  EXPECT_EQ(p.string_table(0), "");
  EXPECT_EQ(p.string_table(4), "work");
  EXPECT_EQ(p.drop_frames(), 3);
  EXPECT_EQ(p.keep_frames(), 4);
  EXPECT_EQ(p.time_nanos(), 1700000000000000000);
  EXPECT_EQ(p.duration_nanos(), 10000000000);
  EXPECT_EQ(p.period_type().type(), 1);
  EXPECT_EQ(p.period(), 10000000);
  ASSERT_EQ(p.comment_size(), 2);
  EXPECT_EQ(p.comment(1), 4);
  EXPECT_EQ(p.default_sample_type(), 1);
  EXPECT_TRUE(p.GetReflection()->GetUnknownFields(p).empty());

  // libprotobuf writes back exactly the bytes it was built from.
  EXPECT_EQ(p.SerializeAsString(), pprof);
  // And the same bytes as the Connect proto codec.
  EXPECT_EQ(EncodeConnectResponse(ConnectCodec::kProto, p), pprof);
}

TEST(ConnectTest, GoogleProfileBuiltWithTheApiIsPprof) {
  google::v1::Profile p;
  for (const char* s : {"", "samples", "count"}) p.add_string_table(s);
  p.add_sample_type()->set_type(1);
  p.set_period(99);
  p.set_time_nanos(5);
  std::string bytes = p.SerializeAsString();
  // Read the top-level fields back with our own wire reader.
  protowire::Reader r(bytes);
  std::vector<uint32_t> fields;
  while (!r.done()) {
    uint32_t field;
    int wt;
    ASSERT_TRUE(r.ReadTag(&field, &wt));
    fields.push_back(field);
    if (field == 12) {
      uint64_t v;
      ASSERT_TRUE(r.ReadVarint(&v));
      EXPECT_EQ(v, 99u);
    } else {
      ASSERT_TRUE(r.SkipField(wt));
    }
  }
  EXPECT_EQ(fields, (std::vector<uint32_t>{1, 6, 6, 6, 9, 12}));
}

TEST(ConnectTest, RealGoProfileParsesAsGoogleProfile) {
  std::string raw =
      stackhouse::testing::ReadOrDie(stackhouse::testing::SharedTestdata("go_cpu.pb.gz"));
  StatusOr<std::string> pprof = Gunzip(raw, 256 << 20);
  ASSERT_TRUE(pprof.ok()) << pprof.status().ToString();
  google::v1::Profile p;
  ASSERT_TRUE(p.ParseFromString(*pprof));
  EXPECT_TRUE(p.GetReflection()->GetUnknownFields(p).empty());
  ASSERT_GT(p.string_table_size(), 0);
  EXPECT_EQ(p.string_table(0), "");
  EXPECT_GT(p.sample_size(), 0);
  EXPECT_GT(p.location_size(), 0);
  EXPECT_GT(p.function_size(), 0);
  ASSERT_EQ(p.sample_type_size(), 2);
  EXPECT_EQ(p.string_table(p.sample_type(1).type()), "cpu");
  EXPECT_EQ(p.string_table(p.sample_type(1).unit()), "nanoseconds");
  for (const auto& s : p.sample()) ASSERT_EQ(s.value_size(), p.sample_type_size());

  // Re-encoded by libprotobuf it is still the same profile.
  google::v1::Profile again;
  ASSERT_TRUE(again.ParseFromString(p.SerializeAsString()));
  EXPECT_TRUE(MessageDifferencer::Equals(p, again));
  // And the pprof survives the SelectMergeStacktracesResponse JSON round trip.
  querier::v1::SelectMergeStacktracesResponse resp;
  *resp.mutable_pprof()->mutable_profile() = p;
  querier::v1::SelectMergeStacktracesResponse decoded;
  ASSERT_TRUE(DecodeConnectRequest(ConnectCodec::kJson,
                                   EncodeConnectResponse(ConnectCodec::kJson, resp), "", &decoded)
                  .ok());
  EXPECT_TRUE(MessageDifferencer::Equals(resp, decoded));
}

}  // namespace
}  // namespace stackhouse::api
