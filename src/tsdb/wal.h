// Write-ahead log of the embedded store: makes an acknowledged write durable
// before the head has persisted it in a block. Records are opaque bytes; the
// byte layout is docs/format/wal.md.
//
// Usage: Wal::Open replays what is on disk (repairing a torn tail, setting
// mid-log corruption aside in <dir>/corrupt/), then the head calls
// AppendAndSync (or Append + Sync) per write. Checkpointing: Rotate(), persist
// everything older elsewhere, then RemoveSegmentsBefore(the returned index).
//
// Thread-safety: Append, Sync, AppendAndSync, Rotate, RemoveSegmentsBefore,
// Close, stats and SetSyncObserver may be called from any thread. Syncs are
// group-committed: concurrent writers share one frame and one fdatasync.
// The Env must outlive the Wal.
#ifndef STACKHOUSE_TSDB_WAL_H_
#define STACKHOUSE_TSDB_WAL_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/env.h"
#include "base/status.h"

namespace stackhouse::tsdb {

struct WalOptions {
  // A new segment is started before a frame that would make the current one
  // larger than this (a single larger frame gets a segment of its own).
  uint64_t segment_bytes = 64 << 20;
  // zstd level 1 for batches of at least 1 KiB (kept only when smaller).
  bool compress = true;
};

struct WalReplayReport {
  uint64_t records = 0;  // records replayed
  uint64_t bytes = 0;    // their total size
  // One line per repair, naming file and offset, e.g.
  // "wal/00000003: torn tail at offset 1234, 77 bytes truncated (checksum mismatch)".
  std::vector<std::string> problems;
};

// The largest record Append accepts: its varint length plus its bytes must fit
// in one 256 MiB frame payload.
inline constexpr uint64_t kWalMaxRecordBytes = (uint64_t{256} << 20) - 5;

class Wal {
 public:
  using ReplayFn = std::function<Status(std::string_view record)>;

  // Opens the WAL in `dir` (creating the directory if needed), replays every
  // valid record in order through `replay` (may be empty), repairs the log as
  // docs/format/wal.md says, and starts a new segment for appending (it never
  // appends to an old one). An error from `replay` aborts Open and is
  // returned. `report` may be null.
  static StatusOr<std::unique_ptr<Wal>> Open(Env* env, const std::string& dir,
                                             const WalOptions& options, const ReplayFn& replay,
                                             WalReplayReport* report);

  ~Wal();  // Close(), ignoring its status
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Queues a copy of `record` and returns its sequence number: 1, 2, ... in
  // the order of the calls on this Wal (numbers are not persisted). Returns 0,
  // queuing nothing, for a record over kWalMaxRecordBytes; Sync(0) reports it.
  // After a failure or Close the record is not queued and Sync reports why.
  uint64_t Append(std::string_view record);

  // Returns once every record up to `seq` is written and fdatasync'd, or the
  // error. Group commit: the first waiter becomes the leader, takes all queued
  // records as one frame, writes and syncs it without holding the mutex, then
  // wakes everyone it covered. After any write or sync failure the WAL is
  // failed for good: this and every later call return that error (after a
  // failed fsync the page cache cannot be trusted); reopen to recover.
  Status Sync(uint64_t seq);

  // Sync without waiting: `done` is called once, with what Sync(seq) would
  // return, when that is known -- right away (on this thread) if it already
  // is, otherwise on the WAL's syncer thread (started by the first call),
  // which leads group commits for such callers as a sleeping Sync would.
  // `done` must be quick and must not call this Wal's Sync, Rotate or Close
  // (it runs on the syncer thread, which they may wait for). Close waits
  // until every pending `done` has been called.
  using DoneFn = std::function<void(Status)>;
  void SyncAsync(uint64_t seq, DoneFn done);

  // Append + Sync.
  Status AppendAndSync(std::string_view record);

  // Syncs pending records, then starts a new segment unless the current one
  // holds no frame yet, and returns the index of the (new) current segment:
  // records appended afterwards are in segments >= that index.
  StatusOr<uint64_t> Rotate();

  // Deletes the segments with an index below `index`, oldest first, and syncs
  // the directory. `index` must not be above the current segment.
  Status RemoveSegmentsBefore(uint64_t index);

  // The same on a WAL that is not open (a missing directory is fine): used
  // before Open to finish a removal that a crash interrupted.
  static Status RemoveSegmentsBefore(Env* env, const std::string& dir, uint64_t index);

  // Syncs pending records and closes the segment. Idempotent; returns the
  // failure if the WAL failed. Later Appends are not queued.
  Status Close();

  struct Stats {
    uint64_t records = 0;        // records written and synced by this Wal
    uint64_t batches = 0;        // frames written
    uint64_t bytes_written = 0;  // bytes appended to segments, headers included
    uint64_t syncs = 0;          // fdatasyncs of segment files
    double sync_seconds_total = 0;
    double sync_seconds_max = 0;
    std::vector<double> recent_sync_seconds;  // the last <= 1024 fdatasyncs, oldest first
  };
  Stats stats() const;

  // Called (by the syncing thread, without locks held) with the latency of
  // each fdatasync in seconds. Replaces the previous observer; {} removes it.
  void SetSyncObserver(std::function<void(double seconds)> observer);

  const std::string& dir() const { return dir_; }
  // The index of the segment being appended to.
  uint64_t current_segment() const;

 private:
  struct Batch {
    std::string data;  // records, each varint length + bytes
    uint64_t records = 0;
  };
  struct IoStats;
  using Observer = std::shared_ptr<const std::function<void(double)>>;

  Wal(Env* env, std::string dir, const WalOptions& options);

  // Leader-only: called with leadership held (leader_ == true, or before the
  // Wal is shared), without the mutex.
  Status OpenSegment(uint64_t index, IoStats* io);
  Status WriteBatches(const std::vector<Batch>& batches, const Observer& observer, IoStats* io);
  Status WriteOut(std::string_view data, IoStats* io);
  Status SyncSegment(const Observer& observer, IoStats* io);
  Status CutSegment(const Observer& observer, IoStats* io);
  Status CloseSegment(const Observer& observer, IoStats* io);
  Status Failure(const Status& s, std::string_view what) const;

  // Checks Sync's preconditions for `seq`; mu_ held.
  Status CheckSeq(uint64_t seq) const;
  // mu_ held: what Sync(seq) returns if that is decided (the WAL failed,
  // the record is durable, or the WAL closed without it), else nothing.
  std::optional<Status> KnownOutcome(uint64_t seq) const;
  // The syncer thread: leads syncs for SyncAsync's callers and calls them.
  void SyncerLoop();
  // mu_ held: takes the SyncAsync callbacks whose outcome is known, with it.
  std::vector<std::pair<DoneFn, Status>> TakeDoneCallbacks();

  // Called with `l` held, no leader active and the WAL healthy: becomes the
  // leader, writes and syncs everything queued, then (optionally) cuts a
  // segment or closes; gives leadership back and wakes the waiters.
  Status Lead(std::unique_lock<std::mutex>& l, bool rotate, bool close);
  void MergeStats(const IoStats& io);  // mu_ held
  // mu_ held, after a leader finished or the WAL closed: wakes the sleeping
  // Syncs whose records are durable (all of them if the WAL failed or
  // closed), and the one with the earliest record still queued, to lead.
  void WakeWaiters();

  Env* const env_;
  const std::string dir_;
  const WalOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // Rotate and Close wait here for the leader
  // A Sync sleeping until its record is durable or it is its turn to lead.
  struct Waiter {
    uint64_t seq;
    bool woken = false;
    std::condition_variable cv;
  };
  std::vector<Waiter*> waiters_;
  // SyncAsync callers waiting, and the thread that serves them.
  struct AsyncWaiter {
    uint64_t seq;
    DoneFn done;
  };
  std::vector<AsyncWaiter> async_waiters_;
  std::condition_variable syncer_cv_;
  std::thread syncer_;
  bool stop_syncer_ = false;
  std::vector<Batch> pending_;  // frames to be, oldest first
  uint64_t last_seq_ = 0;       // the last sequence number handed out
  uint64_t durable_seq_ = 0;    // every record up to this one is synced
  bool leader_ = false;
  bool closed_ = false;
  Status failed_;
  uint64_t current_index_ = 0;
  Observer observer_;
  Stats stats_;
  size_t ring_next_ = 0;  // next slot in stats_.recent_sync_seconds once it is full

  // Leader-only state.
  std::unique_ptr<WritableFile> file_;
  uint64_t segment_index_ = 0;
  uint64_t segment_size_ = 0;
  uint64_t segment_frames_ = 0;
  bool dirty_ = false;    // appended since the last fdatasync
  void* zstd_ = nullptr;  // ZSTD_CCtx, created on first use
  std::string write_buf_;
  std::string zstd_buf_;
};

}  // namespace stackhouse::tsdb

#endif  // STACKHOUSE_TSDB_WAL_H_
