// Flat and cumulative totals per function, like `go tool pprof -top`.
// Flat is the value of samples whose leaf frame is the function; cum is the
// value of samples with the function anywhere on the stack (counted once per
// sample even under recursion). Thread-safe (pure function).
#ifndef STACKHOUSE_PROFILE_TOP_H_
#define STACKHOUSE_PROFILE_TOP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "profile/profile.h"

namespace stackhouse::profile {

struct TopEntry {
  std::string name;
  int64_t flat = 0;
  int64_t cum = 0;
};

struct TopTable {
  int64_t total = 0;
  std::vector<TopEntry> entries;  // sorted by flat (or cum), then name
};

// Computes the table for sample type `type_index`. With by_cum, entries are
// sorted by cumulative value.
TopTable ComputeTop(const Profile& profile, int type_index, bool by_cum = false);

// Renders the table as text in go tool pprof's column layout, at most n rows.
std::string FormatTop(const TopTable& table, std::string_view unit, size_t n);

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_TOP_H_
