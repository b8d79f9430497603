// The profile interpreter's built-in analyzer: deterministic, no network.
// Given one profile (a merged selection) it finds the hotspots (top self
// functions with the path that leads to each), where the time goes by
// component (own code, runtimes, libc, kernel, libraries), and known costly
// patterns recognised from frame names (allocation, GC, locks, syscalls and
// I/O, serialization, regex compilation, formatting and logging, hashing and
// compression, memcpy, exceptions, dynamic linking, page faults, spinning).
// Given a baseline too, it finds what grew and shrank, what is new, and
// where a regression is concentrated. Every finding carries its numbers.
#ifndef STACKHOUSE_QUERY_EXPLAIN_H_
#define STACKHOUSE_QUERY_EXPLAIN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::query {

struct Finding {
  std::string category;   // hotspot, component, allocation, lock_contention, ..., regression, improvement, new_code
  std::string title;      // one line, with its numbers
  std::vector<std::string> functions;  // the functions involved, most important first
  std::vector<std::string> path;       // the call path (root first) that leads there
  double share = 0;        // of the profile's total (comparison's total for a diff)
  int64_t value = 0;       // in the sample type's unit
  int64_t delta = 0;       // diffs: absolute change
  double delta_share = 0;  // diffs: change of share (comparison - baseline), in points of 1
  double confidence = 0;   // 0..1
  std::string next_step;   // what to do or look at next
  // A hotspot by attribution: time spent below this (own) function, in the
  // runtime or libraries it calls; ranked below a pattern of the same size.
  bool attributed = false;
};

struct Explanation {
  std::string sample_type, unit;
  int64_t total = 0;           // comparison's total for a diff
  int64_t baseline_total = 0;  // diffs
  bool diff = false;
  std::vector<Finding> findings;  // most important first
};

struct ExplainOptions {
  int type_index = -1;      // -1 = the profile's default sample type
  size_t max_hotspots = 5;
  double min_share = 0.03;  // patterns and components below this share are left out
};

// One profile.
StatusOr<Explanation> Explain(const profile::Profile& profile, const ExplainOptions& options = {});
// A comparison against a baseline (same sample type by name).
StatusOr<Explanation> ExplainDiff(const profile::Profile& baseline, const profile::Profile& comparison,
                                  const ExplainOptions& options = {});

// Anomalies over time: the functions whose share of `selection` moved
// beyond their normal variation, judged against earlier periods (the
// preceding period of the same length, the same hours a day and a week
// before: whichever have data). With two or more baselines the normal
// variation is their spread; with one, a change must be both large (5
// points) and relative (half again, or half less). Findings of category
// "anomaly", largest move first.
struct Baseline {
  std::string name;  // "the previous hour", "a day before", ...
  const profile::Profile* profile;
};
std::vector<Finding> FindAnomalies(const profile::Profile& selection, const std::vector<Baseline>& baselines,
                                   const ExplainOptions& options = {});
// The earlier periods a selection of length `range_ns` is compared with for
// anomalies: (name, how far back), e.g. {"the preceding period", range_ns}.
std::vector<std::pair<std::string, int64_t>> AnomalyBaselineShifts(int64_t range_ns);

// A share of a total as findings write it: "52%", "3.1%".
std::string FormatShare(double share);

// Adds findings (e.g. anomalies) to an explanation, keeping it ranked.
void AddFindings(Explanation* e, std::vector<Finding> findings);

// {"sample_type":..,"unit":..,"total":..,"findings":[{...}]}.
std::string ExplanationJson(const Explanation& e);
// A short report with the sections Bottleneck, Root cause and Recommendation;
// every claim cites its numbers and function names.
std::string ExplanationMarkdown(const Explanation& e);

}  // namespace stackhouse::query

#endif  // STACKHOUSE_QUERY_EXPLAIN_H_
