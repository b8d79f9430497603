#include "query/query.h"

#include <algorithm>

#include "base/strings.h"
#include "base/time_parse.h"
#include "profile/labels.h"
#include "tsdb/merge.h"

namespace stackhouse::query {

namespace {
constexpr int64_t kSec = 1000000000;
}  // namespace

StatusOr<ParsedQuery> ParseQueryRange(std::string_view query, int64_t from, int64_t to,
                                      const std::string& tenant, const QueryLimits& limits) {
  if (to <= from) return InvalidArgumentError("the time range is empty (until <= from)");
  if (to - from > limits.max_range_ns) {
    return OutOfRangeError(StrCat("the time range is ", (to - from) / (3600 * kSec),
                                  " h, over the limit of ", limits.max_range_ns / (3600 * kSec),
                                  " h"));
  }
  ParsedQuery q;
  SH_ASSIGN_OR_RETURN(q.selection, SelectorSelection(query, tenant, &q.type));
  q.selection.range = {from, to};
  return q;
}

StatusOr<tsdb::Selection> SelectorSelection(std::string_view selector, const std::string& tenant,
                                            profile::ProfileType* type) {
  tsdb::Selection out;
  out.tenant = tenant;
  std::string_view text = TrimSpace(selector);
  if (text.empty()) return out;
  SH_ASSIGN_OR_RETURN(profile::Selector sel, profile::ParseSelector(text));
  out.matchers = std::move(sel.matchers);
  if (!sel.profile_type.empty()) {
    SH_ASSIGN_OR_RETURN(profile::ProfileType t, profile::ProfileType::Parse(sel.profile_type));
    SH_ASSIGN_OR_RETURN(profile::Matcher m,
                        profile::Matcher::Create("__profile_type__", profile::MatchOp::kEqual,
                                                 t.Id()));
    out.matchers.push_back(std::move(m));
    if (type != nullptr) *type = std::move(t);
  }
  return out;
}

StatusOr<ParsedQuery> ParseQuery(std::string_view query, std::string_view from,
                                 std::string_view until, const std::string& tenant,
                                 int64_t now, const QueryLimits& limits) {
  int64_t to = now;
  if (!until.empty()) {
    auto t = ParseTime(until, now);
    if (!t.ok()) return t.status().WithPrefix("until");
    to = *t;
  }
  int64_t start = to - 3600 * kSec;
  if (!from.empty()) {
    auto t = ParseTime(from, now);
    if (!t.ok()) return t.status().WithPrefix("from");
    start = *t;
  }
  return ParseQueryRange(query, start, to, tenant, limits);
}

StatusOr<size_t> ParseMaxNodes(std::string_view text, const QueryLimits& limits) {
  if (text.empty()) return limits.default_max_nodes;
  auto v = ParseInt64(text);
  if (!v || *v < 0) return InvalidArgumentError(StrCat("bad maxNodes ", Quote(text)));
  if (*v == 0) return limits.default_max_nodes;
  if (static_cast<uint64_t>(*v) > limits.max_nodes_limit) {
    return OutOfRangeError(StrCat("maxNodes ", *v, " is over the limit of ", limits.max_nodes_limit));
  }
  return static_cast<size_t>(*v);
}

int64_t TimelineStep(int64_t from, int64_t to) {
  int64_t step = (to - from) / 1000;
  step = (step + kSec - 1) / kSec * kSec;  // whole seconds
  return std::max<int64_t>(step, 10 * kSec);
}

StatusOr<profile::FlameTree> MergeTree(const tsdb::ProfileSource& source,
                                       const tsdb::Selection& selection) {
  tsdb::FlameTreeSink sink;
  SH_RETURN_IF_ERROR(source.MergeStacks(selection, &sink));
  return sink.Finish();
}

profile::FlamebearerMetadata MetadataFor(const profile::ProfileType& type) {
  profile::Profile p;
  auto s = [&](const std::string& v) {
    if (v.empty()) return int64_t{0};
    p.strings.push_back(v);
    return static_cast<int64_t>(p.strings.size() - 1);
  };
  p.sample_types.push_back({s(type.sample_type), s(type.sample_unit)});
  p.period_type = {s(type.period_type), s(type.period_unit)};
  profile::FlamebearerMetadata meta = profile::FlamebearerMetadataFor(p, 0);
  meta.name = type.sample_type;
  return meta;
}

std::string TimelineJson(int64_t from, int64_t step, const std::vector<int64_t>& samples) {
  std::string out = StrCat("{\"startTime\":", from / kSec, ",\"samples\":[");
  for (size_t i = 0; i < samples.size(); ++i) {
    if (i) out.push_back(',');
    out += std::to_string(samples[i]);
  }
  out += StrCat("],\"durationDelta\":", step / kSec, ",\"watermarks\":null}");
  return out;
}

namespace {

// Totals of a selection per step, and per group when group_by is set.
StatusOr<tsdb::TotalsResult> Totals(const tsdb::ProfileSource& source, const ParsedQuery& q,
                                    int64_t step, const std::string& group_by) {
  // Buckets start at a step boundary so that timelines line up.
  int64_t from = q.selection.range.from - (q.selection.range.from % step + step) % step;
  tsdb::TotalsResult totals(from, q.selection.range.to, step);
  tsdb::TotalsRequest req;
  req.step = step;
  if (!group_by.empty()) req.group_by = {group_by};
  SH_RETURN_IF_ERROR(source.Totals(q.selection, req, &totals));
  return totals;
}

std::vector<int64_t> SumGroups(const tsdb::TotalsResult& t, bool average) {
  std::vector<int64_t> sum(t.buckets(), 0), count(t.buckets(), 0);
  for (const auto& [g, v] : t.groups()) {
    for (size_t i = 0; i < v.size(); ++i) sum[i] += v[i];
  }
  if (!average) return sum;
  for (const auto& [g, c] : t.counts()) {
    for (size_t i = 0; i < c.size(); ++i) count[i] += c[i];
  }
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = count[i] ? sum[i] / count[i] : 0;
  return sum;
}

std::vector<int64_t> Averages(const std::vector<int64_t>& sums, const std::vector<int64_t>& counts) {
  std::vector<int64_t> out(sums.size(), 0);
  for (size_t i = 0; i < sums.size(); ++i) out[i] = counts[i] ? sums[i] / counts[i] : 0;
  return out;
}

// Inserts extra members before the final '}' of a JSON object.
std::string WithMembers(std::string object, const std::string& members) {
  if (!object.empty() && object.back() == '\n') object.pop_back();
  object.pop_back();  // '}'
  object += members;
  object += '}';
  return object;
}

}  // namespace

StatusOr<std::string> RenderJson(const tsdb::ProfileSource& source, const ParsedQuery& q,
                                 const RenderOptions& options) {
  SH_ASSIGN_OR_RETURN(profile::FlameTree tree, MergeTree(source, q.selection));
  profile::TruncationReport report;
  profile::FlameTree shown = profile::TruncateFlameTree(tree, options.max_nodes, &report);
  profile::FlamebearerData data = profile::ComputeFlamebearer(shown);
  std::vector<std::vector<int64_t>> levels;
  if (options.binary) levels.swap(data.levels);  // they go after the JSON
  std::string json = profile::FlamebearerJson(data, "single", MetadataFor(q.type), &report);
  int64_t step = TimelineStep(q.selection.range.from, q.selection.range.to);
  SH_ASSIGN_OR_RETURN(tsdb::TotalsResult totals, Totals(source, q, step, options.group_by));
  std::string members =
      ",\"timeline\":" + TimelineJson(totals.from(), step, SumGroups(totals, options.average));
  if (!options.group_by.empty()) {
    members += ",\"groups\":{";
    bool first = true;
    for (const auto& [group, samples] : totals.groups()) {
      if (!first) members += ',';
      first = false;
      members += '"';
      AppendJsonEscaped(&members, group);
      members += "\":" + TimelineJson(totals.from(), step,
                                      options.average
                                          ? Averages(samples, totals.counts().at(group))
                                          : samples);
    }
    members += '}';
  }
  std::string out = WithMembers(std::move(json), members);
  if (!options.binary) return out;
  data.levels.swap(levels);
  return profile::FlamebearerBinary(out, data);
}

StatusOr<std::string> RenderDiffJson(const tsdb::ProfileSource& source, const ParsedQuery& left,
                                     const ParsedQuery& right, size_t max_nodes) {
  if (left.type.Id() != right.type.Id()) {
    return InvalidArgumentError(StrCat("the two queries must have the same profile type (",
                                       left.type.Id(), " vs ", right.type.Id(), ")"));
  }
  SH_ASSIGN_OR_RETURN(profile::FlameTree l, MergeTree(source, left.selection));
  SH_ASSIGN_OR_RETURN(profile::FlameTree r, MergeTree(source, right.selection));
  std::string json = profile::WriteFlamebearerDiff(l, r, MetadataFor(left.type), max_nodes);
  std::string members;
  for (const auto* side : {&left, &right}) {
    int64_t step = TimelineStep(side->selection.range.from, side->selection.range.to);
    SH_ASSIGN_OR_RETURN(tsdb::TotalsResult totals, Totals(source, *side, step, ""));
    members += StrCat(",\"", side == &left ? "leftTimeline" : "rightTimeline", "\":",
                      TimelineJson(totals.from(), step, SumGroups(totals, false)));
  }
  return WithMembers(std::move(json), members);
}

StatusOr<std::vector<profile::ProfileType>> ProfileTypes(const tsdb::ProfileSource& source,
                                                         const tsdb::Selection& selection) {
  std::set<std::string> ids;
  SH_RETURN_IF_ERROR(source.LabelValues(selection, "__profile_type__", &ids));
  std::vector<profile::ProfileType> out;
  for (const std::string& id : ids) {
    auto t = profile::ProfileType::Parse(id);
    if (t.ok()) out.push_back(*t);
  }
  return out;
}

}  // namespace stackhouse::query
