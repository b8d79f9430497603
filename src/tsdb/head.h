// Head: the in-memory part of the store, holding the profiles of the current
// generation until they are cut into blocks.
//
// Layout: tenants -> (series index with postings, partitions); a partition
// (one service) owns its symbol table, the sample pools and the profiles of
// its series. Locking: a tenant's shared_mutex guards its series index and
// partition list; a partition's shared_mutex guards its symbols and data.
// Lock order is tenant, then partition. Appends to different services of a
// tenant run in parallel; reads take shared locks and see every append that
// completed before they started.
//
// Thread-safe.
#ifndef STACKHOUSE_TSDB_HEAD_H_
#define STACKHOUSE_TSDB_HEAD_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "profile/labels.h"
#include "profile/profile.h"
#include "tsdb/source.h"
#include "tsdb/symbols.h"

namespace stackhouse::tsdb {

// One profile of one partition, split into series.
struct AppendRequest {
  std::string tenant;
  std::string service;
  const profile::Profile* profile = nullptr;
  int64_t time_nanos = 0;
  int64_t duration_nanos = 0;
  // Each series takes one sample-type column of the samples in one group.
  struct Series {
    profile::LabelSet labels;  // complete: service_name, __name__, __profile_type__, ...
    int type_index = 0;
    uint32_t group = 0;
  };
  std::vector<Series> series;
  // The group of each sample (e.g. by its labels); empty means all in group 0.
  std::vector<uint32_t> sample_groups;
};

struct HeadLimits {
  size_t max_series_per_tenant = 100000;
};

class Head {
 public:
  explicit Head(uint64_t generation, HeadLimits limits = {});
  ~Head();

  uint64_t generation() const { return generation_; }
  int64_t min_time() const { return min_time_.load(std::memory_order_relaxed); }
  int64_t max_time() const { return max_time_.load(std::memory_order_relaxed); }
  size_t num_profiles() const { return profiles_.load(std::memory_order_relaxed); }
  size_t num_series() const;
  // Approximate memory use.
  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  bool empty() const { return num_profiles() == 0; }

  // Appends one profile of a partition, split into series. Samples with a
  // zero value in a series' column are left out of that series. `wal` is called
  // once, under the partition's lock, with the encoded WAL record (format
  // docs/format/wal_records.md), and returns the WAL sequence number, which
  // Append returns. Fails (before changing anything) if a series limit would
  // be exceeded.
  StatusOr<uint64_t> Append(const AppendRequest& request,
                            const std::function<uint64_t(std::string_view record)>& wal);

  // Applies an append record during WAL replay (the record without its type byte).
  Status Replay(std::string_view record);

  // Continues the symbol tables of `previous`, the head this one replaces
  // (before any append): a service's first append here copies its table
  // instead of interning every symbol again, and its WAL record carries the
  // whole table (so that replay still starts each generation empty). A table
  // that has already spanned `max_generations` heads, or is bigger than
  // `max_bytes`, is not carried: its symbols no longer used are dropped.
  struct CarryLimits {
    int max_generations = 4;
    size_t max_bytes = size_t{64} << 20;
  };
  void CarrySymbolsFrom(const Head& previous, const CarryLimits& limits);

  // The read interface over the head's current contents.
  const ProfileSource& source() const;

  // Tenants with data, for cutting.
  std::vector<std::string> Tenants() const;

  // Visits every series of a tenant for block building, under the
  // appropriate locks: fn(labels, partition service, symbols, profiles)
  // with each profile's (time, duration, samples).
  struct SeriesProfile {
    int64_t time;
    int64_t duration;
    std::span<const NodeValue> samples;
  };
  using SeriesVisitor = std::function<void(const profile::LabelSet& labels, uint32_t partition,
                                           const std::vector<SeriesProfile>& profiles)>;
  using PartitionVisitor = std::function<void(uint32_t partition, const std::string& service,
                                              const SymbolTable& symbols)>;
  void VisitTenant(const std::string& tenant, const PartitionVisitor& partitions,
                   const SeriesVisitor& series) const;

  struct TenantHead;
  struct Partition;

 private:
  class Source;
  friend class Source;

  TenantHead* GetOrCreateTenant(const std::string& tenant);
  const TenantHead* FindTenant(const std::string& tenant) const;
  void NoteTime(int64_t t);

  const uint64_t generation_;
  const HeadLimits limits_;
  mutable std::shared_mutex mu_;  // guards tenants_
  std::map<std::string, std::unique_ptr<TenantHead>> tenants_;
  std::atomic<int64_t> min_time_{INT64_MAX};
  std::atomic<int64_t> max_time_{INT64_MIN};
  std::atomic<size_t> profiles_{0};
  std::atomic<size_t> bytes_{0};
  std::unique_ptr<Source> source_;
};

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_HEAD_H_
