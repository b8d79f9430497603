#include "sampler/collector.h"

#include <algorithm>

#include "base/hash.h"

namespace stackhouse::sampler {

size_t StackKeyHash::operator()(const StackKey& k) const {
  uint64_t h = HashBytes(k.pcs.data(), k.pcs.size() * sizeof(uintptr_t));
  return static_cast<size_t>(HashMix(h, (uint64_t{k.labels} << 1) | k.leaf_is_exact));
}

bool Interval::empty() const {
  for (const auto& m : samples) {
    if (!m.empty()) return false;
  }
  return inuse.empty();
}

uint32_t Collector::LocalLabels(uint32_t id) {
  if (id == 0) return 0;
  auto cached = id_cache_.find(id);
  if (cached != id_cache_.end()) return cached->second;
  LabelPairs pairs;
  uint32_t index = 0;
  if (ResolveLabelSet(id, &pairs) && !pairs.empty()) {
    auto [it, inserted] = label_index_.emplace(pairs, static_cast<uint32_t>(current_.label_sets.size()));
    if (inserted) current_.label_sets.push_back(std::move(pairs));
    index = it->second;
  }
  id_cache_[id] = index;
  return index;
}

void Collector::Drain(SampleRing* ring, std::vector<uintptr_t>* new_exact,
                      std::vector<uintptr_t>* new_return) {
  auto note_new = [&](const StackKey& key) {
    if (new_exact == nullptr || key.pcs.empty()) return;
    size_t first = 0;
    if (key.leaf_is_exact) {
      new_exact->push_back(key.pcs[0]);
      first = 1;
    }
    new_return->insert(new_return->end(), key.pcs.begin() + first, key.pcs.end());
  };
  id_cache_.clear();  // ids may be reused once freed; resolve afresh each drain
  // Runs of records with one stack (a hot allocation site, a tight loop)
  // find their entry again without hashing: the last entry of each profile
  // kind is compared with the record first.
  auto entry = [&](int kind, const StackKey& key) -> std::pair<const StackKey, Values>& {
    std::pair<const StackKey, Values>* last = last_entry_[kind];
    if (last != nullptr && last->first == key) return *last;
    auto [it, inserted] = current_.samples[kind].try_emplace(key);
    if (inserted) note_new(key);
    last_entry_[kind] = &*it;
    return *it;
  };
  uint64_t records = 0;
  while (const SampleRecord* r = ring->Peek()) {
    ++records;
    StackKey& key = scratch_;  // reused: no allocation unless the stack is new
    key.labels = LocalLabels(r->label_set);
    key.leaf_is_exact = false;
    key.pcs.assign(r->pcs, r->pcs + r->depth);
    double weight = r->weight / 1024.0;
    switch (r->kind) {
      case SampleKind::kCpu:
      case SampleKind::kWall: {
        key.leaf_is_exact = true;
        Values& v = entry(r->kind == SampleKind::kCpu ? kCpuProfile : kWallProfile, key).second;
        v.a += 1;
        v.b += static_cast<double>(r->value);
        break;
      }
      case SampleKind::kAlloc: {
        auto& e = entry(kAllocProfile, key);
        Values& v = e.second;
        v.a += weight;
        v.b += weight * static_cast<double>(r->value);
        if (r->address != 0) {
          // A block at the same address that is still in the set was freed
          // (its address was reused): the newer allocation replaces it. The
          // ring's shards are drained one after another, so the older one's
          // record may come second: the stamps decide.
          auto [ap, fresh] = live_.TryEmplace(r->address);
          LiveAllocation& a = *ap;
          if (fresh || r->stamp >= a.stamp) {
            a.in_interval = &e.first;
            a.objects = weight;
            a.bytes = weight * static_cast<double>(r->value);
            a.stamp = r->stamp;
          }
          if (live_.slots() >= prune_at_) PruneFreed();
        }
        break;
      }
      case SampleKind::kFree:
        live_.Erase(r->address);
        break;
      case SampleKind::kLock: {
        Values& v = entry(kLockProfile, key).second;
        v.a += weight;
        v.b += weight * static_cast<double>(r->value);
        break;
      }
    }
    ring->Release();
  }
  records_.fetch_add(records, std::memory_order_relaxed);
}

std::pair<LiveAllocation*, bool> LiveAllocations::TryEmplace(uint64_t addr) {
  const auto next = static_cast<uint32_t>(entries_.size());
  const uint32_t i = index_.FindOrInsert(Key(addr), next);
  if (i == next) {
    entries_.push_back({addr, false, LiveAllocation()});
    ++live_;
    return {&entries_.back().a, true};
  }
  Entry& e = entries_[i];
  if (!e.erased) return {&e.a, false};
  e.erased = false;
  e.a = LiveAllocation();
  ++live_;
  return {&e.a, true};
}

void LiveAllocations::Erase(uint64_t addr) {
  const uint32_t i = index_.Find(Key(addr));
  if (i == HashKeyIndex::kEmpty || entries_[i].erased) return;
  entries_[i].erased = true;
  entries_[i].a = LiveAllocation();
  --live_;
}

void LiveAllocations::Reindex() {
  index_.Clear();
  index_.Reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) index_.FindOrInsert(Key(entries_[i].addr), static_cast<uint32_t>(i));
  live_ = entries_.size();
}

void Collector::PruneFreed() {
  // (Erased entries go in any case.)
  live_.Compact([&](uint64_t addr, const LiveAllocation&) { return is_live_ == nullptr || is_live_(addr); });
  prune_at_ = std::max<size_t>(1024, 2 * live_.size());
}

Interval Collector::Cut(int64_t now_ns, int64_t covered_ns, uint64_t dropped_total) {
  PruneFreed();
  for (auto& last : last_entry_) last = nullptr;  // they point into the interval leaving
  Interval out = std::move(current_);
  out.end_ns = now_ns;
  out.covered_ns = covered_ns;
  out.dropped = dropped_total - last_dropped_;
  last_dropped_ = dropped_total;
  // The in-use snapshot keeps the label sets of live allocations reachable:
  // copy them into this interval's table.
  live_.ForEach([&](uint64_t, LiveAllocation& a) {
    Values& v = out.inuse[a.stack()];
    v.a += a.objects;
    v.b += a.bytes;
    // The interval's keys go with it: survivors keep a copy.
    if (a.in_interval != nullptr) {
      a.owned = *a.in_interval;
      a.in_interval = nullptr;
    }
  });
  // Live allocations refer to label indexes of the interval they were taken
  // in; re-home them into the next interval's table.
  current_ = Interval();
  current_.start_ns = now_ns;
  std::map<LabelPairs, uint32_t> next_index;
  live_.ForEach([&](uint64_t, LiveAllocation& a) {
    if (a.owned.labels == 0) return;
    const LabelPairs& pairs = out.label_sets[a.owned.labels];
    auto [it, inserted] = next_index.emplace(pairs, static_cast<uint32_t>(current_.label_sets.size()));
    if (inserted) current_.label_sets.push_back(pairs);
    a.owned.labels = it->second;
  });
  label_index_ = std::move(next_index);
  id_cache_.clear();
  return out;
}

}  // namespace stackhouse::sampler
