#include "tsdb/postings.h"

#include <algorithm>
#include <numeric>

namespace stackhouse::tsdb {

void PostingsIndex::Add(const profile::LabelSet& labels, uint32_t id) {
  for (const auto& lp : labels.pairs()) {
    auto& ids = index_[lp.name][lp.value];
    if (ids.empty() || ids.back() < id) ids.push_back(id);
  }
}

void PostingsIndex::Set(const std::string& name, const std::string& value,
                        std::vector<uint32_t> ids) {
  index_[name][value] = std::move(ids);
}

std::vector<uint32_t> Intersect(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<uint32_t> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<uint32_t> PostingsIndex::Select(std::span<const profile::Matcher> matchers,
                                            size_t num_series) const {
  const std::vector<uint32_t>* first = nullptr;
  std::vector<uint32_t> result;
  bool have = false;
  for (const profile::Matcher& m : matchers) {
    if (m.op() != profile::MatchOp::kEqual || m.value().empty()) continue;
    auto n = index_.find(m.name());
    if (n == index_.end()) return {};
    auto v = n->second.find(m.value());
    if (v == n->second.end()) return {};
    if (!have) {
      first = &v->second;
      have = true;
    } else {
      result = Intersect(first ? *first : result, v->second);
      first = nullptr;
    }
    if (!first && result.empty()) return {};
  }
  if (have) return first ? *first : result;
  std::vector<uint32_t> all(num_series);
  std::iota(all.begin(), all.end(), 0);
  return all;
}

bool MatchesAll(std::span<const profile::Matcher> matchers, const profile::LabelSet& labels) {
  for (const profile::Matcher& m : matchers) {
    if (!m.Matches(labels)) return false;
  }
  return true;
}

}  // namespace stackhouse::tsdb
