// The WAL writer: group commit, segments, failure handling. Reading and
// repair live in wal_replay.cc.
#include "tsdb/wal.h"

#include <zstd.h>

#include <algorithm>
#include <chrono>

#include "base/strings.h"
#include "tsdb/wal_format.h"

namespace stackhouse::tsdb {

namespace fmt = wal_format;

namespace {
constexpr size_t kLatencySamples = 1024;
}  // namespace

// What one leader did; merged into stats_ under the mutex.
struct Wal::IoStats {
  uint64_t records = 0;
  uint64_t frames = 0;
  uint64_t bytes = 0;
  std::vector<double> sync_seconds;
};

Wal::Wal(Env* env, std::string dir, const WalOptions& options)
    : env_(env), dir_(std::move(dir)), options_(options) {}

Wal::~Wal() {
  (void)Close();
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_));
}

StatusOr<std::unique_ptr<Wal>> Wal::Open(Env* env, const std::string& dir,
                                         const WalOptions& options, const ReplayFn& replay,
                                         WalReplayReport* report) {
  if (env == nullptr || dir.empty()) {
    return InvalidArgumentError("wal: Open needs an Env and a directory");
  }
  WalReplayReport ignored;
  if (report == nullptr) report = &ignored;
  *report = WalReplayReport();
  SH_RETURN_IF_ERROR(env->CreateDirs(dir));
  uint64_t last = 0;
  SH_RETURN_IF_ERROR(fmt::ReplaySegments(env, dir, replay, report, &last));
  if (last >= fmt::kMaxSegmentIndex) {
    return ResourceExhaustedError(
        StrCat("wal: ", JoinPath(dir, fmt::SegmentName(last)), " is the last possible segment"));
  }
  std::unique_ptr<Wal> wal(new Wal(env, dir, options));
  IoStats io;
  Status s = wal->OpenSegment(last + 1, &io);
  if (!s.ok()) {
    wal->failed_ = s;  // so that the destructor writes nothing
    return s;
  }
  wal->current_index_ = wal->segment_index_;
  wal->MergeStats(io);
  return wal;
}

uint64_t Wal::Append(std::string_view record) {
  if (record.size() > kWalMaxRecordBytes) return 0;
  size_t encoded = protowire::VarintSize(record.size()) + record.size();
  std::lock_guard<std::mutex> l(mu_);
  uint64_t seq = ++last_seq_;
  if (closed_ || !failed_.ok()) return seq;
  if (pending_.empty() || (pending_.back().records > 0 &&
                           pending_.back().data.size() + encoded > fmt::kMaxBatchBytes)) {
    pending_.emplace_back();
  }
  fmt::AppendRecord(&pending_.back().data, record);
  ++pending_.back().records;
  return seq;
}

Status Wal::CheckSeq(uint64_t seq) const {
  if (seq == 0) {
    return InvalidArgumentError(StrCat("wal ", dir_,
                                       ": Sync(0): Append returns 0 only for a record over the "
                                       "limit of ",
                                       kWalMaxRecordBytes, " bytes, which was not written"));
  }
  if (seq > last_seq_) {
    return InvalidArgumentError(
        StrCat("wal ", dir_, ": Sync(", seq, "): only ", last_seq_, " records were appended"));
  }
  return OkStatus();
}

std::optional<Status> Wal::KnownOutcome(uint64_t seq) const {
  if (!failed_.ok()) return failed_;
  if (durable_seq_ >= seq) return OkStatus();
  if (closed_) return FailedPreconditionError(StrCat("wal ", dir_, ": closed"));
  return std::nullopt;
}

Status Wal::Sync(uint64_t seq) {
  std::unique_lock<std::mutex> l(mu_);
  SH_RETURN_IF_ERROR(CheckSeq(seq));
  while (true) {
    if (std::optional<Status> outcome = KnownOutcome(seq)) return *outcome;
    if (!leader_) {
      (void)Lead(l, /*rotate=*/false, /*close=*/false);  // the loop reports the outcome
      continue;
    }
    // Sleep until a leader's sync covers `seq` or it is this thread's turn
    // to lead (WakeWaiters).
    Waiter w{seq};
    waiters_.push_back(&w);
    while (!w.woken) w.cv.wait(l);
  }
}

void Wal::SyncAsync(uint64_t seq, DoneFn done) {
  std::unique_lock<std::mutex> l(mu_);
  std::optional<Status> outcome = CheckSeq(seq);
  if (outcome->ok()) outcome = KnownOutcome(seq);
  if (outcome.has_value()) {
    l.unlock();
    done(std::move(*outcome));
    return;
  }
  async_waiters_.push_back({seq, std::move(done)});
  if (!syncer_.joinable()) syncer_ = std::thread([this] { SyncerLoop(); });
  syncer_cv_.notify_one();
}

std::vector<std::pair<Wal::DoneFn, Status>> Wal::TakeDoneCallbacks() {
  std::vector<std::pair<DoneFn, Status>> out;
  size_t kept = 0;
  for (AsyncWaiter& w : async_waiters_) {
    if (std::optional<Status> outcome = KnownOutcome(w.seq)) {
      out.emplace_back(std::move(w.done), std::move(*outcome));
    } else {
      async_waiters_[kept++] = std::move(w);
    }
  }
  async_waiters_.resize(kept);
  return out;
}

void Wal::SyncerLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    auto ready = TakeDoneCallbacks();
    if (!ready.empty()) {
      // Called without the mutex (a callback may Append and SyncAsync).
      l.unlock();
      for (auto& [done, status] : ready) done(std::move(status));
      ready.clear();
      l.lock();
      continue;
    }
    if (async_waiters_.empty()) {
      if (stop_syncer_) return;
      syncer_cv_.wait(l);
      continue;
    }
    // Records to sync: lead, unless a leader is at work (its end wakes us).
    if (!leader_) {
      (void)Lead(l, /*rotate=*/false, /*close=*/false);  // outcomes go to the callbacks
    } else {
      syncer_cv_.wait(l);
    }
  }
}

void Wal::WakeWaiters() {
  // Rotate and Close wait on cv_ for the leader to finish.
  cv_.notify_all();
  if (!async_waiters_.empty()) syncer_cv_.notify_one();
  // Each sleeping Sync has its own condition variable, so that a sync wakes
  // only the threads it made durable (a broadcast would wake all of them,
  // and most would go back to sleep: under load, several times as many
  // context switches). Notified under mu_: a waiter returns, destroying its
  // Waiter, only after it holds mu_ again.
  const bool all = !failed_.ok() || closed_;
  Waiter* next = nullptr;  // the earliest record still to sync leads next
  size_t kept = 0;
  for (Waiter* w : waiters_) {
    if (all || w->seq <= durable_seq_) {
      w->woken = true;
      w->cv.notify_one();
      continue;
    }
    waiters_[kept++] = w;
    if (next == nullptr || w->seq < next->seq) next = w;
  }
  waiters_.resize(kept);
  if (next != nullptr && !leader_) {
    next->woken = true;
    next->cv.notify_one();
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), next));
  }
}

Status Wal::AppendAndSync(std::string_view record) { return Sync(Append(record)); }

StatusOr<uint64_t> Wal::Rotate() {
  std::unique_lock<std::mutex> l(mu_);
  while (leader_) cv_.wait(l);
  if (!failed_.ok()) return failed_;
  if (closed_) return FailedPreconditionError(StrCat("wal ", dir_, ": closed"));
  SH_RETURN_IF_ERROR(Lead(l, /*rotate=*/true, /*close=*/false));
  return current_index_;
}

Status Wal::Close() {
  std::unique_lock<std::mutex> l(mu_);
  while (leader_) cv_.wait(l);
  Status s;
  if (closed_) {
    s = failed_;
  } else if (failed_.ok()) {
    s = Lead(l, /*rotate=*/false, /*close=*/true);
  } else {
    // Failed: nothing more is written. No leader is active and becoming one
    // needs mu_, which we hold, so the leader-only file is ours to close.
    if (file_ != nullptr) (void)file_->Close();
    file_.reset();
    closed_ = true;
    WakeWaiters();
    s = failed_;
  }
  // Every SyncAsync outcome is now known: the syncer calls the callbacks
  // left and stops.
  if (syncer_.joinable() && syncer_.get_id() != std::this_thread::get_id()) {
    stop_syncer_ = true;
    syncer_cv_.notify_one();
    std::thread syncer = std::move(syncer_);
    l.unlock();
    syncer.join();
  }
  return s;
}

Status Wal::RemoveSegmentsBefore(uint64_t index) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!failed_.ok()) return failed_;
    if (index > current_index_) {
      return InvalidArgumentError(StrCat("wal ", dir_, ": RemoveSegmentsBefore(", index,
                                         "): the current segment is ", current_index_));
    }
  }
  return RemoveSegmentsBefore(env_, dir_, index);
}

Status Wal::RemoveSegmentsBefore(Env* env, const std::string& dir, uint64_t index) {
  if (!env->FileExists(dir)) return OkStatus();
  SH_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  bool removed = false;
  for (const std::string& name : names) {  // sorted: oldest first
    uint64_t i;
    if (!fmt::ParseSegmentName(name, &i) || i >= index) continue;
    Status s = env->DeleteFile(JoinPath(dir, name));
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    removed = true;
  }
  return removed ? env->SyncDir(dir) : OkStatus();
}

Wal::Stats Wal::stats() const {
  std::lock_guard<std::mutex> l(mu_);
  Stats s = stats_;
  // Unroll the ring so the samples are oldest first.
  if (s.recent_sync_seconds.size() == kLatencySamples) {
    std::rotate(s.recent_sync_seconds.begin(), s.recent_sync_seconds.begin() + ring_next_,
                s.recent_sync_seconds.end());
  }
  return s;
}

void Wal::SetSyncObserver(std::function<void(double)> observer) {
  std::lock_guard<std::mutex> l(mu_);
  if (observer) {
    observer_ = std::make_shared<const std::function<void(double)>>(std::move(observer));
  } else {
    observer_.reset();
  }
}

uint64_t Wal::current_segment() const {
  std::lock_guard<std::mutex> l(mu_);
  return current_index_;
}

Status Wal::Lead(std::unique_lock<std::mutex>& l, bool rotate, bool close) {
  leader_ = true;
  std::vector<Batch> batches;
  batches.swap(pending_);
  const uint64_t upto = last_seq_;
  Observer observer = observer_;
  l.unlock();

  IoStats io;
  Status s = WriteBatches(batches, observer, &io);
  if (s.ok() && rotate && segment_frames_ > 0) s = CutSegment(observer, &io);
  if (s.ok() && close) s = CloseSegment(observer, &io);
  batches.clear();  // free the copies outside the lock

  l.lock();
  leader_ = false;
  MergeStats(io);
  if (s.ok()) {
    durable_seq_ = upto;
    current_index_ = segment_index_;
  } else {
    failed_ = s;
  }
  if (close) {
    if (!s.ok() && file_ != nullptr) (void)file_->Close();
    file_.reset();
    closed_ = true;
  }
  WakeWaiters();
  return s;
}

void Wal::MergeStats(const IoStats& io) {
  stats_.batches += io.frames;
  stats_.records += io.records;
  stats_.bytes_written += io.bytes;
  for (double sec : io.sync_seconds) {
    ++stats_.syncs;
    stats_.sync_seconds_total += sec;
    stats_.sync_seconds_max = std::max(stats_.sync_seconds_max, sec);
    std::vector<double>& ring = stats_.recent_sync_seconds;
    if (ring.size() < kLatencySamples) {
      ring.push_back(sec);
    } else {
      ring[ring_next_] = sec;
      ring_next_ = (ring_next_ + 1) % kLatencySamples;
    }
  }
}

Status Wal::Failure(const Status& s, std::string_view what) const {
  std::string path = JoinPath(dir_, fmt::SegmentName(segment_index_));
  return Status(s.code(), StrCat("wal: ", what, " segment ", path,
                                 " failed, the WAL is failed until reopened: ", s.message()));
}

Status Wal::OpenSegment(uint64_t index, IoStats* io) {
  if (index > fmt::kMaxSegmentIndex) {
    return ResourceExhaustedError(StrCat("wal ", dir_, ": out of segment indexes"));
  }
  std::string path = JoinPath(dir_, fmt::SegmentName(index));
  auto file = env_->NewWritableFile(path);
  segment_index_ = index;
  if (!file.ok()) return Failure(file.status(), "creating");
  file_ = std::move(file).value();
  segment_size_ = 0;
  segment_frames_ = 0;
  // The header is synced with the first frame; the directory entry now, so
  // that synced frames can always be found.
  SH_RETURN_IF_ERROR(WriteOut(fmt::SegmentHeader(), io));
  Status s = env_->SyncDir(dir_);
  if (!s.ok()) return Failure(s, "syncing the directory of");
  return OkStatus();
}

Status Wal::WriteOut(std::string_view data, IoStats* io) {
  if (data.empty()) return OkStatus();
  dirty_ = true;
  Status s = file_->Append(data);
  if (!s.ok()) return Failure(s, "writing");
  segment_size_ += data.size();
  io->bytes += data.size();
  return OkStatus();
}

Status Wal::SyncSegment(const Observer& observer, IoStats* io) {
  if (!dirty_) return OkStatus();
  auto start = std::chrono::steady_clock::now();
  Status s = file_->Sync();
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!s.ok()) return Failure(s, "fdatasync of");
  dirty_ = false;
  io->sync_seconds.push_back(sec);
  if (observer) (*observer)(sec);
  return OkStatus();
}

Status Wal::CutSegment(const Observer& observer, IoStats* io) {
  SH_RETURN_IF_ERROR(SyncSegment(observer, io));
  Status s = file_->Close();
  if (!s.ok()) return Failure(s, "closing");
  return OpenSegment(segment_index_ + 1, io);
}

Status Wal::CloseSegment(const Observer& observer, IoStats* io) {
  if (file_ == nullptr) return OkStatus();
  SH_RETURN_IF_ERROR(SyncSegment(observer, io));
  Status s = file_->Close();
  if (!s.ok()) return Failure(s, "closing");
  return OkStatus();
}

Status Wal::WriteBatches(const std::vector<Batch>& batches, const Observer& observer, IoStats* io) {
  if (batches.empty()) return OkStatus();
  std::string& buf = write_buf_;
  buf.clear();
  for (const Batch& b : batches) {
    std::string_view payload = b.data;
    uint8_t flags = 0;
    if (options_.compress && b.data.size() >= fmt::kMinCompressBytes) {
      if (zstd_ == nullptr) zstd_ = ZSTD_createCCtx();
      zstd_buf_.resize(ZSTD_compressBound(b.data.size()));
      size_t n =
          zstd_ == nullptr
              ? 0
              : ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(zstd_), zstd_buf_.data(),
                                  zstd_buf_.size(), b.data.data(), b.data.size(), fmt::kZstdLevel);
      if (n > 0 && !ZSTD_isError(n) && n < b.data.size()) {
        payload = std::string_view(zstd_buf_.data(), n);
        flags = fmt::kFlagZstd;
      }
    }
    uint64_t frame_size = fmt::kFrameHeaderSize + payload.size();
    if (segment_frames_ > 0 && segment_size_ + buf.size() + frame_size > options_.segment_bytes) {
      SH_RETURN_IF_ERROR(WriteOut(buf, io));
      buf.clear();
      SH_RETURN_IF_ERROR(CutSegment(observer, io));
    }
    fmt::AppendFrame(&buf, fmt::kTypeRecordBatch, flags, payload);
    ++segment_frames_;
    ++io->frames;
    io->records += b.records;
  }
  SH_RETURN_IF_ERROR(WriteOut(buf, io));
  if (buf.capacity() > (size_t{64} << 20)) std::string().swap(buf);  // don't hoard memory
  return SyncSegment(observer, io);
}

}  // namespace stackhouse::tsdb
