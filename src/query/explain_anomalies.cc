// FindAnomalies (explain.h): shares of self time per function, the selection
// against earlier periods of the same service.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <unordered_map>

#include "base/strings.h"
#include "query/explain.h"

namespace stackhouse::query {
namespace {

// Function name (the innermost frame of each sample) -> share of the total.
std::unordered_map<std::string, double> SelfShares(const profile::Profile& p, const std::string& type_name,
                                                   int64_t* total_out) {
  std::unordered_map<std::string, double> out;
  int type = p.FindSampleType(type_name);
  *total_out = 0;
  if (type < 0) return out;
  std::unordered_map<uint32_t, int64_t> by_loc;
  int64_t total = 0;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    int64_t v = p.sample_values(i)[static_cast<size_t>(type)];
    auto st = p.sample_stack(i);
    if (v == 0 || st.empty()) continue;
    by_loc[st[0]] += v;
    total += v;
  }
  for (const auto& [loc, v] : by_loc) {
    const profile::Location& l = p.locations[loc];
    auto lines = p.location_lines(l);
    const profile::Function* f = lines.empty() ? nullptr : p.function(lines[0].function);
    std::string name = f != nullptr && f->name != 0 ? std::string(p.str(f->name)) : p.FrameName(l);
    out[name] += static_cast<double>(v);
  }
  for (auto& [name, v] : out) v /= static_cast<double>(std::max<int64_t>(total, 1));
  *total_out = total;
  return out;
}

}  // namespace

std::vector<Finding> FindAnomalies(const profile::Profile& selection, const std::vector<Baseline>& baselines,
                                   const ExplainOptions& options) {
  std::vector<Finding> out;
  int type = options.type_index >= 0 ? options.type_index : selection.DefaultSampleTypeIndex();
  if (type < 0 || static_cast<size_t>(type) >= selection.num_types()) return out;
  const std::string type_name(selection.str(selection.sample_types[static_cast<size_t>(type)].type));
  int64_t total = 0;
  auto now = SelfShares(selection, type_name, &total);
  if (total == 0) return out;
  struct Base {
    std::string name;
    std::unordered_map<std::string, double> shares;
  };
  std::vector<Base> bases;
  for (const Baseline& b : baselines) {
    int64_t t = 0;
    auto shares = SelfShares(*b.profile, type_name, &t);
    if (t > 0) bases.push_back({b.name, std::move(shares)});
  }
  if (bases.empty()) return out;
  // Every function present now or before.
  std::map<std::string, bool> names;
  for (const auto& [n, s] : now) names[n] = true;
  for (const Base& b : bases) {
    for (const auto& [n, s] : b.shares) names[n] = true;
  }
  struct Move {
    std::string name;
    double now, before, sigma, score;
  };
  std::vector<Move> moves;
  for (const auto& [name, unused] : names) {
    auto it = now.find(name);
    double s = it == now.end() ? 0 : it->second;
    std::vector<double> past;
    for (const Base& b : bases) {
      auto p = b.shares.find(name);
      past.push_back(p == b.shares.end() ? 0 : p->second);
    }
    double mean = 0;
    for (double x : past) mean += x;
    mean /= static_cast<double>(past.size());
    double var = 0;
    for (double x : past) var += (x - mean) * (x - mean);
    double sigma = past.size() > 1 ? std::sqrt(var / static_cast<double>(past.size() - 1)) : 0;
    double delta = s - mean;
    bool beyond;
    if (past.size() > 1) {
      beyond = std::abs(delta) > std::max(3 * sigma, 0.03);
    } else {
      beyond = std::abs(delta) >= 0.05 && (mean == 0 || s / mean >= 1.5 || s / mean <= 0.5);
    }
    if (!beyond || std::max(s, mean) < options.min_share) continue;
    moves.push_back({name, s, mean, sigma, std::abs(delta)});
  }
  std::sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) { return a.score > b.score; });
  std::string against;
  for (size_t i = 0; i < bases.size(); ++i) against += (i == 0 ? "" : i + 1 == bases.size() ? " and " : ", ") + bases[i].name;
  for (size_t i = 0; i < moves.size() && i < 5; ++i) {
    const Move& m = moves[i];
    Finding f;
    f.category = "anomaly";
    f.functions = {m.name};
    f.share = m.now;
    f.value = static_cast<int64_t>(std::llround(m.now * static_cast<double>(total)));
    f.delta_share = m.now - m.before;
    f.confidence = bases.size() > 1 ? 0.8 : 0.6;
    f.title = StrCat(m.name, m.now > m.before ? " rose" : " fell", " to ", FormatShare(m.now), " of ", type_name,
                     " (self), from ", FormatShare(m.before), " in ", against,
                     bases.size() > 1 ? StrCat(" (normal variation ±", FormatShare(m.sigma), ")") : std::string());
    f.next_step = m.now > m.before
                      ? StrCat("Check what changed for ", m.name, " since then: a deploy, more traffic of a kind, or data growth.")
                      : StrCat(m.name, " does less than before: expected if it was optimized; otherwise check that its work is still done.");
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace stackhouse::query
