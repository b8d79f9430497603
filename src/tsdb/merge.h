// StackSinks that turn merged (stack node, value) pairs into the profile
// model: a FlameTree (flame graphs, top tables) or a Profile (pprof export).
// Partitions are merged by frame name (flame tree) or by full symbol
// identity (profile). Not thread-safe; one sink per query.
#ifndef STACKHOUSE_TSDB_MERGE_H_
#define STACKHOUSE_TSDB_MERGE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "profile/builder.h"
#include "profile/flame_tree.h"
#include "tsdb/source.h"

namespace stackhouse::tsdb {

class FlameTreeSink : public StackSink {
 public:
  void Add(const SymbolTable& symbols, std::span<const NodeValue> values) override;
  void AddDense(const SymbolTable& symbols, std::span<const int64_t> sums) override;
  // The tree, with totals computed. Call once, after every Add.
  profile::FlameTree Finish();
  int64_t total() const { return total_; }

 private:
  // Adds the table's nodes marked in *live, and their ancestors, to the
  // tree (marking the ancestors); returns the tree node of each.
  std::vector<uint32_t> Build(const SymbolTable& symbols, std::vector<uint8_t>* live);

  profile::FlameTree tree_;
  int64_t total_ = 0;
};

class ProfileSink : public StackSink {
 public:
  // The result has one sample type; the period is optional.
  ProfileSink(const std::string& sample_type, const std::string& sample_unit,
              const std::string& period_type = "", const std::string& period_unit = "",
              int64_t period = 0);
  void Add(const SymbolTable& symbols, std::span<const NodeValue> values) override;
  profile::Profile Finish();

 private:
  profile::ProfileBuilder builder_;
};

// Passes on only the stacks that start (root first) with the frames of
// `call_site` (a "call-site focus", Pyroscope's StackTraceSelector): frames
// are compared by function name, inlined frames count as frames of their
// own. An empty call site passes everything.
class CallSiteFilterSink : public StackSink {
 public:
  CallSiteFilterSink(std::vector<std::string> call_site, StackSink* next)
      : call_site_(std::move(call_site)), next_(next) {}
  void Add(const SymbolTable& symbols, std::span<const NodeValue> values) override;

 private:
  std::vector<std::string> call_site_;
  StackSink* next_;
};

// Per node of `symbols`, 1 when its stack starts with `call_site` (as above;
// an empty call site matches every node but the root). With `live`, only
// nodes marked there are computed (the others are 0).
std::vector<uint8_t> CallSiteNodes(const SymbolTable& symbols,
                                   const std::vector<std::string>& call_site,
                                   const std::vector<uint8_t>* live = nullptr);

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_MERGE_H_
