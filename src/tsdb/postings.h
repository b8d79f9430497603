// PostingsIndex: label name -> value -> sorted series ids, the inverted
// index that answers selectors. Used by the head (built incrementally) and
// by blocks (loaded from index.bin). Not thread-safe; callers lock.
#ifndef STACKHOUSE_TSDB_POSTINGS_H_
#define STACKHOUSE_TSDB_POSTINGS_H_

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "profile/labels.h"

namespace stackhouse::tsdb {

class PostingsIndex {
 public:
  // Adds a series; ids must be added in increasing order.
  void Add(const profile::LabelSet& labels, uint32_t id);
  // Adds a whole postings list (block loading); ids sorted.
  void Set(const std::string& name, const std::string& value, std::vector<uint32_t> ids);

  // Candidate series for the matchers, sorted: the intersection of the
  // postings of every equality matcher with a non-empty value, or all
  // `num_series` ids when there is none. Callers still check every matcher.
  std::vector<uint32_t> Select(std::span<const profile::Matcher> matchers,
                               size_t num_series) const;

  // name -> value -> ids.
  const std::map<std::string, std::map<std::string, std::vector<uint32_t>, std::less<>>,
                 std::less<>>&
  entries() const {
    return index_;
  }

 private:
  std::map<std::string, std::map<std::string, std::vector<uint32_t>, std::less<>>, std::less<>>
      index_;
};

// True if every matcher matches the labels.
bool MatchesAll(std::span<const profile::Matcher> matchers, const profile::LabelSet& labels);

// Intersection of two sorted id lists.
std::vector<uint32_t> Intersect(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_POSTINGS_H_
