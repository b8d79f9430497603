// The query layer: parsing Pyroscope-style queries and computing flame
// graphs, diffs, timelines and label listings over any ProfileSource (a
// store snapshot). It knows the storage only through tsdb/source.h, so a
// database backend can serve the same queries. Thread-safe (pure functions
// over an immutable snapshot).
#ifndef STACKHOUSE_QUERY_QUERY_H_
#define STACKHOUSE_QUERY_QUERY_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "profile/flame_truncate.h"
#include "profile/flamebearer.h"
#include "profile/flame_tree.h"
#include "profile/profile_type.h"
#include "tsdb/source.h"

namespace stackhouse::query {

// Query cost limits.
struct QueryLimits {
  int64_t max_range_ns = int64_t{32} * 24 * 3600 * 1000000000;
  size_t default_max_nodes = 8192;
  size_t max_nodes_limit = 1 << 20;
};

struct ParsedQuery {
  tsdb::Selection selection;   // includes a __profile_type__ matcher when typed
  profile::ProfileType type;   // empty name when the query has no type
};

// The selection of a selector "type{matchers}", "{matchers}" or "" (all)
// for a tenant, over all time: a type adds a __profile_type__ matcher and is
// stored in *type (when not null; left empty for an untyped selector).
StatusOr<tsdb::Selection> SelectorSelection(std::string_view selector, const std::string& tenant,
                                            profile::ProfileType* type = nullptr);

// Parses "type{matchers}" (or "{matchers}") with from/until times (any
// format of ParseTime; until defaults to now, from to until - 1h). Errors:
// kInvalidArgument for bad syntax or times, kOutOfRange for a range over
// the limit.
StatusOr<ParsedQuery> ParseQuery(std::string_view query, std::string_view from,
                                 std::string_view until, const std::string& tenant,
                                 int64_t now_nanos, const QueryLimits& limits);
// Same from an already parsed range in ns.
StatusOr<ParsedQuery> ParseQueryRange(std::string_view query, int64_t from, int64_t to,
                                      const std::string& tenant, const QueryLimits& limits);

// "maxNodes" (0 or empty = the default), bounded by the limit.
StatusOr<size_t> ParseMaxNodes(std::string_view text, const QueryLimits& limits);

// The timeline step for a range: at least 10 s, at most ~1,000 points.
int64_t TimelineStep(int64_t from, int64_t to);

// Merges a selection into a flame tree.
StatusOr<profile::FlameTree> MergeTree(const tsdb::ProfileSource& source,
                                       const tsdb::Selection& selection);

// Flamebearer metadata (units, sample rate) for a profile type.
profile::FlamebearerMetadata MetadataFor(const profile::ProfileType& type);

struct RenderOptions {
  size_t max_nodes = 8192;
  std::string group_by;  // a label: per-value timelines in "groups"
  bool average = false;  // timelines hold the mean per profile, not the sum
  bool binary = false;   // profile::FlamebearerBinary instead of JSON
};

// GET /pyroscope/render: flamebearer "single" plus "timeline" (and "groups");
// with options.binary the same in Stackhouse's compact binary form.
StatusOr<std::string> RenderJson(const tsdb::ProfileSource& source, const ParsedQuery& q,
                                 const RenderOptions& options);

// GET /pyroscope/render-diff: flamebearer "double" plus both timelines.
StatusOr<std::string> RenderDiffJson(const tsdb::ProfileSource& source, const ParsedQuery& left,
                                     const ParsedQuery& right, size_t max_nodes);

// A Pyroscope timeline object for totals of one group.
std::string TimelineJson(int64_t from, int64_t step, const std::vector<int64_t>& samples);

// The distinct profile types of a selection (label __profile_type__).
StatusOr<std::vector<profile::ProfileType>> ProfileTypes(const tsdb::ProfileSource& source,
                                                         const tsdb::Selection& selection);

}  // namespace stackhouse::query

#endif  // STACKHOUSE_QUERY_QUERY_H_
