#include "server/server.h"

#include "server/otlp_grpc.h"
#include "server/scraper.h"

#include <google/protobuf/message.h>

#include <chrono>

#include "base/log.h"
#include "base/strings.h"
#include "server/http.h"
#include "server/server_internal.h"
#include "server/static_files.h"

namespace stackhouse::server {

namespace {

constexpr const char* kRejectReasonNames[] = {"bad_request", "too_large",   "rate_limited",
                                              "series_limit", "unsupported", "unavailable",
                                              "internal"};
static_assert(std::size(kRejectReasonNames) == static_cast<size_t>(RejectReason::kCount));

bool IsTenantChar(char c) {
  return isalnum(static_cast<unsigned char>(c)) || c == '!' || c == '-' || c == '_' ||
         c == '.' || c == '*' || c == '\'' || c == '(' || c == ')';
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// --- shared helpers ----------------------------------------------------------------

Histogram* ServerContext::QueryLatency(const std::string& endpoint) {
  return metrics.GetHistogram("stackhouse_query_duration_seconds",
                              "Latency of query requests by endpoint.",
                              ExponentialBuckets(0.001, 2, 16), {{"endpoint", endpoint}});
}

StatusOr<std::string> TenantOf(const ServerContext& ctx, const HttpRequest& req) {
  std::string_view id = req.Header("x-scope-orgid");
  if (!ctx.config.multitenancy || id.empty()) return std::string("anonymous");
  if (id.size() > 150) return InvalidArgumentError("X-Scope-OrgID is longer than 150 bytes");
  if (id == "." || id == "..") return InvalidArgumentError("X-Scope-OrgID cannot be . or ..");
  for (char c : id) {
    if (!IsTenantChar(c)) {
      return InvalidArgumentError(StrCat("X-Scope-OrgID ", Quote(id),
                                         " has a character outside [A-Za-z0-9!_.*'()-]"));
    }
  }
  return std::string(id);
}

int IngestHttpStatus(const Status& s, RejectReason* reason) {
  auto set = [&](RejectReason r, int status) {
    if (reason != nullptr) *reason = r;
    return status;
  };
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return set(RejectReason::kBadRequest, 400);
    case StatusCode::kOutOfRange:
      return set(RejectReason::kTooLarge, 413);
    case StatusCode::kResourceExhausted:
      return set(RejectReason::kSeriesLimit, 429);
    case StatusCode::kUnimplemented:
      return set(RejectReason::kUnsupported, 422);
    case StatusCode::kUnavailable:
      return set(RejectReason::kUnavailable, 503);
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return set(RejectReason::kInternal, 500);
    default:
      return set(RejectReason::kInternal, 422);
  }
}

void WriteError(HttpResponse* resp, int http_status, const Status& s) {
  SetJsonError(resp, http_status, api::ConnectCode(s.code()), s.message());
}

void RejectIngest(ServerContext* ctx, HttpResponse* resp, const Status& s) {
  RejectReason reason;
  int status = IngestHttpStatus(s, &reason);
  ctx->rejected[static_cast<int>(reason)]->Inc();
  WriteError(resp, status, s);
  if (status >= 500) LogWarn("ingest failed", {{"status", status}, {"error", s.message()}});
}

bool AdmitIngest(ServerContext* ctx, const std::string& tenant, size_t bytes, HttpResponse* resp) {
  int retry_after = 0;
  if (ctx->limiter->Allow(tenant, static_cast<double>(bytes), &retry_after)) return true;
  ctx->rejected[static_cast<int>(RejectReason::kRateLimited)]->Inc();
  SetJsonError(resp, 429, "resource_exhausted",
               StrCat("tenant ", Quote(tenant), " is over its ingestion rate of ",
                      ctx->config.ingestion_rate_mb, " MB/s; retry after ", retry_after, " s"));
  resp->headers.push_back({"Retry-After", std::to_string(retry_after)});
  return false;
}

Status AsTooLarge(Status s) {
  if (s.code() == StatusCode::kResourceExhausted) return Status(StatusCode::kOutOfRange, s.message());
  return s;
}

void HandleConnect(ServerContext* ctx, HttpServer* http, const std::string& path,
                   std::function<std::unique_ptr<google::protobuf::Message>()> new_request,
                   std::function<std::unique_ptr<google::protobuf::Message>()> new_response,
                   std::function<Status(const std::string&, const google::protobuf::Message&,
                                        google::protobuf::Message*, uint64_t*)>
                       fn,
                   bool is_query) {
  Histogram* latency = is_query ? ctx->QueryLatency(path) : nullptr;
  // Ingest computes and defers its answer to the fsync: the CPU pool.
  const HandlerPool pool = is_query ? HandlerPool::kGeneral : HandlerPool::kCpu;
  http->Handle(path, [=](const HttpRequest& req, HttpResponse* resp) {
    auto start = std::chrono::steady_clock::now();
    auto fail = [&](const Status& s) {
      if (!is_query) {
        RejectIngest(ctx, resp, s);
      } else {
        api::ConnectError e = api::ToConnectError(s);
        resp->status = e.http_status;
        resp->content_type = "application/json";
        resp->body = std::move(e.body);
      }
    };
    if (!AllowMethod(req, "POST", resp)) return;
    auto codec = api::CodecForContentType(req.Header("content-type"));
    if (!codec.ok()) {
      api::ConnectError e = api::UnsupportedMediaTypeError(codec.status());
      if (!is_query) ctx->rejected[static_cast<int>(RejectReason::kUnsupported)]->Inc();
      resp->status = e.http_status;
      resp->content_type = "application/json";
      resp->body = std::move(e.body);
      return;
    }
    auto tenant = TenantOf(*ctx, req);
    if (!tenant.ok()) return fail(tenant.status());
    if (!is_query && !AdmitIngest(ctx, *tenant, req.body.size(), resp)) return;
    std::unique_ptr<google::protobuf::Message> request = new_request();
    Status s = api::DecodeConnectRequest(*codec, req.body, req.Header("content-encoding"),
                                         request.get(), ctx->ingest_limits.max_decompressed_bytes);
    if (!s.ok()) return fail(AsTooLarge(s));
    std::unique_ptr<google::protobuf::Message> response = new_response();
    uint64_t ticket = 0;
    s = fn(*tenant, *request, response.get(), &ticket);
    if (!s.ok()) return fail(s);
    resp->content_type = api::ConnectContentType(*codec);
    resp->body = api::EncodeConnectResponse(*codec, *response);
    if (latency != nullptr) latency->Observe(SecondsSince(start));
    AcknowledgeWhenDurable(ctx, ticket, resp);
  }, pool);
}

void AcknowledgeWhenDurable(ServerContext* ctx, uint64_t ticket, HttpResponse* resp,
                            DurabilityErrorWriter write_error) {
  if (ticket == 0) return;
  if (!write_error) {
    write_error = [ctx](HttpResponse* r, const Status& s) { RejectIngest(ctx, r, s); };
  }
  resp->defer = [ctx, ticket, write_error = std::move(write_error)](HttpResponder responder) {
    ctx->store->WhenDurable(ticket, [write_error, responder](Status s) mutable {
      if (!s.ok()) {
        *responder.response() = HttpResponse();
        write_error(responder.response(), s);
      }
      responder.Send();
    });
  };
}

// --- Server --------------------------------------------------------------------------

Server::Server() : ctx_(std::make_unique<ServerContext>()) {}

Server::~Server() { Stop().ok(); }

StatusOr<std::unique_ptr<Server>> Server::Open(const ServerConfig& config) {
  std::unique_ptr<Server> server(new Server());
  ServerContext* ctx = server->ctx_.get();
  ctx->config = config;
  ctx->limiter = std::make_unique<RateLimiter>(config.ingestion_rate_mb * 1e6,
                                               config.ingestion_burst_mb * 1e6);
  ctx->query_limits.max_range_ns = config.max_query_range_ns;
  ctx->query_limits.default_max_nodes = static_cast<size_t>(config.max_nodes_default);
  ctx->query_limits.max_nodes_limit = static_cast<size_t>(config.max_nodes_limit);
  ctx->ingest_limits.max_decompressed_bytes = static_cast<size_t>(config.max_decompressed_bytes);

  MetricsRegistry& m = ctx->metrics;
  ctx->profiles_ingested = m.GetCounter("stackhouse_ingest_profiles_total",
                                        "Profiles ingested (acknowledged).");
  ctx->bytes_ingested = m.GetCounter("stackhouse_ingest_bytes_total",
                                     "Request body bytes of acknowledged ingest requests.");
  ctx->samples_ingested = m.GetCounter("stackhouse_ingest_samples_total",
                                       "Samples of the profiles ingested.");
  for (int r = 0; r < static_cast<int>(RejectReason::kCount); ++r) {
    ctx->rejected[r] = m.GetCounter("stackhouse_ingest_rejected_total",
                                    "Ingest requests rejected, by reason.",
                                    {{"reason", kRejectReasonNames[r]}});
  }
  ctx->wal_sync_seconds = m.GetHistogram("stackhouse_wal_sync_duration_seconds",
                                         "Latency of WAL syncs (fdatasync, group commit).",
                                         ExponentialBuckets(0.0001, 2, 16));

  tsdb::StoreOptions o;
  o.dir = config.data_dir;
  o.retention = config.retention_ns;
  o.head_block_duration = config.head_block_duration_ns;
  o.head_max_bytes = static_cast<size_t>(config.head_max_bytes);
  o.limits.max_labels_per_series = static_cast<size_t>(config.max_labels_per_series);
  o.limits.max_label_name_length = static_cast<size_t>(config.max_label_name_length);
  o.limits.max_label_value_length = static_cast<size_t>(config.max_label_value_length);
  o.limits.max_samples_per_profile = static_cast<size_t>(config.max_samples_per_profile);
  o.limits.max_series_per_tenant = static_cast<size_t>(config.max_series_per_tenant);
  o.log = [](const std::string& line) { LogInfo(line); };
  Histogram* sync = ctx->wal_sync_seconds;
  o.wal_sync_observer = [sync](double seconds) { sync->Observe(seconds); };
  auto store = tsdb::Store::Open(std::move(o));
  if (!store.ok()) return store.status().WithPrefix(StrCat("opening the store in ", config.data_dir));
  ctx->store = std::move(*store);

  tsdb::Store* st = ctx->store.get();
  m.AddGaugeCallback("stackhouse_head_series", "Series in the head block.",
                     [st] { return static_cast<double>(st->stats().head_series); });
  m.AddGaugeCallback("stackhouse_head_profiles", "Profiles in the head block.",
                     [st] { return static_cast<double>(st->stats().head_profiles); });
  m.AddGaugeCallback("stackhouse_head_bytes", "Memory of the head block in bytes.",
                     [st] { return static_cast<double>(st->stats().head_bytes); });
  m.AddGaugeCallback("stackhouse_blocks", "Persistent blocks.",
                     [st] { return static_cast<double>(st->stats().blocks); });
  m.AddGaugeCallback("stackhouse_block_bytes", "Bytes of the persistent blocks.",
                     [st] { return static_cast<double>(st->stats().block_bytes); });
  m.AddGaugeCallback("stackhouse_compactions_total", "Compactions since start.",
                     [st] { return static_cast<double>(st->stats().compactions); });
  return server;
}

namespace {

// Sets the address and port a server listens on from "host:port" (an empty
// host: every interface).
Status SetListenAddress(const std::string& addr, HttpServerOptions* o) {
  std::string host;
  SH_RETURN_IF_ERROR(SplitHostPort(addr, &host, &o->port));
  o->address = host.empty() ? "0.0.0.0" : host == "localhost" ? "127.0.0.1" : host;
  return OkStatus();
}

}  // namespace

StatusOr<HttpServerOptions> MainHttpOptions(const ServerConfig& c) {
  HttpServerOptions ho;
  SH_RETURN_IF_ERROR(SetListenAddress(c.http_addr, &ho));
  ho.io_threads = static_cast<int>(c.http_threads);
  ho.worker_threads = static_cast<int>(c.worker_threads);
  ho.cpu_worker_threads = static_cast<int>(c.ingest_threads);
  ho.max_connections = static_cast<size_t>(c.max_connections);
  ho.idle_timeout_s = static_cast<int>(c.read_timeout_s);
  ho.max_body_bytes = static_cast<size_t>(c.max_body_bytes);
  return ho;
}

Status Server::Start() {
  ServerContext* ctx = ctx_.get();
  const ServerConfig& c = ctx->config;
  SH_ASSIGN_OR_RETURN(HttpServerOptions ho, MainHttpOptions(c));
  http_ = std::make_unique<HttpServer>(ho);

  RegisterIngestHandlers(ctx, http_.get());
  RegisterRenderHandlers(ctx, http_.get());
  RegisterQuerierHandlers(ctx, http_.get());
  RegisterOtlpHandlers(ctx, http_.get());
  // The web UI at /, and the JSON 404 for any other unknown path.
  std::string ui_dir = c.ui_dir.empty() ? StaticFiles::FindDefaultDir() : c.ui_dir;
  if (!ui_dir.empty()) {
    auto ui = StaticFiles::Load(ui_dir);
    if (!ui.ok()) {
      if (!c.ui_dir.empty()) return ui.status();
      LogWarn("web UI not served", {{"error", ui.status().message()}});
      http_->HandlePrefix("/", ServeMissingUi);
    } else {
      LogInfo("serving the web UI", {{"dir", ui_dir}, {"files", static_cast<int64_t>(ui->size())}});
      auto files = std::make_shared<StaticFiles>(std::move(*ui));
      files->set_first_query([ctx](HttpRequest query) { ctx->early_queries->Start(std::move(query)); });
      http_->HandlePrefix("/", [files](const HttpRequest& req, HttpResponse* resp) {
        files->Serve(req, resp);
      });
    }
  } else {
    LogWarn("web UI not built: / explains how to build it");
    http_->HandlePrefix("/", ServeMissingUi);
  }
  http_->Handle("/metrics", [ctx](const HttpRequest&, HttpResponse* resp) {
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp->body = ctx->metrics.Render();
  });
  // Pull mode: its targets' health at /api/v1/targets (also without scrape_configs: an empty list).
  scraper_ = std::make_unique<Scraper>(ctx);
  Scraper* scraper = scraper_.get();
  http_->Handle("/api/v1/targets", [scraper](const HttpRequest&, HttpResponse* resp) {
    resp->content_type = "application/json";
    resp->body = scraper->TargetsJson();
  });
  http_->Handle("/healthz", [](const HttpRequest&, HttpResponse* resp) { resp->body = "ok\n"; });
  http_->Handle("/ready", [ctx](const HttpRequest&, HttpResponse* resp) {
    Status h = ctx->store->Health();
    if (ctx->stopping.load()) h = UnavailableError("shutting down");
    if (!h.ok()) {
      resp->status = 503;
      resp->body = "not ready: " + h.message() + "\n";
      return;
    }
    resp->body = "ready\n";
  });
  HttpServer* http = http_.get();
  MetricsRegistry& m = ctx->metrics;
  m.AddGaugeCallback("stackhouse_http_connections", "Open HTTP connections.", [http] {
    return static_cast<double>(http->stats().active_connections);
  });
  m.AddGaugeCallback("stackhouse_http_requests_total", "HTTP requests received.",
                     [http] { return static_cast<double>(http->stats().requests); });
  m.AddGaugeCallback("stackhouse_http_rejected_too_large_total",
                     "Requests refused with 413 for their body size (HTTP layer).",
                     [http] { return static_cast<double>(http->stats().rejected_too_large); });
  m.AddGaugeCallback("stackhouse_http_rejected_busy_total",
                     "Requests refused with 503 because every worker was busy.",
                     [http] { return static_cast<double>(http->stats().rejected_busy); });
  m.AddGaugeCallback("stackhouse_http_timeouts_total",
                     "Connections cut off for a read timeout mid-request.",
                     [http] { return static_cast<double>(http->stats().timeouts); });

  SH_RETURN_IF_ERROR(http_->Start());
  LogInfo("listening", {{"addr", c.http_addr},
                        {"port", http_->port()},
                        {"data_dir", c.data_dir}});
  if (!c.otlp_http_addr.empty()) {
    HttpServerOptions oo = ho;
    SH_RETURN_IF_ERROR(SetListenAddress(c.otlp_http_addr, &oo));
    oo.io_threads = 1;
    otlp_http_ = std::make_unique<HttpServer>(oo);
    RegisterOtlpHandlers(ctx, otlp_http_.get());
    Status started = otlp_http_->Start();
    if (!started.ok()) {
      // The main port serves OTLP/HTTP too: go on without this one.
      LogWarn("OTLP/HTTP port not open; /v1development/profiles is served on the main port",
              {{"addr", c.otlp_http_addr}, {"error", started.message()}});
      otlp_http_.reset();
    } else {
      LogInfo("listening for OTLP/HTTP", {{"addr", c.otlp_http_addr}, {"port", otlp_http_->port()}});
    }
  }
  scraper_->Start();
  if (!c.otlp_grpc_addr.empty()) {
    otlp_grpc_ = std::make_unique<OtlpGrpcServer>(ctx);
    Status started = otlp_grpc_->Start(c.otlp_grpc_addr);
    if (!started.ok()) {
      LogWarn("OTLP/gRPC not served: its port could not be opened (use OTLP/HTTP on the main port, or set "
              "otlp.grpc_addr)",
              {{"addr", c.otlp_grpc_addr}, {"error", started.message()}});
      otlp_grpc_.reset();
    } else {
      LogInfo("listening for OTLP/gRPC", {{"addr", c.otlp_grpc_addr}, {"port", otlp_grpc_->port()}});
    }
  }
  return OkStatus();
}

int Server::port() const { return http_ ? http_->port() : 0; }

int Server::otlp_http_port() const { return otlp_http_ ? otlp_http_->port() : 0; }

int Server::otlp_grpc_port() const { return otlp_grpc_ ? otlp_grpc_->port() : 0; }

tsdb::Store* Server::store() { return ctx_->store.get(); }

Status Server::Stop(std::chrono::milliseconds grace) {
  if (stopped_) return OkStatus();
  stopped_ = true;
  ctx_->stopping.store(true);
  if (scraper_) scraper_->Stop();
  if (otlp_grpc_) otlp_grpc_->Stop();
  if (otlp_http_) otlp_http_->Stop(grace);
  if (http_) http_->Stop(grace);
  Status s = ctx_->store ? ctx_->store->Close() : OkStatus();
  LogInfo("stopped", {{"store_close", s.ok() ? std::string("ok") : s.message()}});
  return s;
}

}  // namespace stackhouse::server
