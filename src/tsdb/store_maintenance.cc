// Store maintenance: cutting the head into blocks, compaction, retention,
// and the background thread that runs them. None of it blocks appends or
// queries for longer than swapping a pointer: new blocks are written off to
// the side and published in a new immutable State.
#include <algorithm>
#include <map>

#include "base/strings.h"
#include "base/varint.h"
#include "tsdb/sample_codec.h"
#include "tsdb/store.h"
#include "tsdb/store_state.h"

namespace stackhouse::tsdb {


Status Store::WriteHeadBlocks(const Head& head, std::vector<std::shared_ptr<const Block>>* out) {
  for (const std::string& tenant : head.Tenants()) {
    std::string dir = TenantDir(tenant) + "/blocks/" + NewBlockId(head.min_time());
    BlockWriterOptions bo;
    bo.zstd_level = options_.cut_zstd_level;
    bo.keep_tables = true;
    BlockWriter w(env_, dir, tenant, bo);
    SH_RETURN_IF_ERROR(w.Begin());
    Status status;
    head.VisitTenant(
        tenant,
        [&](uint32_t partition, const std::string& service, const SymbolTable& symbols) {
          if (!status.ok()) return;
          auto p = w.AddPartition(service, symbols);
          if (!p.ok()) status = p.status();
        },
        [&](const profile::LabelSet& labels, uint32_t partition,
            const std::vector<Head::SeriesProfile>& profiles) {
          if (!status.ok()) return;
          std::vector<BlockProfile> bp;
          bp.reserve(profiles.size());
          for (const auto& p : profiles) {
            bp.push_back({p.time, p.duration, {p.samples.begin(), p.samples.end()}});
          }
          status = w.AddSeries(labels, partition, std::move(bp));
        });
    SH_RETURN_IF_ERROR(status);
    BlockMeta meta;
    SH_RETURN_IF_ERROR(w.Finish(1, head.generation(), {}, &meta));
    SH_ASSIGN_OR_RETURN(std::shared_ptr<Block> block, Block::OpenWritten(env_, dir, w.TakeTables()));
    out->push_back(std::move(block));
  }
  return OkStatus();
}

Status Store::CutHead() {
  std::lock_guard maintenance(maintenance_mu_);
  if (failed_.load()) return FailureStatus();
  std::shared_ptr<Head> old;
  uint64_t first_segment;
  {
    std::unique_lock lock(append_mu_);
    if (head_->empty()) return OkStatus();
    old = head_;
    uint64_t gen = old->generation() + 1;
    auto seg = wal_->Rotate();
    Status s = seg.ok() ? wal_->AppendAndSync(std::string(1, '\x01') + [&] {
                            std::string v;
                            PutUvarint(&v, gen);
                            return v;
                          }())
                        : seg.status();
    if (!s.ok()) {
      Fail(s);
      return s;
    }
    first_segment = *seg;
    HeadLimits hl;
    hl.max_series_per_tenant = options_.limits.max_series_per_tenant;
    head_ = std::make_shared<Head>(gen, hl);
    head_->CarrySymbolsFrom(*old, {});
    auto st = std::make_shared<State>(*state());
    st->head = head_;
    st->cutting.push_back(old);
    Publish(st);
  }
  std::vector<std::shared_ptr<const Block>> blocks;
  Status s = WriteHeadBlocks(*old, &blocks);
  if (!s.ok()) {
    // The head stays queryable and in the WAL; the next restart rebuilds it.
    Log("store: cutting generation " + std::to_string(old->generation()) + " failed: " +
        s.message());
    return s;
  }
  {
    auto st = std::make_shared<State>(*state());
    st->cutting.erase(std::remove(st->cutting.begin(), st->cutting.end(), old), st->cutting.end());
    st->blocks.insert(st->blocks.end(), blocks.begin(), blocks.end());
    Publish(st);
  }
  SH_RETURN_IF_ERROR(WriteCheckpoint(old->generation(), first_segment));
  SH_RETURN_IF_ERROR(wal_->RemoveSegmentsBefore(first_segment));
  {
    std::lock_guard lock(stats_mu_);
    ++counters_.cuts;
  }
  Log(StrCat("store: cut generation ", old->generation(), " (", old->num_profiles(),
             " profiles) into ", blocks.size(), " blocks"));
  return OkStatus();
}

Status Store::CompactGroup(const std::vector<std::shared_ptr<const Block>>& group,
                           std::shared_ptr<const Block>* out) {
  const std::string& tenant = group[0]->meta().tenant;
  int level = 0;
  int64_t min_time = INT64_MAX;
  std::vector<std::string> sources;
  for (const auto& b : group) {
    level = std::max(level, b->meta().level);
    min_time = std::min(min_time, b->meta().min_time);
    // Transitively: a block that was replaced but not yet deleted when we
    // crash must still be recognised as replaced on restart.
    sources.push_back(b->meta().id);
    sources.insert(sources.end(), b->meta().sources.begin(), b->meta().sources.end());
  }
  // Series across the group, by label set; partitions by service.
  std::map<profile::LabelSet, std::vector<std::pair<size_t, uint32_t>>> series;
  std::map<std::string, uint32_t> services;
  for (size_t bi = 0; bi < group.size(); ++bi) {
    for (uint32_t s = 0; s < group[bi]->num_series(); ++s) {
      series[group[bi]->series_labels(s)].push_back({bi, s});
    }
    for (uint32_t p = 0; p < group[bi]->num_partitions(); ++p) {
      services.emplace(group[bi]->partition_service(p), 0);
    }
  }
  std::string dir = TenantDir(tenant) + "/blocks/" + NewBlockId(min_time);
  BlockWriterOptions bo;
  bo.zstd_level = options_.compact_zstd_level;
  bo.keep_tables = true;
  BlockWriter w(env_, dir, tenant, bo);
  SH_RETURN_IF_ERROR(w.Begin());
  std::vector<SymbolTable> tables(services.size());
  for (auto& [service, index] : services) index = w.DeclarePartition(service);
  // One importer per (block, partition), created on first use.
  std::map<std::pair<size_t, uint32_t>, std::unique_ptr<TableImporter>> importers;
  auto importer = [&](size_t bi, uint32_t part) -> TableImporter& {
    auto& imp = importers[{bi, part}];
    if (!imp) {
      uint32_t dst = services.at(group[bi]->partition_service(part));
      imp = std::make_unique<TableImporter>(&tables[dst], group[bi]->symbols(part));
    }
    return *imp;
  };
  // The tables first (the writer numbers their nodes breadth first and the
  // series' nodes after them): every node the series use, from their
  // dictionaries.
  for (const auto& [labels, sources_of_series] : series) {
    for (const auto& [bi, s] : sources_of_series) {
      TableImporter& imp = importer(bi, group[bi]->series_partition(s));
      SH_ASSIGN_OR_RETURN(std::vector<uint32_t> nodes, group[bi]->SeriesNodes(s));
      for (uint32_t node : nodes) imp.Node(node);
    }
  }
  for (const auto& [service, index] : services) {
    SH_RETURN_IF_ERROR(w.WritePartitionSymbols(index, tables[index]));
  }
  for (const auto& [labels, sources_of_series] : series) {
    std::vector<BlockProfile> profiles;
    uint32_t dst_partition = 0;
    for (const auto& [bi, s] : sources_of_series) {
      uint32_t part = group[bi]->series_partition(s);
      dst_partition = services.at(group[bi]->partition_service(part));
      TableImporter& imp = importer(bi, part);
      SH_ASSIGN_OR_RETURN(std::vector<BlockProfile> ps, group[bi]->ReadSeries(s));
      for (BlockProfile& p : ps) {
        for (NodeValue& nv : p.samples) nv.node = imp.Node(nv.node);
        SortAndMerge(&p.samples);
        profiles.push_back(std::move(p));
      }
    }
    SH_RETURN_IF_ERROR(w.AddSeries(labels, dst_partition, std::move(profiles)));
  }
  BlockMeta meta;
  SH_RETURN_IF_ERROR(w.Finish(level + 1, 0, sources, &meta));
  tables.clear();  // (the writer kept them renumbered)
  SH_ASSIGN_OR_RETURN(std::shared_ptr<Block> block, Block::OpenWritten(env_, dir, w.TakeTables()));
  *out = std::move(block);
  return OkStatus();
}

namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

Status Store::Compact() {
  std::lock_guard maintenance(maintenance_mu_);
  // Data that may still arrive is at or after the live head's start.
  int64_t horizon;
  {
    auto st = state();
    horizon = st->head->empty() ? static_cast<int64_t>(env_->NowNanos()) : st->head->min_time();
    for (const auto& h : st->cutting) horizon = std::min(horizon, h->min_time());
  }
  for (int64_t window : options_.compaction_windows) {
    while (true) {
      // Group blocks by (tenant, window) among blocks that fit in one window
      // and do not already span it.
      auto st = state();
      std::map<std::pair<std::string, int64_t>, std::vector<std::shared_ptr<const Block>>> groups;
      for (const auto& b : st->blocks) {
        const BlockMeta& m = b->meta();
        int64_t w0 = FloorDiv(m.min_time, window);
        if (FloorDiv(m.max_time, window) != w0) continue;
        groups[{m.tenant, w0}].push_back(b);
      }
      std::vector<std::shared_ptr<const Block>>* chosen = nullptr;
      for (auto& [key, blocks] : groups) {
        int64_t window_end = (key.second + 1) * window;
        if (blocks.size() >= 2 && window_end <= horizon) {
          chosen = &blocks;
          break;
        }
      }
      if (chosen == nullptr) break;
      std::shared_ptr<const Block> merged;
      Status s = CompactGroup(*chosen, &merged);
      if (!s.ok()) {
        Log("store: compaction failed: " + s.message());
        return s;
      }
      auto next = std::make_shared<State>(*state());
      for (const auto& b : *chosen) {
        next->blocks.erase(std::remove(next->blocks.begin(), next->blocks.end(), b),
                           next->blocks.end());
        obsolete_.push_back(b);
      }
      next->blocks.push_back(merged);
      Publish(next);
      {
        std::lock_guard lock(stats_mu_);
        ++counters_.compactions;
      }
      Log(StrCat("store: compacted ", chosen->size(), " blocks into ", merged->meta().id,
                 " (level ", merged->meta().level, ", ", merged->meta().stats.bytes, " bytes)"));
    }
  }
  DeleteObsoleteBlocks();
  return OkStatus();
}

Status Store::ApplyRetention() {
  if (options_.retention <= 0) return OkStatus();
  std::lock_guard maintenance(maintenance_mu_);
  int64_t cutoff = static_cast<int64_t>(env_->NowNanos()) - options_.retention;
  auto next = std::make_shared<State>(*state());
  size_t before = next->blocks.size();
  std::vector<std::shared_ptr<const Block>> keep;
  for (const auto& b : next->blocks) {
    if (b->meta().max_time < cutoff) {
      obsolete_.push_back(b);
      Log(StrCat("store: retention deletes block ", b->dir()));
    } else {
      keep.push_back(b);
    }
  }
  if (keep.size() != before) {
    next->blocks = std::move(keep);
    Publish(next);
    std::lock_guard lock(stats_mu_);
    counters_.retention_deletions += before - next->blocks.size();
  }
  DeleteObsoleteBlocks();
  return OkStatus();
}

void Store::DeleteObsoleteBlocks() {
  // A replaced block is deleted once no snapshot uses it any more.
  std::vector<std::shared_ptr<const Block>> still;
  for (auto& b : obsolete_) {
    if (b.use_count() == 1) {
      std::string dir = b->dir();
      b.reset();
      Status s = env_->DeleteDirRecursive(dir);
      if (!s.ok()) Log("store: cannot delete " + dir + ": " + s.message());
    } else {
      still.push_back(std::move(b));
    }
  }
  obsolete_ = std::move(still);
}

void Store::BackgroundLoop() {
  int64_t head_started = static_cast<int64_t>(env_->NowNanos());
  uint64_t generation = 0;
  std::unique_lock lock(bg_mu_);
  while (!stopping_) {
    bg_cv_.wait_for(lock, std::chrono::milliseconds(options_.background_interval_ms));
    if (stopping_) break;
    lock.unlock();
    auto st = state();
    if (st->head->generation() != generation) {
      generation = st->head->generation();
      head_started = static_cast<int64_t>(env_->NowNanos());
    }
    int64_t age = static_cast<int64_t>(env_->NowNanos()) - head_started;
    bool cut = !st->head->empty() &&
               (age >= options_.head_block_duration ||
                st->head->max_time() - st->head->min_time() >= options_.head_block_duration ||
                st->head->bytes() >= options_.head_max_bytes);
    st.reset();
    if (cut) CutHead().ok();
    Compact().ok();
    ApplyRetention().ok();
    {
      std::lock_guard m(maintenance_mu_);
      DeleteObsoleteBlocks();
    }
    lock.lock();
  }
}

Status Store::Close() {
  {
    std::lock_guard lock(bg_mu_);
    if (stopping_ && !background_.joinable() && !wal_) return OkStatus();
    stopping_ = true;
  }
  bg_cv_.notify_all();
  if (background_.joinable()) background_.join();
  closing_.store(true);
  Fail(UnavailableError("the store is closed"));
  std::unique_lock lock(append_mu_);  // waits for appends in flight
  if (wal_) {
    Status s = wal_->Close();
    wal_.reset();
    return s;
  }
  return OkStatus();
}

}  // namespace stackhouse::tsdb
