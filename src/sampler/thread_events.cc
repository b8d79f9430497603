#include "sampler/thread_events.h"

#include <sys/syscall.h>
#include <unistd.h>

namespace stackhouse::sampler {
namespace {

constexpr uint64_t kCapacity = 4096;

// Everything here is zero-initialized (no constructor): the queue must work
// before and regardless of the library's static constructors. A cell's
// sequence number is stored minus its index, so that all-zero means "cell
// i is free for position i".
struct Cell {
  std::atomic<uint64_t> seq_minus_index;
  int tid;
  bool started;
};

struct Queue {
  Cell cells[kCapacity];
  std::atomic<uint64_t> tail;
  uint64_t head;
  std::atomic<int> wake_fd_plus_one;  // 0 = nobody listens
};

constinit Queue g_queue{};

uint64_t Seq(uint64_t index) { return g_queue.cells[index].seq_minus_index.load(std::memory_order_acquire) + index; }
void SetSeq(uint64_t index, uint64_t seq) {
  g_queue.cells[index].seq_minus_index.store(seq - index, std::memory_order_release);
}

}  // namespace

void SetThreadEventSink(int wake_fd) {
  g_queue.wake_fd_plus_one.store(wake_fd < 0 ? 0 : wake_fd + 1, std::memory_order_release);
}

bool PushThreadEvent(int tid, bool started) {
  int fd = g_queue.wake_fd_plus_one.load(std::memory_order_acquire) - 1;
  if (fd < 0) return false;
  uint64_t pos = g_queue.tail.load(std::memory_order_relaxed);
  Cell* c;
  for (;;) {
    c = &g_queue.cells[pos % kCapacity];
    uint64_t seq = Seq(pos % kCapacity);
    int64_t diff = static_cast<int64_t>(seq) - static_cast<int64_t>(pos);
    if (diff == 0) {
      if (g_queue.tail.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (diff < 0) {
      return false;  // full
    } else {
      pos = g_queue.tail.load(std::memory_order_relaxed);
    }
  }
  c->tid = tid;
  c->started = started;
  SetSeq(pos % kCapacity, pos + 1);
  uint64_t one = 1;
  syscall(SYS_write, fd, &one, sizeof(one));  // not write(): that may be intercepted
  return true;
}

void PopThreadEvents(std::vector<std::pair<int, bool>>* out) {
  for (;;) {
    uint64_t index = g_queue.head % kCapacity;
    Cell& c = g_queue.cells[index];
    if (Seq(index) != g_queue.head + 1) return;
    out->emplace_back(c.tid, c.started);
    SetSeq(index, g_queue.head + kCapacity);
    ++g_queue.head;
  }
}

}  // namespace stackhouse::sampler
