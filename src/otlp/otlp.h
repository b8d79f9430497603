// OpenTelemetry profiles (OTLP v1development, as of opentelemetry-proto
// v1.11.0) to and from the profile model.
//
// pprof -> OTLP: one ResourceProfiles per profile, one OTLP Profile per
// sample type, all sharing the request's dictionary; stacks go through the
// stack table; sample labels become attributes (numeric ones keep their
// unit); trace_id/span_id labels become links; mapping build ids become
// mapping attributes (process.executable.build_id.gnu, or .go for Go's).
//
// OTLP -> pprof: the OTLP Profiles of a scope that share time, duration,
// period and attributes merge back into one pprof with several sample
// types. Resource attributes (and profile attributes) become series labels:
// service.name -> service_name (unknown_service:<process.executable.name>
// when missing), other keys with '.' -> '_'. Sample attributes become
// sample labels, links trace_id/span_id labels (hex). Values are summed;
// samples with only timestamps count one per timestamp.
#ifndef STACKHOUSE_OTLP_OTLP_H_
#define STACKHOUSE_OTLP_OTLP_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb.h"
#include "profile/labels.h"
#include "profile/profile.h"

namespace stackhouse::otlp {

// The mapping attributes that carry build ids (GNU, Go, and the OTel
// profiler's file hash), in order of preference.
inline constexpr char kBuildIdGnu[] = "process.executable.build_id.gnu";
inline constexpr char kBuildIdGo[] = "process.executable.build_id.go";
inline constexpr char kBuildIdHtl[] = "process.executable.build_id.htlhash";

using ExportRequest = opentelemetry::proto::collector::profiles::v1development::ExportProfilesServiceRequest;
using ExportResponse = opentelemetry::proto::collector::profiles::v1development::ExportProfilesServiceResponse;

// Appends `p` to `req` as one ResourceProfiles whose resource has
// `resource` attributes (e.g. {"service.name", "api"}), extending the
// shared dictionary.
void AppendProfile(const profile::Profile& p, const std::vector<std::pair<std::string, std::string>>& resource,
                   ExportRequest* req);

struct Decoded {
  std::vector<profile::LabelPair> labels;  // series labels (service_name, ...)
  profile::Profile profile;
};

struct DecodeResult {
  std::vector<Decoded> profiles;
  int64_t rejected = 0;   // OTLP Profiles that could not be used
  std::string error;      // why the first of them was rejected
};

// Converts every OTLP Profile of an ExportProfilesServiceRequest in
// protobuf form, decoding the wire format directly (decode.cc). A profile
// with bad references (indexes outside the dictionary) is rejected and
// counted; the others go on. A malformed message is kInvalidArgument.
StatusOr<DecodeResult> DecodeExport(std::string_view protobuf);
// The same for a message (gRPC, tools).
DecodeResult FromOtlp(const ExportRequest& req);

// Parses an OTLP/HTTP body: protobuf (application/x-protobuf) or JSON
// (application/json, with hex trace, span and profile ids as OTLP/JSON
// has them), gzip-compressed when `content_encoding` is "gzip". Bodies over
// max_bytes once decompressed are kResourceExhausted, unknown content types
// kUnimplemented, malformed bodies kInvalidArgument.
StatusOr<ExportRequest> ParseRequest(std::string_view body, std::string_view content_type,
                                     std::string_view content_encoding, size_t max_bytes);
// The same, giving the request as protobuf bytes (for DecodeExport; the
// hot path: no message objects).
StatusOr<std::string> ReadRequestBody(std::string_view body, std::string_view content_type,
                                      std::string_view content_encoding, size_t max_bytes);

// The request as OTLP/JSON (hex ids, as ParseRequest reads them).
StatusOr<std::string> ToJson(const ExportRequest& req);

}  // namespace stackhouse::otlp

#endif  // STACKHOUSE_OTLP_OTLP_H_
