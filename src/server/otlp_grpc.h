// The OTLP/gRPC profiles receiver:
// opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export
// (default :4317), with gRPC's own gzip support, the tenant from the
// x-scope-orgid metadata, the same size limit and rate limits as HTTP, and
// OTLP's status codes (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE).
#ifndef STACKHOUSE_SERVER_OTLP_GRPC_H_
#define STACKHOUSE_SERVER_OTLP_GRPC_H_

#include <memory>
#include <string>

#include "base/status.h"

namespace stackhouse::server {

struct ServerContext;

class OtlpGrpcServer {
 public:
  explicit OtlpGrpcServer(ServerContext* ctx);
  ~OtlpGrpcServer();
  // Listens on "host:port" (port 0 picks one).
  Status Start(const std::string& addr);
  void Stop();
  int port() const { return port_; }

  class Impl;

 private:
  ServerContext* ctx_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_OTLP_GRPC_H_
