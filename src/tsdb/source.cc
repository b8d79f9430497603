#include "tsdb/source.h"

namespace stackhouse::tsdb {

void AppendNonZeroSums(std::span<const int64_t> sums, std::vector<NodeValue>* out) {
  for (size_t n = 0; n < sums.size(); ++n) {
    if (sums[n] != 0) out->push_back({static_cast<uint32_t>(n), sums[n]});
  }
}

void StackSink::AddDense(const SymbolTable& symbols, std::span<const int64_t> sums) {
  std::vector<NodeValue> values;
  AppendNonZeroSums(sums, &values);
  if (!values.empty()) Add(symbols, values);
}

TotalsResult::TotalsResult(int64_t from, int64_t to, int64_t step)
    : from_(from), step_(step > 0 ? step : 1) {
  __int128 span = static_cast<__int128>(to) - from;
  if (span <= 0) {
    buckets_ = 0;
  } else {
    __int128 n = (span + step_ - 1) / step_;
    buckets_ = n > (1 << 20) ? (1 << 20) : static_cast<size_t>(n);
  }
}

void TotalsResult::Add(const std::string& group, int64_t time, int64_t value) {
  if (time < from_ || buckets_ == 0) return;
  uint64_t idx = static_cast<uint64_t>((static_cast<__int128>(time) - from_) / step_);
  if (idx >= buckets_) return;
  auto& v = groups_[group];
  auto& c = counts_[group];
  if (v.empty()) {
    v.assign(buckets_, 0);
    c.assign(buckets_, 0);
  }
  v[idx] += value;
  c[idx] += 1;
}

std::string TotalsRequest::GroupOf(const profile::LabelSet& labels) const {
  std::string out;
  for (size_t i = 0; i < group_by.size(); ++i) {
    if (i > 0) out.push_back(kGroupSeparator);
    out.append(labels.Get(group_by[i]));
  }
  return out;
}

}  // namespace stackhouse::tsdb
