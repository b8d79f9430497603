// Collector: drains the sample ring on the profiler's thread and aggregates
// records per upload interval: identical (labels, stack) pairs are summed;
// heap samples are matched with their frees to keep the in-use set.
// Thread-compatible: only the profiler's aggregation thread uses it.
#ifndef STACKHOUSE_SAMPLER_COLLECTOR_H_
#define STACKHOUSE_SAMPLER_COLLECTOR_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "base/hash.h"
#include "sampler/labels.h"
#include "sampler/ring.h"

namespace stackhouse::sampler {

struct StackKey {
  uint32_t labels = 0;           // index into Interval::label_sets
  bool leaf_is_exact = false;    // pcs[0] is an interrupted pc, not a return address
  std::vector<uintptr_t> pcs;
  bool operator==(const StackKey& o) const = default;
};
struct StackKeyHash {
  size_t operator()(const StackKey& k) const;
};

// Summed values per stack; the meaning depends on the profile:
//   cpu/wall: a = samples, b = nanoseconds
//   alloc:    a = objects, b = bytes (both scaled by the sampling weight)
//   lock:     a = contentions, b = delay ns (scaled)
struct Values {
  double a = 0;
  double b = 0;
};

enum ProfileKind { kCpuProfile = 0, kWallProfile, kAllocProfile, kLockProfile, kNumProfileKinds };

struct LiveAllocation {
  // The stack: during the interval it was sampled in, the key of that
  // interval's alloc profile (node keys do not move); copied into `owned`
  // only if the block is still live when the interval is cut.
  const StackKey* in_interval = nullptr;
  StackKey owned;
  double objects = 0;  // weight
  double bytes = 0;    // size x weight
  uint64_t stamp = 0;  // the record's (SampleRecord::stamp)
  const StackKey& stack() const { return in_interval != nullptr ? *in_interval : owned; }
};

struct Interval {
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t covered_ns = 0;  // time sampling was on (duty cycling)
  std::vector<LabelPairs> label_sets{LabelPairs{}};
  std::unordered_map<StackKey, Values, StackKeyHash> samples[kNumProfileKinds];
  // In-use heap at the end of the interval, aggregated by stack.
  std::unordered_map<StackKey, Values, StackKeyHash> inuse;
  uint64_t dropped = 0;  // ring overflows during the interval
  bool empty() const;
};

// Sampled address -> live allocation: the entries in one vector, found
// through an open-addressing index (a node per allocation, as a
// std::unordered_map keeps, cost the aggregator a cache miss or two per
// record). Erased entries stay as holes until Compact() drops them.
class LiveAllocations {
 public:
  // The allocation at `addr` and true if it is new (or was erased), else the
  // existing one and false.
  std::pair<LiveAllocation*, bool> TryEmplace(uint64_t addr);
  void Erase(uint64_t addr);
  size_t size() const { return live_; }
  size_t slots() const { return entries_.size(); }  // erased ones included
  // Keeps the entries for which keep(addr, allocation) is true.
  template <typename Keep>
  void Compact(Keep&& keep) {
    size_t out = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].erased || !keep(entries_[i].addr, entries_[i].a)) continue;
      if (out != i) entries_[out] = std::move(entries_[i]);
      ++out;
    }
    entries_.resize(out);
    Reindex();
  }
  template <typename F>
  void ForEach(F&& f) {
    for (Entry& e : entries_) {
      if (!e.erased) f(e.addr, e.a);
    }
  }

 private:
  struct Entry {
    uint64_t addr;
    bool erased;
    LiveAllocation a;
  };
  static uint64_t Key(uint64_t addr) { return addr * 0x9E3779B97F4A7C15ull; }  // a bijection
  void Reindex();
  std::vector<Entry> entries_;
  HashKeyIndex index_;  // Key(addr) -> position in entries_
  size_t live_ = 0;
};

class Collector {
 public:
  // Drains every published record from `ring` into the current interval.
  // The pcs of stacks not seen before in this interval are appended to
  // *new_exact (interrupted pcs) and *new_return (return addresses), so the
  // caller can symbolize them while their libraries are still loaded.
  void Drain(SampleRing* ring, std::vector<uintptr_t>* new_exact = nullptr,
             std::vector<uintptr_t>* new_return = nullptr);
  // Closes the current interval at `now_ns` and starts the next.
  Interval Cut(int64_t now_ns, int64_t covered_ns, uint64_t dropped_total);
  void Start(int64_t now_ns) { current_.start_ns = now_ns; }
  // Frees of sampled blocks are not queued: the hooks only forget the
  // address (heap_filter.h). With a check set, the collector asks it which
  // of its live allocations are still remembered, before each in-use
  // snapshot and whenever the live set has doubled. A kFree record still
  // forgets its address at once.
  void set_live_check(bool (*is_live)(uintptr_t)) { is_live_ = is_live; }
  uint64_t records() const { return records_.load(std::memory_order_relaxed); }

 private:
  uint32_t LocalLabels(uint32_t id);
  void PruneFreed();
  StackKey scratch_;
  Interval current_;
  std::map<LabelPairs, uint32_t> label_index_;
  std::unordered_map<uint32_t, uint32_t> id_cache_;  // global set id -> index, this drain
  LiveAllocations live_;
  // Per profile kind, the entry the last record went to (Drain).
  std::pair<const StackKey, Values>* last_entry_[kNumProfileKinds] = {};
  bool (*is_live_)(uintptr_t) = nullptr;
  size_t prune_at_ = 1024;  // live_ size that triggers the next PruneFreed
  uint64_t last_dropped_ = 0;
  std::atomic<uint64_t> records_{0};
};

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_COLLECTOR_H_
