// OTLP profiles: POST /v1development/profiles (OTLP/HTTP, protobuf or JSON,
// optional gzip), on the main port and on the OTLP/HTTP port (:4318), and
// the export logic the gRPC receiver shares.
#include <string>
#include <vector>

#include "base/strings.h"
#include <google/protobuf/util/json_util.h>

#include "otlp/otlp.h"
#include "server/server_internal.h"

namespace stackhouse::server {

Status ExportOtlp(ServerContext* ctx, const std::string& tenant, const otlp::DecodeResult& r,
                  otlp::ExportResponse* resp, size_t bytes, uint64_t* wait_ticket) {
  // Labels are checked for every profile before anything is stored.
  struct Ready {
    profile::LabelSet labels;
    const profile::Profile* profile;
  };
  std::vector<Ready> ready;
  int64_t rejected = r.rejected;
  std::string error = r.error;
  for (const otlp::Decoded& d : r.profiles) {
    auto labels = profile::LabelSet::FromPairs(d.labels);
    if (!labels.ok()) {
      rejected += static_cast<int64_t>(d.profile.num_types());
      if (error.empty()) error = StrCat("labels: ", labels.status().message());
      continue;
    }
    ready.push_back({std::move(*labels), &d.profile});
  }
  if (ready.empty() && rejected > 0) return InvalidArgumentError(StrCat("no profile could be used: ", error));
  // Every profile is appended, then the export waits once, for the last.
  uint64_t ticket = 0;
  for (const Ready& x : ready) {
    auto appended = ctx->store->AppendNoWait(tenant, x.labels, *x.profile);
    Status s = appended.status();
    if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kInternal) return s;  // retry it all
    if (!s.ok()) {
      rejected += static_cast<int64_t>(x.profile->num_types());
      if (error.empty()) error = s.message();
      continue;
    }
    ticket = *appended;
    ctx->profiles_ingested->Inc();
    ctx->samples_ingested->Inc(static_cast<double>(x.profile->samples.size()));
  }
  if (wait_ticket != nullptr) {
    *wait_ticket = ticket;
  } else if (ticket != 0) {
    SH_RETURN_IF_ERROR(ctx->store->WaitDurable(ticket));
  }
  ctx->bytes_ingested->Inc(static_cast<double>(bytes));
  if (rejected > 0) {
    resp->mutable_partial_success()->set_rejected_profiles(rejected);
    resp->mutable_partial_success()->set_error_message(error);
  }
  return OkStatus();
}

namespace {

// google.rpc.Status {code = 1, message = 2}, as OTLP/HTTP error bodies are.
std::string RpcStatusProto(int code, const std::string& message) {
  std::string out;
  out.push_back(0x08);
  out.push_back(static_cast<char>(code));
  out.push_back(0x12);
  size_t n = message.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  out += message;
  return out;
}

// The gRPC code of a status (OTLP's HTTP errors carry it in google.rpc.Status).
int GrpcCode(StatusCode c) { return static_cast<int>(c); }

void WriteOtlpError(ServerContext* ctx, HttpResponse* resp, bool json, int http_status, const Status& s,
                    RejectReason reason) {
  ctx->rejected[static_cast<int>(reason)]->Inc();
  resp->status = http_status;
  if (json) {
    std::string body = "{\"code\":";
    body += std::to_string(GrpcCode(s.code()));
    body += ",\"message\":\"";
    AppendJsonEscaped(&body, s.message());
    body += "\"}";
    resp->content_type = "application/json";
    resp->body = std::move(body);
  } else {
    resp->content_type = "application/x-protobuf";
    resp->body = RpcStatusProto(GrpcCode(s.code()), s.message());
  }
}

void HandleOtlpHttp(ServerContext* ctx, const HttpRequest& req, HttpResponse* resp) {
  const bool json = AsciiLower(req.Header("content-type")).starts_with("application/json");
  if (req.method != "POST") {
    resp->headers.push_back({"Allow", "POST"});
    return WriteOtlpError(ctx, resp, json, 405, InvalidArgumentError("use POST"), RejectReason::kBadRequest);
  }
  auto tenant = TenantOf(*ctx, req);
  if (!tenant.ok()) return WriteOtlpError(ctx, resp, json, 400, tenant.status(), RejectReason::kBadRequest);
  if (!AdmitIngest(ctx, *tenant, req.body.size(), resp)) return;  // 429 with Retry-After
  auto body = otlp::ReadRequestBody(req.body, req.Header("content-type"), req.Header("content-encoding"),
                                    static_cast<size_t>(ctx->config.max_decompressed_bytes));
  auto parsed = body.ok() ? otlp::DecodeExport(*body) : StatusOr<otlp::DecodeResult>(body.status());
  if (!parsed.ok()) {
    switch (parsed.status().code()) {
      case StatusCode::kResourceExhausted:
        return WriteOtlpError(ctx, resp, json, 413, parsed.status(), RejectReason::kTooLarge);
      case StatusCode::kUnimplemented:
        return WriteOtlpError(ctx, resp, json, 415, parsed.status(), RejectReason::kUnsupported);
      default:
        return WriteOtlpError(ctx, resp, json, 400, parsed.status(), RejectReason::kBadRequest);
    }
  }
  otlp::ExportResponse out;
  uint64_t ticket = 0;
  Status s = ExportOtlp(ctx, *tenant, *parsed, &out, req.body.size(), &ticket);
  if (!s.ok()) {
    switch (s.code()) {
      case StatusCode::kInvalidArgument:
        return WriteOtlpError(ctx, resp, json, 400, s, RejectReason::kBadRequest);
      case StatusCode::kResourceExhausted:  // the tenant's series limit
        return WriteOtlpError(ctx, resp, json, 429, s, RejectReason::kSeriesLimit);
      default:
        return WriteOtlpError(ctx, resp, json, 503, s, RejectReason::kUnavailable);
    }
  }
  resp->status = 200;
  if (json) {
    auto j = google::protobuf::util::MessageToJsonString(out, &resp->body);
    if (!j.ok()) resp->body = "{}";
    resp->content_type = "application/json";
  } else {
    resp->body = out.SerializeAsString();
    resp->content_type = "application/x-protobuf";
  }
  AcknowledgeWhenDurable(ctx, ticket, resp, [ctx, json](HttpResponse* r, const Status& s) {
    WriteOtlpError(ctx, r, json, 503, s, RejectReason::kUnavailable);
  });
}

}  // namespace

void RegisterOtlpHandlers(ServerContext* ctx, HttpServer* http) {
  // It computes and defers its answer to the fsync: the CPU pool.
  http->Handle(
      "/v1development/profiles",
      [ctx](const HttpRequest& req, HttpResponse* resp) { HandleOtlpHttp(ctx, req, resp); },
      HandlerPool::kCpu);
}

}  // namespace stackhouse::server
