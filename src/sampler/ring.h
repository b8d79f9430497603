// SampleRing: a bounded multi-producer, single-consumer queue of fixed-size
// sample records, preallocated at start. Producers are signal handlers and
// allocation/lock hooks; they never block, never allocate and take no locks
// (a full ring drops the sample and counts it). The consumer is the
// profiler's aggregation thread.
//
// It is a set of sequence-numbered arrays, one per producer shard (each
// cell carries the position it is ready for), so a producer interrupted by
// a signal between claiming and publishing a cell only delays the
// consumer's reading of that shard; a nested producer claims the next cell.
#ifndef STACKHOUSE_SAMPLER_RING_H_
#define STACKHOUSE_SAMPLER_RING_H_

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/memory.h"

namespace stackhouse::sampler {

// 120 frames keep a 2,048-cell ring inside one 2 MiB huge page.
inline constexpr int kMaxFrames = 120;

enum class SampleKind : uint8_t { kCpu = 0, kWall = 1, kAlloc = 2, kFree = 3, kLock = 4 };

struct SampleRecord {
  SampleKind kind;
  uint16_t depth;      // frames used in pcs
  uint32_t label_set;  // interned thread labels (labels.h), 0 = none
  uint32_t tid;
  int64_t value;       // cpu/wall: nanoseconds; alloc: size; lock: delay ns
  int64_t weight;      // alloc/lock: sampling weight x 1024 (fixed point)
  uint64_t address;    // alloc/free: the pointer
  uint64_t stamp;      // alloc: the TSC at publishing (orders one address's records across shards)
  uintptr_t pcs[kMaxFrames];
};

class SampleRing {
 public:
  // `capacity` cells in `shards` sub-rings (both rounded up to powers of
  // two). Producers pick a shard (ThreadShard() in the profiler): threads in
  // different shards never write the same cache line, so a claim does not
  // pull its counter from another core. Memory comes from mmap so that a
  // ring can be made even where malloc is being interposed.
  explicit SampleRing(size_t capacity, int shards = 1) {
    size_t n = 1;
    while (n < static_cast<size_t>(shards) && n < kMaxShards) n <<= 1;
    size_t cap = 1;
    while (cap < capacity || cap < n) cap <<= 1;
    shards_ = static_cast<int>(n);
    per_shard_ = cap / n;
    mask_ = per_shard_ - 1;
    // Whole 2 MiB pages, aligned, and marked for transparent huge pages: the
    // handler then touches one TLB entry for the ring instead of hundreds
    // (TLB misses dominated its cost in a VM). Pre-faulted.
    bytes_ = HugePageBytes(cap * sizeof(Cell));
    cells_ = static_cast<Cell*>(MapHugePages(bytes_));
    if (cells_ != nullptr) {
      memset(static_cast<void*>(cells_), 0, bytes_);
      for (size_t i = 0; i < cap; ++i) cells_[i].seq.store(i & mask_, std::memory_order_relaxed);
    }
  }
  ~SampleRing() {
    if (cells_ != nullptr) munmap(cells_, bytes_);
  }
  SampleRing(const SampleRing&) = delete;
  SampleRing& operator=(const SampleRing&) = delete;

  bool ok() const { return cells_ != nullptr; }
  size_t memory_bytes() const { return bytes_; }
  int shards() const { return shards_; }

  // Claims a cell of shard `shard` (any int: taken modulo the shard count),
  // or, when that shard is full, of the next shard with room (a burst of
  // one thread can use the whole ring while the consumer is late); returns
  // nullptr when every shard is full (counted in dropped()). The caller
  // fills the record and calls Publish(). Signal-safe.
  SampleRecord* Claim(uint64_t* ticket, int shard = 0) {
    const uint64_t first = ShardOf(shard);
    for (int k = 0; k < shards_; ++k) {
      const uint64_t s = (first + static_cast<uint64_t>(k)) & static_cast<uint64_t>(shards_ - 1);
      if (SampleRecord* r = ClaimIn(s, ticket)) return r;
    }
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }

  // Starts loading the cell the next Claim() on `shard` will likely take
  // (for a caller with other work to do first). Signal-safe.
  void PrefetchClaim(int shard = 0) const { PrefetchNext(ShardOf(shard)); }

  void Publish(uint64_t ticket) {
    const uint64_t s = ticket >> kShardShift;
    const uint64_t pos = ticket & ((uint64_t{1} << kShardShift) - 1);
    CellAt(s, pos).seq.store(pos + 1, std::memory_order_release);
    // The shard's next cell was last written by the consumer (another core):
    // start fetching it now, long before the next claim takes it.
    PrefetchNext(s);
    // Half full: wake the consumer now rather than at its next tick
    // (write(2) is async-signal-safe; one wake-up per drain). Checked every
    // 32nd record only: reading the consumer's cache line costs a transfer.
    if (wake_fd_ >= 0 && (pos & 31) == 0 &&
        pos - consumers_[s].head_seen.load(std::memory_order_relaxed) > per_shard_ / 2 &&
        !wake_pending_.exchange(true, std::memory_order_relaxed)) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
    }
  }

  // An eventfd to write to when a shard fills up (-1 = none).
  void SetWakeFd(int fd) { wake_fd_ = fd; }

  // Consumer side: the next published record of some shard, or nullptr
  // when none has one. Call Release() when done with it, before the next
  // Peek(). Records of one shard come in their order; shards are drained one
  // after another, so records of different shards may come out of order.
  // Single consumer only.
  const SampleRecord* Peek() {
    for (int k = 0; k < shards_; ++k) {
      const int s = (reader_.current + k) & (shards_ - 1);
      const uint64_t head = consumers_[s].head;
      Cell& c = CellAt(static_cast<uint64_t>(s), head);
      if (c.seq.load(std::memory_order_acquire) == head + 1) {
        reader_.current = s;
        return &c.record;
      }
    }
    return nullptr;
  }
  void Release() {
    const int s = reader_.current;
    Consumer& c = consumers_[s];
    CellAt(static_cast<uint64_t>(s), c.head).seq.store(c.head + per_shard_, std::memory_order_release);
    ++c.head;
    c.head_seen.store(c.head, std::memory_order_relaxed);
  }
  // Consumer: call after draining so the next fill can wake it again.
  void Rearm() { wake_pending_.store(false, std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  static constexpr size_t kMaxShards = 16;

 private:
  static constexpr int kShardShift = 56;
  struct Cell {
    std::atomic<uint64_t> seq;  // the shard position it is ready for
    SampleRecord record;
  };
  struct alignas(64) Producer {
    std::atomic<uint64_t> tail{0};
  };
  struct alignas(64) Consumer {
    uint64_t head = 0;
    std::atomic<uint64_t> head_seen{0};  // read by producers for wake-ups
  };
  Cell& CellAt(uint64_t shard, uint64_t pos) const { return cells_[shard * per_shard_ + (pos & mask_)]; }
  // A cell of shard s, or nullptr when it is full.
  SampleRecord* ClaimIn(uint64_t s, uint64_t* ticket) {
    std::atomic<uint64_t>& tail = producers_[s].tail;
    uint64_t pos = tail.load(std::memory_order_relaxed);
    for (;;) {
      Cell& c = CellAt(s, pos);
      uint64_t seq = c.seq.load(std::memory_order_acquire);
      int64_t diff = static_cast<int64_t>(seq) - static_cast<int64_t>(pos);
      if (diff == 0) {
        if (tail.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          *ticket = (s << kShardShift) | pos;
          return &c.record;
        }
      } else if (diff < 0) {
        return nullptr;
      } else {
        pos = tail.load(std::memory_order_relaxed);
      }
    }
  }

  uint64_t ShardOf(int shard) const {
    return static_cast<uint64_t>(shard) & (static_cast<uint64_t>(shards_) - 1);
  }
  void PrefetchNext(uint64_t shard) const {
    PrefetchForWrite(&CellAt(shard, producers_[shard].tail.load(std::memory_order_relaxed)));
  }

  // Read by producers, written only at construction.
  Cell* cells_ = nullptr;
  size_t per_shard_ = 1;
  size_t mask_ = 0;
  size_t bytes_ = 0;
  int shards_ = 1;
  struct alignas(64) Reader {
    int current = 0;  // the shard of the record Peek() returned
  };
  Reader reader_;  // the consumer's own line
  Producer producers_[kMaxShards];
  Consumer consumers_[kMaxShards];
  alignas(64) std::atomic<uint64_t> dropped_{0};
  std::atomic<bool> wake_pending_{false};
  int wake_fd_ = -1;
};

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_RING_H_
