// Pyroscope's HTTP query API: /pyroscope/render, /render-diff, /label-values
// and /labels (flamebearer JSON and JSON arrays).
#include <chrono>
#include <set>
#include <string>

#include "base/strings.h"
#include "base/time_parse.h"
#include "query/explain.h"
#include "tsdb/merge.h"
#include "server/server_internal.h"

namespace stackhouse::server {

namespace {

void WriteQueryError(HttpResponse* resp, const Status& s) {
  WriteError(resp, api::ConnectHttpStatus(s.code()), s);
}

// Wraps a GET query handler: method check, tenant, latency metric, errors.
HttpHandler QueryHandler(ServerContext* ctx, const std::string& endpoint,
                         std::function<Status(const std::string& tenant, const HttpRequest&,
                                              HttpResponse*)>
                             fn) {
  Histogram* latency = ctx->QueryLatency(endpoint);
  return [=](const HttpRequest& req, HttpResponse* resp) {
    auto start = std::chrono::steady_clock::now();
    if (!AllowMethod(req, "GET", resp)) return;
    auto tenant = TenantOf(*ctx, req);
    Status s = tenant.ok() ? fn(*tenant, req, resp) : tenant.status();
    if (!s.ok()) return WriteQueryError(resp, s);
    latency->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  };
}

std::string_view MaxNodesParam(const HttpRequest& req) {
  std::string_view v = req.Query("maxNodes");
  return v.empty() ? req.Query("max-nodes") : v;
}

Status Render(ServerContext* ctx, const std::string& tenant, const HttpRequest& req,
              HttpResponse* resp) {
  std::string_view format = req.Query("format");
  if (!format.empty() && format != "json" && format != "binary") {
    return InvalidArgumentError(StrCat("format ", Quote(format), " is not supported; use json"));
  }
  std::string_view text = req.Query("query");
  if (TrimSpace(text).empty()) return InvalidArgumentError("the query parameter is required");
  SH_ASSIGN_OR_RETURN(query::ParsedQuery q,
                      query::ParseQuery(text, req.Query("from"), req.Query("until"), tenant,
                                        NowNanos(), ctx->query_limits));
  query::RenderOptions opt;
  SH_ASSIGN_OR_RETURN(opt.max_nodes, query::ParseMaxNodes(MaxNodesParam(req), ctx->query_limits));
  opt.group_by = std::string(req.Query("groupBy"));
  std::string_view agg = req.Query("aggregation");
  if (agg == "avg" || agg == "average") {
    opt.average = true;
  } else if (!agg.empty() && agg != "sum") {
    return InvalidArgumentError(StrCat("aggregation ", Quote(agg), " is not sum or avg"));
  }
  opt.binary = format == "binary";
  auto snap = ctx->store->GetSnapshot();
  SH_ASSIGN_OR_RETURN(resp->body, query::RenderJson(*snap, q, opt));
  resp->content_type = opt.binary ? "application/vnd.stackhouse.flamebearer" : "application/json";
  return OkStatus();
}

Status RenderDiff(ServerContext* ctx, const std::string& tenant, const HttpRequest& req,
                  HttpResponse* resp) {
  int64_t now = NowNanos();
  query::ParsedQuery sides[2];
  const char* prefixes[2] = {"left", "right"};
  for (int i = 0; i < 2; ++i) {
    std::string p = prefixes[i];
    std::string_view text = req.Query(p + "Query");
    if (TrimSpace(text).empty()) return InvalidArgumentError(StrCat(p, "Query is required"));
    auto q = query::ParseQuery(text, req.Query(p + "From"), req.Query(p + "Until"), tenant, now,
                               ctx->query_limits);
    if (!q.ok()) return q.status().WithPrefix(p + "Query");
    sides[i] = std::move(*q);
  }
  SH_ASSIGN_OR_RETURN(size_t max_nodes,
                      query::ParseMaxNodes(MaxNodesParam(req), ctx->query_limits));
  auto snap = ctx->store->GetSnapshot();
  SH_ASSIGN_OR_RETURN(resp->body, query::RenderDiffJson(*snap, sides[0], sides[1], max_nodes));
  resp->content_type = "application/json";
  return OkStatus();
}

// The merged profile of a parsed query (period type from the profile type).
StatusOr<profile::Profile> Merged(const tsdb::ProfileSource& source, const query::ParsedQuery& q) {
  const profile::ProfileType& t = q.type;
  if (t.name.empty()) return InvalidArgumentError("the query needs a profile type, e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds{...}");
  tsdb::ProfileSink sink(t.sample_type, t.sample_unit, t.period_type, t.period_unit);
  SH_RETURN_IF_ERROR(source.MergeStacks(q.selection, &sink));
  return sink.Finish();
}

// GET /api/v1/explain?query=TYPE{sel}&from&until[&format=json|markdown]:
// the built-in interpreter on a selection, with anomalies against earlier
// periods (&anomalies=false leaves them out). For a change, either
// &diffFrom&diffUntil (the same query: [from, until) is the baseline,
// [diffFrom, diffUntil) the comparison), or
// &baselineQuery&baselineFrom&baselineUntil (the baseline; the main query
// and range are the comparison; each baseline part defaults to the main one).
Status Explain(ServerContext* ctx, const std::string& tenant, const HttpRequest& req, HttpResponse* resp) {
  std::string_view format = req.Query("format");
  if (!format.empty() && format != "json" && format != "markdown") {
    return InvalidArgumentError(StrCat("format ", Quote(format), " is not json or markdown"));
  }
  std::string_view text = req.Query("query");
  if (TrimSpace(text).empty()) return InvalidArgumentError("the query parameter is required");
  int64_t now = NowNanos();
  SH_ASSIGN_OR_RETURN(query::ParsedQuery main_q,
                      query::ParseQuery(text, req.Query("from"), req.Query("until"), tenant, now, ctx->query_limits));
  auto snap = ctx->store->GetSnapshot();
  SH_ASSIGN_OR_RETURN(profile::Profile main_p, Merged(*snap, main_q));
  StatusOr<query::Explanation> e = InternalError("unset");
  const bool by_range = !req.Query("diffFrom").empty();
  const bool by_baseline = !req.Query("baselineQuery").empty() || !req.Query("baselineFrom").empty();
  if (by_range && by_baseline) return InvalidArgumentError("give diffFrom/diffUntil or baselineQuery/baselineFrom/baselineUntil, not both");
  if (by_range) {
    SH_ASSIGN_OR_RETURN(query::ParsedQuery cmp, query::ParseQuery(text, req.Query("diffFrom"), req.Query("diffUntil"),
                                                                  tenant, now, ctx->query_limits));
    SH_ASSIGN_OR_RETURN(profile::Profile cmp_p, Merged(*snap, cmp));
    e = query::ExplainDiff(main_p, cmp_p);
  } else if (by_baseline) {
    auto or_main = [&](const char* key, const char* main_key) {
      return req.Query(key).empty() ? req.Query(main_key) : req.Query(key);
    };
    auto base = query::ParseQuery(or_main("baselineQuery", "query"), or_main("baselineFrom", "from"),
                                  or_main("baselineUntil", "until"), tenant, now, ctx->query_limits);
    if (!base.ok()) return base.status().WithPrefix("baselineQuery");
    SH_ASSIGN_OR_RETURN(profile::Profile base_p, Merged(*snap, *base));
    e = query::ExplainDiff(base_p, main_p);
  } else {
    e = query::Explain(main_p);
    if (e.ok() && req.Query("anomalies") != "false") {
      // Against the preceding period of the same length, and the same hours
      // a day and a week before (those with data count).
      const int64_t from = main_q.selection.range.from, to = main_q.selection.range.to;
      const auto shifts = query::AnomalyBaselineShifts(to - from);
      std::vector<profile::Profile> earlier;
      std::vector<query::Baseline> baselines;
      earlier.reserve(shifts.size());
      for (const auto& [name, shift] : shifts) {
        query::ParsedQuery b = main_q;
        b.selection.range.from = from - shift;
        b.selection.range.to = to - shift;
        SH_ASSIGN_OR_RETURN(profile::Profile p, Merged(*snap, b));
        earlier.push_back(std::move(p));
        baselines.push_back({name, &earlier.back()});
      }
      query::AddFindings(&*e, query::FindAnomalies(main_p, baselines));
    }
  }
  if (!e.ok()) return e.status();
  if (format == "markdown") {
    resp->body = query::ExplanationMarkdown(*e);
    resp->content_type = "text/markdown; charset=utf-8";
  } else {
    resp->body = query::ExplanationJson(*e);
    resp->content_type = "application/json";
  }
  return OkStatus();
}

// The selection of a listing: an optional selector and a range that
// defaults to everything.
StatusOr<tsdb::Selection> ListingSelection(const std::string& tenant, const HttpRequest& req) {
  SH_ASSIGN_OR_RETURN(tsdb::Selection sel, query::SelectorSelection(req.Query("query"), tenant));
  int64_t now = NowNanos();
  if (!req.Query("from").empty()) {
    auto t = ParseTime(req.Query("from"), now);
    if (!t.ok()) return t.status().WithPrefix("from");
    sel.range.from = *t;
  }
  if (!req.Query("until").empty()) {
    auto t = ParseTime(req.Query("until"), now);
    if (!t.ok()) return t.status().WithPrefix("until");
    sel.range.to = *t;
  }
  return sel;
}

std::string JsonArray(const std::set<std::string>& values) {
  std::string out = "[";
  for (const std::string& v : values) {
    if (out.size() > 1) out.push_back(',');
    out.push_back('"');
    AppendJsonEscaped(&out, v);
    out.push_back('"');
  }
  out.push_back(']');
  return out;
}

Status LabelValues(ServerContext* ctx, const std::string& tenant, const HttpRequest& req,
                   HttpResponse* resp) {
  std::string label(req.Query("label"));
  if (label.empty()) return InvalidArgumentError("the label parameter is required");
  SH_ASSIGN_OR_RETURN(tsdb::Selection sel, ListingSelection(tenant, req));
  auto snap = ctx->store->GetSnapshot();
  std::set<std::string> values;
  // __name__ lists the profile types, as Pyroscope does.
  SH_RETURN_IF_ERROR(
      snap->LabelValues(sel, label == "__name__" ? "__profile_type__" : label, &values));
  resp->body = JsonArray(values);
  resp->content_type = "application/json";
  return OkStatus();
}

Status LabelNames(ServerContext* ctx, const std::string& tenant, const HttpRequest& req,
                  HttpResponse* resp) {
  SH_ASSIGN_OR_RETURN(tsdb::Selection sel, ListingSelection(tenant, req));
  auto snap = ctx->store->GetSnapshot();
  std::set<std::string> names;
  SH_RETURN_IF_ERROR(snap->LabelNames(sel, &names));
  resp->body = JsonArray(names);
  resp->content_type = "application/json";
  return OkStatus();
}

}  // namespace

void RegisterRenderHandlers(ServerContext* ctx, HttpServer* http) {
  using namespace std::placeholders;
  HttpHandler render = QueryHandler(ctx, "/pyroscope/render", std::bind(Render, ctx, _1, _2, _3));
  ctx->early_queries = std::make_unique<EarlyQueries>(render);
  http->Handle("/pyroscope/render", [ctx, render](const HttpRequest& req, HttpResponse* resp) {
    // A page's first query may have been started when the page was served.
    if (ctx->early_queries->Take(req, resp)) {
      resp->headers.push_back({"X-Stackhouse-Early-Query", "1"});
      return;
    }
    render(req, resp);
  });
  http->Handle("/pyroscope/render-diff", QueryHandler(ctx, "/pyroscope/render-diff",
                                                      std::bind(RenderDiff, ctx, _1, _2, _3)));
  http->Handle("/pyroscope/label-values", QueryHandler(ctx, "/pyroscope/label-values",
                                                       std::bind(LabelValues, ctx, _1, _2, _3)));
  http->Handle("/pyroscope/labels",
               QueryHandler(ctx, "/pyroscope/labels", std::bind(LabelNames, ctx, _1, _2, _3)));
  http->Handle("/api/v1/explain", QueryHandler(ctx, "/api/v1/explain", std::bind(Explain, ctx, _1, _2, _3)));
}

}  // namespace stackhouse::server
