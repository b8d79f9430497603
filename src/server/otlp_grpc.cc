#include "server/otlp_grpc.h"

#include <grpcpp/grpcpp.h>

#include "base/log.h"
#include "base/strings.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.grpc.pb.h"
#include "server/server_internal.h"

namespace stackhouse::server {

namespace collector = opentelemetry::proto::collector::profiles::v1development;

class OtlpGrpcServer::Impl final : public collector::ProfilesService::Service {
 public:
  explicit Impl(ServerContext* ctx) : ctx_(ctx) {}

  grpc::Status Export(grpc::ServerContext* call, const otlp::ExportRequest* req, otlp::ExportResponse* resp) override {
    // The tenant, as over HTTP.
    std::string tenant = "anonymous";
    auto md = call->client_metadata().find("x-scope-orgid");
    if (ctx_->config.multitenancy && md != call->client_metadata().end()) {
      HttpRequest fake;
      fake.headers.push_back({"x-scope-orgid", std::string(md->second.data(), md->second.size())});
      auto t = TenantOf(*ctx_, fake);
      if (!t.ok()) return Reject(grpc::StatusCode::INVALID_ARGUMENT, t.status().message(), RejectReason::kBadRequest);
      tenant = *t;
    }
    const size_t bytes = req->ByteSizeLong();
    int retry_after = 0;
    if (!ctx_->limiter->Allow(tenant, static_cast<double>(bytes), &retry_after)) {
      return Reject(grpc::StatusCode::RESOURCE_EXHAUSTED,
                    StrCat("tenant ", Quote(tenant), " is over its ingestion rate; retry after ", retry_after, " s"),
                    RejectReason::kRateLimited);
    }
    Status s = ExportOtlp(ctx_, tenant, otlp::FromOtlp(*req), resp, bytes);
    if (s.ok()) return grpc::Status::OK;
    switch (s.code()) {
      case StatusCode::kInvalidArgument:
        return Reject(grpc::StatusCode::INVALID_ARGUMENT, s.message(), RejectReason::kBadRequest);
      case StatusCode::kResourceExhausted:
        return Reject(grpc::StatusCode::RESOURCE_EXHAUSTED, s.message(), RejectReason::kSeriesLimit);
      default:
        return Reject(grpc::StatusCode::UNAVAILABLE, s.message(), RejectReason::kUnavailable);
    }
  }

 private:
  grpc::Status Reject(grpc::StatusCode code, const std::string& message, RejectReason reason) {
    ctx_->rejected[static_cast<int>(reason)]->Inc();
    return grpc::Status(code, message);
  }

  ServerContext* ctx_;

 public:
  std::unique_ptr<grpc::Server> server;
};

OtlpGrpcServer::OtlpGrpcServer(ServerContext* ctx) : ctx_(ctx) {}

OtlpGrpcServer::~OtlpGrpcServer() { Stop(); }

Status OtlpGrpcServer::Start(const std::string& addr) {
  impl_ = std::make_unique<Impl>(ctx_);
  std::string host;
  int port = 0;
  SH_RETURN_IF_ERROR(SplitHostPort(addr, &host, &port));
  std::string listen = StrCat(host.empty() ? "0.0.0.0" : host == "localhost" ? "127.0.0.1" : host, ":", port);
  grpc::ServerBuilder b;
  b.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port_);
  b.RegisterService(impl_.get());
  // OTLP's recommended limit, applied after decompression by gRPC.
  b.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(ctx_->config.max_decompressed_bytes, INT32_MAX)));
  b.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 2);
  impl_->server = b.BuildAndStart();
  if (impl_->server == nullptr || port_ == 0) {
    impl_.reset();
    port_ = 0;
    return UnavailableError(StrCat("cannot listen for OTLP/gRPC on ", listen));
  }
  return OkStatus();
}

void OtlpGrpcServer::Stop() {
  if (impl_ && impl_->server) {
    impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    impl_->server->Wait();
  }
  impl_.reset();
  port_ = 0;
}

}  // namespace stackhouse::server
