// Blocks: immutable on-disk directories of one tenant's profiles for a time
// range (docs/format/block.md). BlockWriter writes one from series handed
// to it in label order; Block opens one (checking magic, CRCs and every
// reference) and serves it as a ProfileSource.
//
// BlockWriter is not thread-safe. Block is thread-safe and immutable; it
// decodes the profile tables of series lazily and caches them.
#ifndef STACKHOUSE_TSDB_BLOCK_H_
#define STACKHOUSE_TSDB_BLOCK_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/env.h"
#include "profile/labels.h"
#include "tsdb/block_file.h"
#include "tsdb/postings.h"
#include "tsdb/source.h"
#include "tsdb/symbols.h"

namespace stackhouse::tsdb {

struct BlockMeta {
  int version = 1;
  std::string id;
  std::string tenant;
  int64_t min_time = 0;  // ns, inclusive
  int64_t max_time = 0;  // ns, inclusive
  int level = 1;
  uint64_t source_generation = 0;
  std::vector<std::string> sources;
  struct Stats {
    uint64_t series = 0, profiles = 0, samples = 0, partitions = 0, bytes = 0;
  } stats;

  std::string ToJson() const;
  static StatusOr<BlockMeta> FromJson(std::string_view json);
};

// A new block id: hex min time, '-', 8 random hex digits.
std::string NewBlockId(int64_t min_time);

struct BlockProfile {
  int64_t time = 0;
  int64_t duration = 0;
  std::vector<NodeValue> samples;  // sorted by node, no zeros
};

struct BlockWriterOptions {
  int zstd_level = 3;
  // Keep each partition's table as the block's reader will decode it
  // (SymbolTable::Renumbered), for TakeTables().
  bool keep_tables = false;
};

// The bucket size of the per-series aggregates ("hours" section).
inline constexpr int64_t kAggregateNs = int64_t{3600} * 1000000000;

class BlockWriter {
 public:
  BlockWriter(Env* env, std::string dir, std::string tenant, BlockWriterOptions options = {});
  ~BlockWriter();

  // Creates the directory (which must not exist) and the files.
  Status Begin();
  // Declares a partition (a service) and returns its index; its symbol
  // table is written with WritePartitionSymbols, before its series.
  uint32_t DeclarePartition(const std::string& service);
  // Writes the table with its stack nodes numbered breadth first
  // (docs/format/block.md); the partition's series, added next, are
  // renumbered to match.
  Status WritePartitionSymbols(uint32_t partition, const SymbolTable& symbols);
  // Both at once.
  StatusOr<uint32_t> AddPartition(const std::string& service, const SymbolTable& symbols);
  // Adds a series of a partition whose symbols are written; its samples'
  // nodes are the table's ids. Series come in increasing label-set order;
  // profiles are sorted by time here.
  Status AddSeries(const profile::LabelSet& labels, uint32_t partition,
                   std::vector<BlockProfile> profiles);
  // Writes index and meta (last), syncs everything. `meta` is filled in.
  Status Finish(int level, uint64_t source_generation, std::vector<std::string> sources,
                BlockMeta* meta);
  // With keep_tables: the partitions' tables, as Block::Open would read
  // them back (pass them to it). Call once, after Finish.
  std::vector<SymbolTable> TakeTables() { return std::move(tables_); }

  bool empty() const { return series_.empty(); }

 private:
  struct SeriesEntry {
    profile::LabelSet labels;
    uint32_t partition;
    int64_t min_time, max_time;
    uint64_t profiles, samples;
  };

  Env* env_;
  std::string dir_;
  std::string tenant_;
  BlockWriterOptions options_;
  std::unique_ptr<SectionWriter> symbols_;
  std::unique_ptr<SectionWriter> samples_;
  std::vector<std::string> partitions_;
  std::vector<bool> partition_written_;
  // Per partition: a table node's id in the block (breadth-first order).
  std::vector<std::vector<uint32_t>> block_node_ids_;
  std::vector<SymbolTable> tables_;  // with keep_tables
  std::vector<SeriesEntry> series_;
  // AddSeries' scratch, per node of a partition: its uses in the series,
  // then its key in the series' dictionary. All 0 between calls.
  std::vector<uint64_t> node_scratch_;
};

class Block : public ProfileSource {
 public:
  static StatusOr<std::shared_ptr<Block>> Open(Env* env, const std::string& dir);
  // Opens a block just written by a BlockWriter with keep_tables, with the
  // tables it kept instead of decoding them from symbols.bin again (its
  // other files are read and checked as by Open).
  static StatusOr<std::shared_ptr<Block>> OpenWritten(Env* env, const std::string& dir,
                                                      std::vector<SymbolTable> tables);
  ~Block() override;

  const BlockMeta& meta() const { return meta_; }
  const std::string& dir() const { return dir_; }
  size_t num_series() const { return series_.size(); }
  size_t num_partitions() const { return partitions_.size(); }
  const SymbolTable& symbols(uint32_t partition) const { return symbols_[partition]; }
  const std::string& partition_service(uint32_t partition) const { return partitions_[partition]; }

  const profile::LabelSet& series_labels(uint32_t s) const { return series_[s].labels; }
  uint32_t series_partition(uint32_t s) const { return series_[s].partition; }
  // All profiles of series s, by time.
  StatusOr<std::vector<BlockProfile>> ReadSeries(uint32_t s) const;
  // The stack nodes series s uses (its dictionary), without its samples.
  StatusOr<std::vector<uint32_t>> SeriesNodes(uint32_t s) const;
  // Every series with all its profiles, in index order (for compaction).
  using SeriesVisitor = std::function<Status(const profile::LabelSet& labels, uint32_t partition,
                                             std::vector<BlockProfile> profiles)>;
  Status VisitSeries(const SeriesVisitor& visit) const;
  // Reads and checks every section (used by tests and `fsck`-like checks).
  Status Verify() const;

  // ProfileSource.
  int64_t min_time() const override { return meta_.min_time; }
  int64_t max_time() const override { return meta_.max_time; }
  Status SelectSeries(const Selection& sel, std::vector<profile::LabelSet>* out) const override;
  Status MergeStacks(const Selection& sel, StackSink* sink) const override;
  Status Totals(const Selection& sel, const TotalsRequest& req, TotalsResult* out) const override;
  Status LabelNames(const Selection& sel, std::set<std::string>* out) const override;
  Status LabelValues(const Selection& sel, const std::string& name,
                     std::set<std::string>* out) const override;
  Status IterateProfiles(const Selection& sel, const RawProfileVisitor& visit) const override;

  struct SeriesTable;  // decoded "profiles" section of a series

 private:
  Block() = default;
  struct SeriesInfo {
    profile::LabelSet labels;
    uint32_t partition;
    int64_t min_time, max_time;
    uint64_t profiles, samples;
  };

  // Selected series ids (matching all matchers, overlapping the range).
  std::vector<uint32_t> Select(const Selection& sel) const;
  StatusOr<std::shared_ptr<const SeriesTable>> Table(uint32_t series) const;
  // Decodes chunk c of a series: per profile, its samples.
  Status ReadChunk(uint32_t series, const SeriesTable& table, uint32_t chunk,
                   std::vector<std::vector<NodeValue>>* profiles) const;
  Status ReadHours(uint32_t series, const SeriesTable& table,
                   std::vector<std::pair<int64_t, std::vector<NodeValue>>>* hours) const;

  Env* env_ = nullptr;
  std::string dir_;
  BlockMeta meta_;
  std::vector<std::string> partitions_;
  std::vector<SymbolTable> symbols_;
  std::vector<SeriesInfo> series_;
  PostingsIndex postings_;
  std::unique_ptr<SectionReader> samples_;
  mutable std::mutex cache_mu_;
  mutable std::vector<std::shared_ptr<const SeriesTable>> tables_;
};

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_BLOCK_H_
