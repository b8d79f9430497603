// Ingest handlers: Pyroscope's POST /ingest and the Connect push API.
#include <string>
#include <vector>

#include "api/push/v1/push.pb.h"
#include "base/strings.h"
#include "base/time_parse.h"
#include "profile/pprof.h"
#include "server/server_internal.h"

namespace stackhouse::server {

namespace {

void CountIngested(ServerContext* ctx, const profile::Profile& p, size_t bytes) {
  ctx->profiles_ingested->Inc();
  ctx->bytes_ingested->Inc(static_cast<double>(bytes));
  ctx->samples_ingested->Inc(static_cast<double>(p.samples.size()));
}

void HandleIngest(ServerContext* ctx, const HttpRequest& req, HttpResponse* resp) {
  if (!AllowMethod(req, "POST", resp)) return;
  auto tenant = TenantOf(*ctx, req);
  if (!tenant.ok()) return RejectIngest(ctx, resp, tenant.status());
  if (!AdmitIngest(ctx, *tenant, req.body.size(), resp)) return;
  ingest::IngestInput in;
  in.name = req.Query("name");
  in.from = req.Query("from");
  in.until = req.Query("until");
  in.format = req.Query("format");
  in.sample_rate = req.Query("sampleRate");
  in.spy_name = req.Query("spyName");
  in.units = req.Query("units");
  in.aggregation_type = req.Query("aggregationType");
  in.content_type = req.Header("content-type");
  in.body = req.body;
  in.now_nanos = NowNanos();
  auto parsed = ingest::ParseIngest(in, ctx->ingest_limits);
  if (!parsed.ok()) return RejectIngest(ctx, resp, AsTooLarge(parsed.status()));
  // Every profile is appended, then the answer waits once, for the last.
  auto ticket = ctx->store->AppendNoWait(*tenant, parsed->labels, parsed->profile,
                                         parsed->time_nanos, parsed->duration_nanos);
  for (size_t i = 0; ticket.ok() && i < parsed->more.size(); ++i) {
    const ingest::IngestedProfile& m = parsed->more[i];
    ticket = ctx->store->AppendNoWait(*tenant, m.labels, m.profile, m.time_nanos, m.duration_nanos);
  }
  if (!ticket.ok()) return RejectIngest(ctx, resp, ticket.status());
  CountIngested(ctx, parsed->profile, req.body.size());
  resp->status = 200;
  resp->body.clear();
  AcknowledgeWhenDurable(ctx, *ticket, resp);
}

struct DecodedSample {
  const profile::LabelSet* labels;
  profile::Profile profile;
  size_t bytes;
};

// Push: every sample is decoded and checked before anything is stored, so a
// request with one bad profile stores nothing.
Status Push(ServerContext* ctx, const std::string& tenant, const push::v1::PushRequest& req,
            push::v1::PushResponse*, uint64_t* ticket) {
  std::vector<profile::LabelSet> label_sets;
  label_sets.reserve(req.series_size());
  std::vector<DecodedSample> samples;
  profile::PprofDecodeOptions opt;
  opt.max_decompressed_bytes = ctx->ingest_limits.max_decompressed_bytes;
  for (int i = 0; i < req.series_size(); ++i) {
    const push::v1::RawProfileSeries& series = req.series(i);
    std::vector<profile::LabelPair> pairs;
    for (const auto& lp : series.labels()) pairs.push_back({lp.name(), lp.value()});
    auto labels = profile::LabelSet::FromPairs(std::move(pairs));
    if (!labels.ok()) return labels.status().WithPrefix(StrCat("series ", i, ": labels"));
    if (!labels->Has("service_name")) *labels = labels->With("service_name", "unknown_service");
    label_sets.push_back(std::move(*labels));
  }
  for (int i = 0; i < req.series_size(); ++i) {
    for (int j = 0; j < req.series(i).samples_size(); ++j) {
      const std::string& raw = req.series(i).samples(j).raw_profile();
      if (raw.empty()) {
        return InvalidArgumentError(StrCat("series ", i, " sample ", j, ": empty raw_profile"));
      }
      auto p = profile::DecodePprof(raw, opt);
      if (!p.ok()) return AsTooLarge(p.status().WithPrefix(StrCat("series ", i, " sample ", j)));
      samples.push_back({&label_sets[i], std::move(*p), raw.size()});
    }
  }
  // Every profile is appended, then the answer waits once, for the last.
  for (const DecodedSample& s : samples) {
    SH_ASSIGN_OR_RETURN(*ticket, ctx->store->AppendNoWait(tenant, *s.labels, s.profile));
    CountIngested(ctx, s.profile, s.bytes);
  }
  return OkStatus();
}

}  // namespace

void RegisterIngestHandlers(ServerContext* ctx, HttpServer* http) {
  auto ingest = [ctx](const HttpRequest& req, HttpResponse* resp) { HandleIngest(ctx, req, resp); };
  // Both compute and defer their answer to the fsync: the CPU pool.
  http->Handle("/ingest", ingest, HandlerPool::kCpu);
  http->Handle("/pyroscope/ingest", ingest, HandlerPool::kCpu);
  HandleConnectIngest<push::v1::PushRequest, push::v1::PushResponse>(
      ctx, http, "/push.v1.PusherService/Push",
      [ctx](const std::string& tenant, const push::v1::PushRequest& req,
            push::v1::PushResponse* resp,
            uint64_t* ticket) { return Push(ctx, tenant, req, resp, ticket); });
}

}  // namespace stackhouse::server
