// Store: the embedded profile store. It owns the WAL, the head and the
// blocks of a data directory, runs cutting, compaction and retention in the
// background, and serves queries from consistent snapshots.
//
//   data/
//     wal/                     write-ahead log (docs/format/wal.md)
//     checkpoint               the last head generation fully written to blocks
//     tenants/<tenant>/blocks/<id>/     (docs/format/block.md)
//     tenants/<tenant>/quarantine/<id>/ blocks that failed to open
//
// Append returns only after the profile's WAL record is fdatasync'd (group
// commit); AppendNoWait + WhenDurable do the same without a sleeping
// thread. See docs/storage.md for the design. Thread-safe.
#ifndef STACKHOUSE_TSDB_STORE_H_
#define STACKHOUSE_TSDB_STORE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/env.h"
#include "profile/labels.h"
#include "profile/profile.h"
#include "tsdb/block.h"
#include "tsdb/head.h"
#include "tsdb/source.h"
#include "tsdb/wal.h"

namespace stackhouse::tsdb {

// Limits on what one write may add. A violation fails the write with:
//   kInvalidArgument   malformed labels (bad name, missing service_name),
//                      too many labels, a name or value too long  -> HTTP 400
//   kOutOfRange        too many samples in one profile           -> HTTP 413
//   kResourceExhausted the tenant's series limit                 -> HTTP 429
struct StoreLimits {
  size_t max_labels_per_series = 30;
  size_t max_label_name_length = 1024;
  size_t max_label_value_length = 2048;
  size_t max_samples_per_profile = 1 << 20;
  size_t max_series_per_tenant = 100000;
};

struct StoreOptions {
  std::string dir;
  Env* env = nullptr;  // default: Env::Default()
  StoreLimits limits;
  WalOptions wal;
  // The head is cut into blocks when it spans this long or grows this big.
  int64_t head_block_duration = int64_t{15} * 60 * 1000000000;
  size_t head_max_bytes = size_t{512} << 20;
  // Compaction windows, smallest first: blocks in one window are merged.
  std::vector<int64_t> compaction_windows = {int64_t{2} * 3600 * 1000000000,
                                             int64_t{24} * 3600 * 1000000000};
  // Blocks whose newest profile is older than this are deleted; 0 = keep.
  int64_t retention = int64_t{30} * 24 * 3600 * 1000000000;
  // Cuts run while ingesting, so they compress fast; compaction (which
  // rewrites every cut block within hours) compresses hard.
  int cut_zstd_level = 3;
  int compact_zstd_level = 12;
  // Run cutting, compaction and retention on a background thread.
  bool background = true;
  int64_t background_interval_ms = 1000;
  // Logs one line per event (replay problems, cuts, compactions, deletions).
  std::function<void(const std::string&)> log;
  // Called after every WAL sync with its duration in seconds (metrics).
  std::function<void(double seconds)> wal_sync_observer;
};

// What a query sees: a fixed set of sources, itself a ProfileSource that
// combines them (series are de-duplicated; values add up).
class Snapshot : public ProfileSource {
 public:
  const std::vector<const ProfileSource*>& sources() const { return sources_; }

  int64_t min_time() const override;
  int64_t max_time() const override;
  Status SelectSeries(const Selection& sel, std::vector<profile::LabelSet>* out) const override;
  Status MergeStacks(const Selection& sel, StackSink* sink) const override;
  Status Totals(const Selection& sel, const TotalsRequest& req, TotalsResult* out) const override;
  Status LabelNames(const Selection& sel, std::set<std::string>* out) const override;
  Status LabelValues(const Selection& sel, const std::string& name,
                     std::set<std::string>* out) const override;
  Status IterateProfiles(const Selection& sel, const RawProfileVisitor& visit) const override;

 private:
  friend class Store;
  std::vector<const ProfileSource*> sources_;
  std::vector<std::shared_ptr<const Head>> heads_;
  std::vector<std::shared_ptr<const Block>> blocks_;
};

struct StoreStats {
  uint64_t head_generation = 0;
  size_t head_series = 0;
  size_t head_profiles = 0;
  size_t head_bytes = 0;
  size_t blocks = 0;
  uint64_t block_bytes = 0;
  uint64_t appends = 0;
  uint64_t appended_samples = 0;
  uint64_t cuts = 0, compactions = 0, retention_deletions = 0, quarantined = 0;
};

class Store {
 public:
  // Opens (creating) the data directory: opens every block (quarantining bad
  // ones), replays the WAL (cutting completed older generations to blocks)
  // and starts the background thread.
  static StatusOr<std::unique_ptr<Store>> Open(StoreOptions options);
  ~Store();

  // Appends a profile for a tenant. `labels` are the series labels and must
  // include service_name; one series is made per sample type (adding
  // __name__ and __profile_type__) and per distinct set of sample string
  // labels. Returns once durable.
  // time_nanos / duration_nanos override the profile's own when nonzero
  // (the ingest API's from/until); a profile without a time gets "now".
  // `p` must pass Profile::Validate(), as every decoder and converter leaves
  // it (their fuzzers check this): each of its symbols is read, used by a
  // sample or not.
  Status Append(const std::string& tenant, const profile::LabelSet& labels,
                const profile::Profile& profile, int64_t time_nanos = 0,
                int64_t duration_nanos = 0);

  // Append in two steps, so that a server thread need not sleep through the
  // fsync: AppendNoWait stores the profile (queries see it at once) and
  // returns a ticket; the write may be acknowledged once the ticket is
  // durable. A later ticket covers every earlier one (several appends wait
  // once, for the last ticket).
  StatusOr<uint64_t> AppendNoWait(const std::string& tenant, const profile::LabelSet& labels,
                                  const profile::Profile& profile, int64_t time_nanos = 0,
                                  int64_t duration_nanos = 0);
  // Returns once `ticket` is durable, or why it cannot be (the store then
  // refuses writes until reopened, as Append does).
  Status WaitDurable(uint64_t ticket);
  // Calls `done` with what WaitDurable would return: on this thread if that
  // is known already, otherwise on the WAL's syncer thread, so `done` must
  // be quick and must not wait for the store.
  void WhenDurable(uint64_t ticket, std::function<void(Status)> done);

  std::shared_ptr<const Snapshot> GetSnapshot() const;

  // Maintenance, normally run in the background; callable directly.
  Status CutHead();          // cuts the head now if it has data
  Status Compact();          // one round of compaction
  Status ApplyRetention();   // deletes expired blocks

  // Stops the background thread and syncs the WAL. The head stays in the WAL
  // (replayed on the next Open).
  Status Close();
  // OK while the store accepts writes; the failure that stopped it otherwise
  // (a WAL write error, or kUnavailable after Close).
  Status Health() const { return failed_.load() ? FailureStatus() : OkStatus(); }

  StoreStats stats() const;
  const StoreOptions& options() const { return options_; }

 private:
  struct State;
  explicit Store(StoreOptions options);
  Status Recover();
  // Records that generations up to `generation` are in blocks and WAL
  // segments below `first_segment` are no longer needed.
  Status WriteCheckpoint(uint64_t generation, uint64_t first_segment);
  Status WriteHeadBlocks(const Head& head, std::vector<std::shared_ptr<const Block>>* out);
  Status CompactGroup(const std::vector<std::shared_ptr<const Block>>& group,
                      std::shared_ptr<const Block>* out);
  void Publish(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state() const;
  void BackgroundLoop();
  void Log(const std::string& line) const;
  std::string TenantDir(const std::string& tenant) const;
  Status Validate(const profile::LabelSet& labels, const profile::Profile& profile) const;
  void DeleteObsoleteBlocks();

  StoreOptions options_;
  Env* env_;
  std::unique_ptr<Wal> wal_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> closing_{false};  // Close() has begun (its Fail is not news)
  mutable std::mutex failure_mu_;
  Status failure_;  // guarded by failure_mu_
  void Fail(const Status& s);
  Status FailureStatus() const;
  // A WAL sync's outcome as the store reports it (failing the store on error).
  Status DurableOutcome(const Status& s);

  // Appends hold append_mu_ shared; a cut takes it exclusively to switch heads.
  std::shared_mutex append_mu_;
  std::shared_ptr<Head> head_;  // guarded by append_mu_
  std::mutex maintenance_mu_;   // one cut/compaction/retention at a time

  mutable std::mutex state_mu_;
  std::shared_ptr<const State> state_;
  std::vector<std::shared_ptr<const Block>> obsolete_;  // guarded by maintenance_mu_

  std::thread background_;
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool stopping_ = false;

  mutable std::mutex stats_mu_;
  StoreStats counters_;
};

// Escapes a tenant id for use as a directory name (block.md).
std::string EscapeTenant(const std::string& tenant);
std::string UnescapeTenant(const std::string& dir);

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_STORE_H_
