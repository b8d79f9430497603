// SampleRing: a bounded multi-producer, single-consumer queue of fixed-size
// sample records, preallocated at start. Producers are signal handlers and
// allocation/lock hooks; they never block, never allocate and take no locks
// (a full ring drops the sample and counts it). The consumer is the
// profiler's aggregation thread.
//
// It is a sequence-numbered array (each cell carries the position it is
// ready for), so a producer interrupted by a signal between claiming and
// publishing a cell only delays the consumer; a nested producer claims the
// next cell.
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
  uintptr_t pcs[kMaxFrames];
};

class SampleRing {
 public:
  // `capacity` is rounded up to a power of two. Memory comes from mmap so
  // that a ring can be made even where malloc is being interposed.
  explicit SampleRing(size_t capacity) {
    size_t cap = 1;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    // Whole 2 MiB pages, aligned, and marked for transparent huge pages: the
    // handler then touches one TLB entry for the ring instead of hundreds
    // (TLB misses dominated its cost in a VM). Pre-faulted.
    bytes_ = HugePageBytes(cap * sizeof(Cell));
    cells_ = static_cast<Cell*>(MapHugePages(bytes_));
    if (cells_ != nullptr) {
      memset(static_cast<void*>(cells_), 0, bytes_);
      for (size_t i = 0; i < cap; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
    }
  }
  ~SampleRing() {
    if (cells_ != nullptr) munmap(cells_, bytes_);
  }
  SampleRing(const SampleRing&) = delete;
  SampleRing& operator=(const SampleRing&) = delete;

  bool ok() const { return cells_ != nullptr; }
  size_t memory_bytes() const { return bytes_; }

  // Claims a cell; returns nullptr when the ring is full (counted in
  // dropped()). The caller fills the record and calls Publish(). Signal-safe.
  SampleRecord* Claim(uint64_t* ticket) {
    uint64_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& c = cells_[pos & mask_];
      uint64_t seq = c.seq.load(std::memory_order_acquire);
      int64_t diff = static_cast<int64_t>(seq) - static_cast<int64_t>(pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          *ticket = pos;
          return &c.record;
        }
      } else if (diff < 0) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
      } else {
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }
  // Starts loading the cell the next Claim() will likely take (for a caller
  // with other work to do first). Signal-safe.
  void PrefetchClaim() const {
    const uint64_t pos = tail_.load(std::memory_order_relaxed);
    __builtin_prefetch(&cells_[pos & mask_], 1);
  }
  void Publish(uint64_t ticket) {
    cells_[ticket & mask_].seq.store(ticket + 1, std::memory_order_release);
    // Half full: wake the consumer now rather than at its next tick
    // (write(2) is async-signal-safe; one wake-up per drain). Checked every
    // 64th record only: reading the consumer's cache line costs a transfer.
    if (wake_fd_ >= 0 && (ticket & 63) == 0 &&
        ticket - head_seen_.load(std::memory_order_relaxed) > (mask_ + 1) / 2 &&
        !wake_pending_.exchange(true, std::memory_order_relaxed)) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
    }
  }
  // An eventfd to write to when the ring fills up (-1 = none).
  void SetWakeFd(int fd) { wake_fd_ = fd; }

  // Consumer side: the next published record, or nullptr. Call Release()
  // when done with it. Single consumer only.
  const SampleRecord* Peek() {
    Cell& c = cells_[head_ & mask_];
    if (c.seq.load(std::memory_order_acquire) != head_ + 1) return nullptr;
    return &c.record;
  }
  void Release() {
    cells_[head_ & mask_].seq.store(head_ + mask_ + 1, std::memory_order_release);
    ++head_;
    head_seen_.store(head_, std::memory_order_relaxed);
  }
  // Consumer: call after draining so the next fill can wake it again.
  void Rearm() { wake_pending_.store(false, std::memory_order_relaxed); }

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Cell {
    std::atomic<uint64_t> seq;
    SampleRecord record;
  };
  Cell* cells_ = nullptr;
  size_t mask_ = 0;
  size_t bytes_ = 0;
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) uint64_t head_ = 0;
  std::atomic<uint64_t> head_seen_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<bool> wake_pending_{false};
  int wake_fd_ = -1;
};

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_RING_H_
