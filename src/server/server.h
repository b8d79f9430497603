// Server: `stackhouse server`, the Pyroscope-compatible ingest and query
// APIs over the embedded store.
//
//   POST /ingest, /pyroscope/ingest          Pyroscope's legacy ingest
//   POST /push.v1.PusherService/Push         Connect push (SDKs, Alloy)
//   GET  /pyroscope/render, /render-diff     flamebearer JSON (+ timelines)
//   GET  /pyroscope/label-values             label values / profile types
//   POST /querier.v1.QuerierService/<Method> Connect querier (Grafana, profilecli)
//   GET  /metrics, /ready, /healthz
//
// The tenant of a request is its X-Scope-OrgID header ("anonymous" when
// absent). An acknowledged write (200) is durable: the store syncs its WAL
// (group commit) before the handler answers.
#ifndef STACKHOUSE_SERVER_SERVER_H_
#define STACKHOUSE_SERVER_SERVER_H_

#include <chrono>
#include <memory>

#include "base/status.h"
#include "server/config.h"

namespace stackhouse::tsdb {
class Store;
}  // namespace stackhouse::tsdb

namespace stackhouse::server {

class OtlpGrpcServer;
class Scraper;

struct ServerContext;
class HttpServer;
struct HttpServerOptions;

// The main port's HTTP server options, as `config` sets them (the address
// from http_addr, threads, connections, timeouts, body limit).
StatusOr<HttpServerOptions> MainHttpOptions(const ServerConfig& config);

class Server {
 public:
  // Opens the store under config.data_dir (replaying its WAL).
  static StatusOr<std::unique_ptr<Server>> Open(const ServerConfig& config);
  ~Server();  // Stop()

  // Binds config.http_addr and serves on background threads.
  Status Start();
  // The bound port (useful with port 0).
  int port() const;
  // The OTLP/HTTP and OTLP/gRPC ports, or 0 when not listening there.
  int otlp_http_port() const;
  int otlp_grpc_port() const;

  // Graceful stop: /ready turns 503, requests in flight finish (up to
  // `grace`), then the store is closed with everything acknowledged durable.
  // Idempotent.
  Status Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  tsdb::Store* store();

 private:
  Server();
  std::unique_ptr<ServerContext> ctx_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<HttpServer> otlp_http_;
  std::unique_ptr<OtlpGrpcServer> otlp_grpc_;
  std::unique_ptr<Scraper> scraper_;
  bool stopped_ = false;
};

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_SERVER_H_
