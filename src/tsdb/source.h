// ProfileSource: the read interface of the profile store, implemented alike
// by the in-memory head and by on-disk blocks (and meant to be implementable
// by a database backend such as ClickHouse). A query runs against every
// source of a store snapshot and combines the results.
//
// The central step is MergeStacks: "sum the values by stack of the selected
// series over [from, to)". Its result is handed to a StackSink one partition
// at a time as (stack node, value) pairs plus the partition's symbol table,
// which the sink reads only during the call. Sinks build flame trees or
// pprof profiles from it (see merge.h).
//
// Implementations are thread-safe: any number of queries may run at once,
// concurrently with appends.
#ifndef STACKHOUSE_TSDB_SOURCE_H_
#define STACKHOUSE_TSDB_SOURCE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "profile/labels.h"
#include "tsdb/symbols.h"

namespace stackhouse::tsdb {

// [from, to) in nanoseconds since the epoch.
struct TimeRange {
  int64_t from = INT64_MIN;
  int64_t to = INT64_MAX;
  bool Contains(int64_t t) const { return t >= from && t < to; }
  bool Overlaps(int64_t min_t, int64_t max_t_inclusive) const {
    return max_t_inclusive >= from && min_t < to;
  }
};

struct Selection {
  std::string tenant;
  std::vector<profile::Matcher> matchers;
  TimeRange range;
};

struct NodeValue {
  uint32_t node;
  int64_t value;
};

class StackSink {
 public:
  virtual ~StackSink() = default;
  // One partition's merged samples. `values` are sorted by node and have no
  // zero values; `symbols` is valid only during the call.
  virtual void Add(const SymbolTable& symbols, std::span<const NodeValue> values) = 0;
  // The same samples as one sum per node of the table (sums[node], 0 for
  // none), when most nodes have one: a sink that visits the whole tree
  // anyway reads it in place of a list. The default makes the list and
  // calls Add (not when every sum is 0).
  virtual void AddDense(const SymbolTable& symbols, std::span<const int64_t> sums);
};

// Appends (node, sum) for each non-zero sums[node], in node order.
void AppendNonZeroSums(std::span<const int64_t> sums, std::vector<NodeValue>* out);

// Totals over time: bucket i covers [from + i*step, from + (i+1)*step).
struct TotalsRequest {
  int64_t step = 0;  // ns, > 0
  // Label names to group by; none gives one group "". The group of a series
  // is its values of these labels joined by kGroupSeparator ("" for a label
  // it lacks), so with one label it is just that label's value.
  std::vector<std::string> group_by;

  static constexpr char kGroupSeparator = '\x1f';
  std::string GroupOf(const profile::LabelSet& labels) const;
};
class TotalsResult {
 public:
  TotalsResult(int64_t from, int64_t to, int64_t step);
  // Adds one profile's total.
  void Add(const std::string& group, int64_t time, int64_t value);
  int64_t from() const { return from_; }
  int64_t step() const { return step_; }
  size_t buckets() const { return buckets_; }
  // group value -> per-bucket sums.
  const std::map<std::string, std::vector<int64_t>>& groups() const { return groups_; }
  // group value -> per-bucket profile counts (for averages).
  const std::map<std::string, std::vector<int64_t>>& counts() const { return counts_; }

 private:
  int64_t from_, step_;
  size_t buckets_;
  std::map<std::string, std::vector<int64_t>> groups_;
  std::map<std::string, std::vector<int64_t>> counts_;
};

// One raw profile of a series, for pprof export.
struct RawProfile {
  const profile::LabelSet* labels;
  int64_t time = 0;
  int64_t duration = 0;
  const SymbolTable* symbols;
  std::span<const NodeValue> samples;
};
using RawProfileVisitor = std::function<Status(const RawProfile&)>;

class ProfileSource {
 public:
  virtual ~ProfileSource() = default;

  // Inclusive time bounds of the data (for skipping sources).
  virtual int64_t min_time() const = 0;
  virtual int64_t max_time() const = 0;

  // Label sets of the series matching the selection with data in range.
  virtual Status SelectSeries(const Selection& sel, std::vector<profile::LabelSet>* out) const = 0;
  // Sums values by stack over the selection, one partition at a time.
  virtual Status MergeStacks(const Selection& sel, StackSink* sink) const = 0;
  // Adds per-bucket totals, grouped by a label's values.
  virtual Status Totals(const Selection& sel, const TotalsRequest& req,
                        TotalsResult* out) const = 0;
  // Label names, and the values of one label, of matching series in range.
  virtual Status LabelNames(const Selection& sel, std::set<std::string>* out) const = 0;
  virtual Status LabelValues(const Selection& sel, const std::string& name,
                             std::set<std::string>* out) const = 0;
  // Visits every raw profile of the selection (time order within a series).
  virtual Status IterateProfiles(const Selection& sel, const RawProfileVisitor& visit) const = 0;
};

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_SOURCE_H_
