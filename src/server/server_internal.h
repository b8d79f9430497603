// What the handlers of `stackhouse server` share: the store, limits, metrics
// and helpers for tenants, errors and Connect calls. Internal to src/server.
#ifndef STACKHOUSE_SERVER_SERVER_INTERNAL_H_
#define STACKHOUSE_SERVER_SERVER_INTERNAL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/connect.h"
#include "base/status.h"
#include "ingest/pyroscope_ingest.h"
#include "otlp/otlp.h"
#include "query/query.h"
#include "server/config.h"
#include "server/early_queries.h"
#include "server/http.h"
#include "server/metrics.h"
#include "server/rate_limiter.h"
#include "tsdb/store.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace stackhouse::server {

// Reasons of rejected ingest requests (label "reason" of
// stackhouse_ingest_rejected_total).
enum class RejectReason {
  kBadRequest,    // 400: malformed name, time, body, labels
  kTooLarge,      // 413: body, decompressed size or samples over a limit
  kRateLimited,   // 429: the tenant's ingestion rate
  kSeriesLimit,   // 429: the tenant's series limit
  kUnsupported,   // 415/422: content type or format not supported
  kUnavailable,   // 503: the store cannot write
  kInternal,      // 500
  kCount
};

struct ServerContext {
  ServerConfig config;
  std::unique_ptr<tsdb::Store> store;
  MetricsRegistry metrics;
  std::unique_ptr<RateLimiter> limiter;
  query::QueryLimits query_limits;
  ingest::IngestLimits ingest_limits;
  std::atomic<bool> stopping{false};

  // Metrics updated on the hot path.
  Counter* profiles_ingested = nullptr;
  Counter* bytes_ingested = nullptr;
  Counter* samples_ingested = nullptr;
  Counter* rejected[static_cast<int>(RejectReason::kCount)] = {};
  Histogram* wal_sync_seconds = nullptr;

  // The query latency histogram of one endpoint.
  Histogram* QueryLatency(const std::string& endpoint);

  // Render queries of flame-graph pages, started when the page is served
  // (early_queries.h). Last: destroyed first, waiting for running queries.
  std::unique_ptr<EarlyQueries> early_queries;
};

// The tenant of a request: X-Scope-OrgID, or "anonymous" when absent or
// when multi-tenancy is off. Tenant IDs follow Cortex's rules (1..150 bytes
// of [A-Za-z0-9!_.*'()-], not "." or ".."); others are kInvalidArgument.
StatusOr<std::string> TenantOf(const ServerContext& ctx, const HttpRequest& req);

// The HTTP status for an error of the ingest path (parsing and storing), and
// the reason counted in the metrics.
int IngestHttpStatus(const Status& s, RejectReason* reason);
// Writes the Pyroscope-style JSON error {"code": <connect code>, "message"}.
void WriteError(HttpResponse* resp, int http_status, const Status& s);
// Counts a rejected ingest request and writes its error.
void RejectIngest(ServerContext* ctx, HttpResponse* resp, const Status& s);
// Takes `bytes` from the tenant's ingestion rate budget; when it is spent,
// answers 429 with Retry-After, counts the reject and returns false.
bool AdmitIngest(ServerContext* ctx, const std::string& tenant, size_t bytes, HttpResponse* resp);
// For errors of parsing a body: one that decompresses past the limit is
// "too large" (413), not a quota (429).
Status AsTooLarge(Status s);

// Registers the handler of a Connect unary method at /<service>/<method>:
// POST only, content type and codec negotiation, gzip request bodies, errors
// as Connect JSON. `fn` fills `response` from `request`.
template <typename Req, typename Resp>
using ConnectMethod = std::function<Status(const std::string& tenant, const Req& request,
                                           Resp* response)>;
// An ingest method also sets `ticket` to the store's ticket of its last
// append (0: nothing to wait for); the response goes out once it is durable.
template <typename Req, typename Resp>
using ConnectIngestMethod = std::function<Status(const std::string& tenant, const Req& request,
                                                 Resp* response, uint64_t* ticket)>;
void HandleConnect(ServerContext* ctx, HttpServer* http, const std::string& path,
                   std::function<std::unique_ptr<google::protobuf::Message>()> new_request,
                   std::function<std::unique_ptr<google::protobuf::Message>()> new_response,
                   std::function<Status(const std::string& tenant,
                                        const google::protobuf::Message& request,
                                        google::protobuf::Message* response, uint64_t* ticket)>
                       fn,
                   bool is_query);

template <typename Req, typename Resp>
void HandleConnectTyped(ServerContext* ctx, HttpServer* http, const std::string& path,
                        ConnectMethod<Req, Resp> fn) {
  HandleConnect(
      ctx, http, path, [] { return std::make_unique<Req>(); },
      [] { return std::make_unique<Resp>(); },
      [fn](const std::string& tenant, const google::protobuf::Message& req,
           google::protobuf::Message* resp, uint64_t*) {
        return fn(tenant, static_cast<const Req&>(req), static_cast<Resp*>(resp));
      },
      /*is_query=*/true);
}

template <typename Req, typename Resp>
void HandleConnectIngest(ServerContext* ctx, HttpServer* http, const std::string& path,
                         ConnectIngestMethod<Req, Resp> fn) {
  HandleConnect(
      ctx, http, path, [] { return std::make_unique<Req>(); },
      [] { return std::make_unique<Resp>(); },
      [fn](const std::string& tenant, const google::protobuf::Message& req,
           google::protobuf::Message* resp, uint64_t* ticket) {
        return fn(tenant, static_cast<const Req&>(req), static_cast<Resp*>(resp), ticket);
      },
      /*is_query=*/false);
}

// Makes `resp` go out once the store's `ticket` is durable, without holding
// the worker thread through the fsync; if it cannot be, `write_error`
// (default: RejectIngest) replaces it. Nothing to wait for when ticket is 0.
using DurabilityErrorWriter = std::function<void(HttpResponse*, const Status&)>;
void AcknowledgeWhenDurable(ServerContext* ctx, uint64_t ticket, HttpResponse* resp,
                            DurabilityErrorWriter write_error = {});

// Handlers, by file.
void RegisterIngestHandlers(ServerContext* ctx, HttpServer* http);   // ingest_handlers.cc
void RegisterRenderHandlers(ServerContext* ctx, HttpServer* http);   // render_handlers.cc
void RegisterQuerierHandlers(ServerContext* ctx, HttpServer* http);  // querier_handlers.cc
void RegisterOtlpHandlers(ServerContext* ctx, HttpServer* http);     // otlp_handlers.cc

// Stores the profiles of an OTLP export (HTTP and gRPC): rejected ones are
// counted in resp's partial_success; an error means nothing was stored
// (kInvalidArgument: nothing usable; kResourceExhausted: the series limit;
// kUnavailable: retry). Returns once the profiles are durable, or, with
// `ticket`, at once, setting it to the store ticket to wait for (0: none).
Status ExportOtlp(ServerContext* ctx, const std::string& tenant, const otlp::DecodeResult& decoded,
                  otlp::ExportResponse* resp, size_t bytes, uint64_t* ticket = nullptr);

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_SERVER_INTERNAL_H_
