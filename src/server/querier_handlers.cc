// The Connect querier API (querier.v1.QuerierService), as used by Grafana's
// Pyroscope data source, the Profiles Drilldown app and profilecli. Times
// are milliseconds since the epoch.
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "api/google/v1/profile.pb.h"
#include "api/querier/v1/querier.pb.h"
#include "base/strings.h"
#include "base/time_parse.h"
#include "profile/flame_truncate.h"
#include "profile/flamebearer.h"
#include "profile/pprof.h"
#include "server/server_internal.h"
#include "tsdb/merge.h"

namespace stackhouse::server {

namespace {


constexpr int64_t kMs = 1000000;
constexpr int64_t kSec = 1000000000;

int64_t MsToNs(int64_t ms) {
  if (ms > INT64_MAX / kMs) return INT64_MAX;
  if (ms < INT64_MIN / kMs) return INT64_MIN;
  return ms * kMs;
}

// A typed query (profile_typeID + label_selector) over [start, end) ms.
StatusOr<query::ParsedQuery> SelectQuery(const ServerContext& ctx, const std::string& tenant,
                                         const std::string& type_id, const std::string& selector,
                                         int64_t start_ms, int64_t end_ms) {
  if (type_id.empty()) return InvalidArgumentError("profile_typeID is required");
  int64_t to = end_ms != 0 ? MsToNs(end_ms) : NowNanos();
  int64_t from = start_ms != 0 ? MsToNs(start_ms) : to - 3600 * kSec;
  std::string_view sel = TrimSpace(selector);
  return query::ParseQueryRange(type_id + (sel.empty() ? std::string("{}") : std::string(sel)),
                                from, to, tenant, ctx.query_limits);
}

// The selections of a listing: one per matcher string (their union is the
// answer), or one for everything. start/end 0 mean unbounded.
StatusOr<std::vector<tsdb::Selection>> ListingSelections(
    const std::string& tenant, const google::protobuf::RepeatedPtrField<std::string>& matchers,
    int64_t start_ms, int64_t end_ms) {
  tsdb::TimeRange range;
  if (start_ms != 0) range.from = MsToNs(start_ms);
  if (end_ms != 0) range.to = MsToNs(end_ms);
  std::vector<tsdb::Selection> out;
  for (const std::string& m : matchers) {
    SH_ASSIGN_OR_RETURN(tsdb::Selection sel, query::SelectorSelection(m, tenant));
    out.push_back(std::move(sel));
  }
  if (out.empty()) out.emplace_back().tenant = tenant;
  for (tsdb::Selection& sel : out) sel.range = range;
  return out;
}

StatusOr<size_t> MaxNodes(const ServerContext& ctx, bool has, int64_t v) {
  if (!has) return ctx.query_limits.default_max_nodes;
  return query::ParseMaxNodes(std::to_string(v), ctx.query_limits);
}

// The call site of a stack trace selector; go_pgo is not supported.
StatusOr<std::vector<std::string>> CallSite(bool has, const types::v1::StackTraceSelector& s) {
  std::vector<std::string> out;
  if (!has) return out;
  if (s.has_go_pgo()) return UnimplementedError("stack_trace_selector.go_pgo is not supported");
  for (const auto& loc : s.call_site()) out.push_back(loc.name());
  return out;
}

template <typename Req>
Status RejectUnsupportedSelectors(const Req& req) {
  if (req.profile_id_selector_size() > 0) {
    return UnimplementedError("profile_id_selector is not supported");
  }
  if (req.trace_id_selector_size() > 0) {
    return UnimplementedError("trace_id_selector is not supported");
  }
  return OkStatus();
}

StatusOr<profile::FlameTree> MergeTree(const tsdb::ProfileSource& source,
                                       const tsdb::Selection& sel,
                                       const std::vector<std::string>& call_site) {
  tsdb::FlameTreeSink sink;
  tsdb::CallSiteFilterSink filter(call_site, &sink);
  SH_RETURN_IF_ERROR(source.MergeStacks(sel, &filter));
  return sink.Finish();
}

StatusOr<profile::Profile> MergeProfile(const tsdb::ProfileSource& source,
                                        const query::ParsedQuery& q,
                                        const std::vector<std::string>& call_site) {
  // The store keeps the period type but not the period itself.
  const profile::ProfileType& t = q.type;
  tsdb::ProfileSink sink(t.sample_type, t.sample_unit, t.period_type, t.period_unit);
  tsdb::CallSiteFilterSink filter(call_site, &sink);
  SH_RETURN_IF_ERROR(source.MergeStacks(q.selection, &filter));
  profile::Profile p = sink.Finish();
  p.time_nanos = q.selection.range.from;
  p.duration_nanos = q.selection.range.to - q.selection.range.from;
  return p;
}

Status ToProto(const profile::Profile& p, google::v1::Profile* out) {
  if (!out->ParseFromString(profile::EncodePprof(p))) {
    return InternalError("could not re-read the merged pprof");
  }
  return OkStatus();
}

template <typename FG>
void FillFlameGraph(const profile::FlamebearerData& d, FG* fg) {
  for (const std::string& n : d.names) fg->add_names(n);
  for (const auto& level : d.levels) {
    auto* l = fg->add_levels();
    for (int64_t v : level) l->add_values(v);
  }
  fg->set_total(d.num_ticks);
  fg->set_max_self(d.max_self);
}

// --- methods ----------------------------------------------------------------------

Status ProfileTypes(ServerContext* ctx, const std::string& tenant,
                    const querier::v1::ProfileTypesRequest& req,
                    querier::v1::ProfileTypesResponse* resp) {
  google::protobuf::RepeatedPtrField<std::string> none;
  SH_ASSIGN_OR_RETURN(auto sels, ListingSelections(tenant, none, req.start(), req.end()));
  auto snap = ctx->store->GetSnapshot();
  SH_ASSIGN_OR_RETURN(auto types, query::ProfileTypes(*snap, sels[0]));
  for (const profile::ProfileType& t : types) {
    types::v1::ProfileType* pt = resp->add_profile_types();
    pt->set_id(t.Id());
    pt->set_name(t.name);
    pt->set_sample_type(t.sample_type);
    pt->set_sample_unit(t.sample_unit);
    pt->set_period_type(t.period_type);
    pt->set_period_unit(t.period_unit);
  }
  return OkStatus();
}

Status LabelNames(ServerContext* ctx, const std::string& tenant,
                  const types::v1::LabelNamesRequest& req, types::v1::LabelNamesResponse* resp) {
  SH_ASSIGN_OR_RETURN(auto sels, ListingSelections(tenant, req.matchers(), req.start(), req.end()));
  auto snap = ctx->store->GetSnapshot();
  std::set<std::string> names;
  for (const auto& sel : sels) SH_RETURN_IF_ERROR(snap->LabelNames(sel, &names));
  for (const std::string& n : names) resp->add_names(n);
  return OkStatus();
}

Status LabelValues(ServerContext* ctx, const std::string& tenant,
                   const types::v1::LabelValuesRequest& req,
                   types::v1::LabelValuesResponse* resp) {
  if (req.name().empty()) return InvalidArgumentError("name is required");
  SH_ASSIGN_OR_RETURN(auto sels, ListingSelections(tenant, req.matchers(), req.start(), req.end()));
  auto snap = ctx->store->GetSnapshot();
  std::set<std::string> values;
  for (const auto& sel : sels) SH_RETURN_IF_ERROR(snap->LabelValues(sel, req.name(), &values));
  for (const std::string& v : values) resp->add_names(v);
  return OkStatus();
}

Status Series(ServerContext* ctx, const std::string& tenant, const querier::v1::SeriesRequest& req,
              querier::v1::SeriesResponse* resp) {
  SH_ASSIGN_OR_RETURN(auto sels, ListingSelections(tenant, req.matchers(), req.start(), req.end()));
  std::set<std::string> keep(req.label_names().begin(), req.label_names().end());
  auto snap = ctx->store->GetSnapshot();
  std::set<profile::LabelSet> out;
  for (const auto& sel : sels) {
    std::vector<profile::LabelSet> series;
    SH_RETURN_IF_ERROR(snap->SelectSeries(sel, &series));
    for (const profile::LabelSet& ls : series) {
      if (keep.empty()) {
        out.insert(ls);
        continue;
      }
      std::vector<profile::LabelPair> pairs;
      for (const auto& lp : ls.pairs()) {
        if (keep.count(lp.name)) pairs.push_back(lp);
      }
      auto filtered = profile::LabelSet::FromPairs(std::move(pairs));
      if (filtered.ok() && !filtered->empty()) out.insert(std::move(*filtered));
    }
  }
  for (const profile::LabelSet& ls : out) {
    types::v1::Labels* l = resp->add_labels_set();
    for (const auto& lp : ls.pairs()) {
      types::v1::LabelPair* p = l->add_labels();
      p->set_name(lp.name);
      p->set_value(lp.value);
    }
  }
  return OkStatus();
}

Status SelectMergeStacktraces(ServerContext* ctx, const std::string& tenant,
                              const querier::v1::SelectMergeStacktracesRequest& req,
                              querier::v1::SelectMergeStacktracesResponse* resp) {
  SH_RETURN_IF_ERROR(RejectUnsupportedSelectors(req));
  if (req.span_selector_size() > 0) return UnimplementedError("span_selector is not supported");
  SH_ASSIGN_OR_RETURN(query::ParsedQuery q,
                      SelectQuery(*ctx, tenant, req.profile_typeid(), req.label_selector(),
                                  req.start(), req.end()));
  SH_ASSIGN_OR_RETURN(size_t max_nodes, MaxNodes(*ctx, req.has_max_nodes(), req.max_nodes()));
  SH_ASSIGN_OR_RETURN(std::vector<std::string> call_site,
                      CallSite(req.has_stack_trace_selector(), req.stack_trace_selector()));
  auto snap = ctx->store->GetSnapshot();
  switch (req.format()) {
    case querier::v1::PROFILE_FORMAT_UNSPECIFIED:
    case querier::v1::PROFILE_FORMAT_FLAMEGRAPH: {
      SH_ASSIGN_OR_RETURN(profile::FlameTree tree, MergeTree(*snap, q.selection, call_site));
      profile::FlameTree shown = profile::TruncateFlameTree(tree, max_nodes, nullptr);
      FillFlameGraph(profile::ComputeFlamebearer(shown), resp->mutable_flamegraph());
      return OkStatus();
    }
    case querier::v1::PROFILE_FORMAT_PPROF: {
      SH_ASSIGN_OR_RETURN(profile::Profile p, MergeProfile(*snap, q, call_site));
      return ToProto(p, resp->mutable_pprof()->mutable_profile());
    }
    default:
      return UnimplementedError(StrCat("format ", querier::v1::ProfileFormat_Name(req.format()),
                                       " is not supported; use FLAMEGRAPH or PPROF"));
  }
}

Status SelectMergeProfile(ServerContext* ctx, const std::string& tenant,
                          const querier::v1::SelectMergeProfileRequest& req,
                          google::v1::Profile* resp) {
  SH_RETURN_IF_ERROR(RejectUnsupportedSelectors(req));
  SH_ASSIGN_OR_RETURN(query::ParsedQuery q,
                      SelectQuery(*ctx, tenant, req.profile_typeid(), req.label_selector(),
                                  req.start(), req.end()));
  SH_ASSIGN_OR_RETURN(std::vector<std::string> call_site,
                      CallSite(req.has_stack_trace_selector(), req.stack_trace_selector()));
  auto snap = ctx->store->GetSnapshot();
  SH_ASSIGN_OR_RETURN(profile::Profile p, MergeProfile(*snap, q, call_site));
  return ToProto(p, resp);
}

// Totals per step and group, restricted to stacks under a call site: every
// profile's samples are visited (totals alone cannot tell stacks apart).
Status CallSiteTotals(const tsdb::ProfileSource& source, const tsdb::Selection& sel,
                      const tsdb::TotalsRequest& req, const std::vector<std::string>& call_site,
                      tsdb::TotalsResult* out) {
  std::unordered_map<const tsdb::SymbolTable*, std::vector<uint8_t>> under;
  return source.IterateProfiles(sel, [&](const tsdb::RawProfile& raw) {
    auto it = under.find(raw.symbols);
    if (it == under.end()) {
      it = under.emplace(raw.symbols, tsdb::CallSiteNodes(*raw.symbols, call_site)).first;
    }
    int64_t value = 0;
    for (const tsdb::NodeValue& nv : raw.samples) {
      if (it->second[nv.node]) value += nv.value;
    }
    out->Add(req.GroupOf(*raw.labels), raw.time, value);
    return OkStatus();
  });
}

Status SelectSeries(ServerContext* ctx, const std::string& tenant,
                    const querier::v1::SelectSeriesRequest& req,
                    querier::v1::SelectSeriesResponse* resp) {
  SH_ASSIGN_OR_RETURN(query::ParsedQuery q,
                      SelectQuery(*ctx, tenant, req.profile_typeid(), req.label_selector(),
                                  req.start(), req.end()));
  SH_ASSIGN_OR_RETURN(std::vector<std::string> call_site,
                      CallSite(req.has_stack_trace_selector(), req.stack_trace_selector()));
  if (req.has_limit() && req.limit() < 0) return InvalidArgumentError("limit is negative");
  const tsdb::TimeRange& r = q.selection.range;
  int64_t step = req.step() > 0 ? static_cast<int64_t>(req.step() * 1e9) : 0;
  if (step <= 0) step = query::TimelineStep(r.from, r.to);
  step = std::max<int64_t>(step, kMs);
  if ((r.to - r.from) / step > 100000) {
    return InvalidArgumentError(StrCat("step ", req.step(), " s gives more than 100000 points"));
  }
  tsdb::TotalsRequest treq;
  treq.step = step;
  treq.group_by.assign(req.group_by().begin(), req.group_by().end());
  tsdb::TotalsResult totals(r.from, r.to, step);
  auto snap = ctx->store->GetSnapshot();
  if (call_site.empty()) {
    SH_RETURN_IF_ERROR(snap->Totals(q.selection, treq, &totals));
  } else {
    SH_RETURN_IF_ERROR(CallSiteTotals(*snap, q.selection, treq, call_site, &totals));
  }
  bool average = req.has_aggregation() &&
                 req.aggregation() == types::v1::TIME_SERIES_AGGREGATION_TYPE_AVERAGE;
  struct Out {
    std::string group;
    int64_t total = 0;
  };
  std::vector<Out> groups;
  for (const auto& [group, sums] : totals.groups()) {
    int64_t total = 0;
    for (int64_t v : sums) total += v;
    groups.push_back({group, total});
  }
  if (req.has_limit() && req.limit() > 0 && groups.size() > static_cast<size_t>(req.limit())) {
    std::stable_sort(groups.begin(), groups.end(),
                     [](const Out& a, const Out& b) { return a.total > b.total; });
    groups.resize(static_cast<size_t>(req.limit()));
    std::sort(groups.begin(), groups.end(),
              [](const Out& a, const Out& b) { return a.group < b.group; });
  }
  for (const Out& g : groups) {
    types::v1::Series* series = resp->add_series();
    std::vector<std::string_view> values =
        treq.group_by.size() > 1 ? Split(g.group, tsdb::TotalsRequest::kGroupSeparator)
                                 : std::vector<std::string_view>{g.group};
    for (size_t i = 0; i < treq.group_by.size() && i < values.size(); ++i) {
      if (values[i].empty()) continue;
      types::v1::LabelPair* lp = series->add_labels();
      lp->set_name(treq.group_by[i]);
      lp->set_value(std::string(values[i]));
    }
    const std::vector<int64_t>& sums = totals.groups().at(g.group);
    const std::vector<int64_t>& counts = totals.counts().at(g.group);
    for (size_t i = 0; i < sums.size(); ++i) {
      if (counts[i] == 0) continue;
      types::v1::Point* p = series->add_points();
      p->set_value(average ? static_cast<double>(sums[i]) / static_cast<double>(counts[i])
                           : static_cast<double>(sums[i]));
      p->set_timestamp((totals.from() + static_cast<int64_t>(i) * step) / kMs);
    }
  }
  return OkStatus();
}

Status Diff(ServerContext* ctx, const std::string& tenant, const querier::v1::DiffRequest& req,
            querier::v1::DiffResponse* resp) {
  profile::FlameTree trees[2];
  std::string types[2];
  const querier::v1::SelectMergeStacktracesRequest* sides[2] = {&req.left(), &req.right()};
  auto snap = ctx->store->GetSnapshot();
  size_t max_nodes = ctx->query_limits.default_max_nodes;
  for (int i = 0; i < 2; ++i) {
    const auto& s = *sides[i];
    const char* side = i == 0 ? "left" : "right";
    Status st = RejectUnsupportedSelectors(s);
    if (!st.ok()) return st.WithPrefix(side);
    auto q = SelectQuery(*ctx, tenant, s.profile_typeid(), s.label_selector(), s.start(), s.end());
    if (!q.ok()) return q.status().WithPrefix(side);
    auto call_site = CallSite(s.has_stack_trace_selector(), s.stack_trace_selector());
    if (!call_site.ok()) return call_site.status().WithPrefix(side);
    if (i == 0 || s.has_max_nodes()) {
      SH_ASSIGN_OR_RETURN(max_nodes, MaxNodes(*ctx, s.has_max_nodes(), s.max_nodes()));
    }
    types[i] = q->type.Id();
    SH_ASSIGN_OR_RETURN(trees[i], MergeTree(*snap, q->selection, *call_site));
  }
  if (types[0] != types[1]) {
    return InvalidArgumentError(
        StrCat("left and right must have the same profile type (", types[0], " vs ", types[1], ")"));
  }
  profile::DiffTree diff =
      profile::TruncateDiffTree(profile::MergeFlameTrees(trees[0], trees[1]), max_nodes);
  profile::FlamebearerData d = profile::ComputeFlamebearerDiff(diff);
  querier::v1::FlameGraphDiff* fg = resp->mutable_flamegraph();
  FillFlameGraph(d, fg);
  fg->set_leftticks(d.left_ticks);
  fg->set_rightticks(d.right_ticks);
  return OkStatus();
}

// The time of the first (or last) profile of a tenant, to the millisecond:
// a coarse totals pass finds the bucket, a fine one the millisecond.
StatusOr<int64_t> EdgeTime(const tsdb::ProfileSource& source, tsdb::Selection sel, bool first) {
  sel.range.from -= ((sel.range.from % kMs) + kMs) % kMs;  // whole milliseconds
  for (int pass = 0; pass < 8; ++pass) {
    int64_t span = sel.range.to - sel.range.from;
    int64_t step = (span / 1024 / kMs + 1) * kMs;
    tsdb::TotalsRequest req;
    req.step = step;
    tsdb::TotalsResult totals(sel.range.from, sel.range.to, step);
    SH_RETURN_IF_ERROR(source.Totals(sel, req, &totals));
    if (totals.counts().empty()) return int64_t{-1};
    const std::vector<int64_t>& c = totals.counts().begin()->second;
    size_t i = 0;
    if (first) {
      while (i < c.size() && c[i] == 0) ++i;
    } else {
      i = c.size();
      while (i > 0 && c[i - 1] == 0) --i;
      --i;
    }
    if (i >= c.size()) return int64_t{-1};
    int64_t from = sel.range.from + static_cast<int64_t>(i) * step;
    if (step == kMs) return from;
    sel.range = {from, std::min(sel.range.to, from + step)};
  }
  return sel.range.from;
}

Status GetProfileStats(ServerContext* ctx, const std::string& tenant,
                       const types::v1::GetProfileStatsRequest&,
                       types::v1::GetProfileStatsResponse* resp) {
  auto snap = ctx->store->GetSnapshot();
  tsdb::Selection sel;
  sel.tenant = tenant;
  sel.range = {snap->min_time(), snap->max_time() == INT64_MAX ? INT64_MAX : snap->max_time() + 1};
  if (sel.range.to <= sel.range.from) return OkStatus();  // no data at all
  SH_ASSIGN_OR_RETURN(int64_t oldest, EdgeTime(*snap, sel, true));
  if (oldest < 0) return OkStatus();
  SH_ASSIGN_OR_RETURN(int64_t newest, EdgeTime(*snap, sel, false));
  resp->set_data_ingested(true);
  resp->set_oldest_profile_time(oldest / kMs);
  resp->set_newest_profile_time(newest / kMs);
  return OkStatus();
}

}  // namespace

void RegisterQuerierHandlers(ServerContext* ctx, HttpServer* http) {
  const std::string p = "/querier.v1.QuerierService/";
#define SH_QUERIER_METHOD(Method, Req, Resp)                                          \
  HandleConnectTyped<Req, Resp>(                                                     \
      ctx, http, p + #Method, [ctx](const std::string& tenant, const Req& r, Resp* o) { \
        return Method(ctx, tenant, r, o);                                            \
      })
  SH_QUERIER_METHOD(ProfileTypes, querier::v1::ProfileTypesRequest,
                    querier::v1::ProfileTypesResponse);
  SH_QUERIER_METHOD(LabelNames, types::v1::LabelNamesRequest, types::v1::LabelNamesResponse);
  SH_QUERIER_METHOD(LabelValues, types::v1::LabelValuesRequest, types::v1::LabelValuesResponse);
  SH_QUERIER_METHOD(Series, querier::v1::SeriesRequest, querier::v1::SeriesResponse);
  SH_QUERIER_METHOD(SelectMergeStacktraces, querier::v1::SelectMergeStacktracesRequest,
                    querier::v1::SelectMergeStacktracesResponse);
  SH_QUERIER_METHOD(SelectMergeProfile, querier::v1::SelectMergeProfileRequest,
                    google::v1::Profile);
  SH_QUERIER_METHOD(SelectSeries, querier::v1::SelectSeriesRequest,
                    querier::v1::SelectSeriesResponse);
  SH_QUERIER_METHOD(Diff, querier::v1::DiffRequest, querier::v1::DiffResponse);
  SH_QUERIER_METHOD(GetProfileStats, types::v1::GetProfileStatsRequest,
                    types::v1::GetProfileStatsResponse);
#undef SH_QUERIER_METHOD
  // Methods we do not serve answer "unimplemented" rather than 404, so
  // clients show a clear message.
  HandleConnectTyped<querier::v1::SelectMergeSpanProfileRequest,
                     querier::v1::SelectMergeSpanProfileResponse>(
      ctx, http, p + "SelectMergeSpanProfile",
      [](const std::string&, const auto&, auto*) {
        return UnimplementedError("SelectMergeSpanProfile is not supported (span profiles)");
      });
  HandleConnectTyped<querier::v1::SelectHeatmapRequest, querier::v1::SelectHeatmapResponse>(
      ctx, http, p + "SelectHeatmap", [](const std::string&, const auto&, auto*) {
        return UnimplementedError("SelectHeatmap is not supported");
      });
  HandleConnectTyped<querier::v1::AnalyzeQueryRequest, querier::v1::AnalyzeQueryResponse>(
      ctx, http, p + "AnalyzeQuery", [](const std::string&, const auto&, auto*) {
        return UnimplementedError("AnalyzeQuery is not supported");
      });
}

}  // namespace stackhouse::server
