// malloc-family interposers. Each forwards to the next allocator in the
// lookup order (libc, or jemalloc/tcmalloc when the program uses one) and
// then lets heap_sampling.h decide whether to sample. The added cost is a
// thread-local byte budget charged and tested, on or off.
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>

#include "sampler/interpose/heap_sampling.h"
#include "sampler/interpose/real.h"

namespace stackhouse::sampler::interpose {
namespace {

// malloc and free start out as resolvers (which resolve the real functions,
// then call them), so the fast paths never test for "not resolved yet"; the
// others are null until resolved.
using MallocFn = void* (*)(size_t);
using FreeFn = void (*)(void*);
void* MallocUnresolved(size_t size);
void FreeUnresolved(void* p);

struct RealAllocator {
  std::atomic<MallocFn> malloc;
  std::atomic<FreeFn> free;
  decltype(&::calloc) calloc;
  decltype(&::realloc) realloc;
  decltype(&::posix_memalign) posix_memalign;
};

constinit RealAllocator g_real{&MallocUnresolved, &FreeUnresolved, nullptr, nullptr, nullptr};
constinit std::atomic<int> g_state{0};  // 0 = unresolved, 1 = resolving, 2 = ready

// dlsym may allocate while we resolve: serve that from here. Arena blocks
// are page-aligned, so the free fast path (non-page-aligned pointers) never
// sees one.
alignas(4096) char g_arena[256 * 1024];
constinit std::atomic<size_t> g_arena_used{0};

bool InArena(const void* p) {
  return p >= static_cast<const void*>(g_arena) && p < static_cast<const void*>(g_arena + sizeof(g_arena));
}

void* ArenaAlloc(size_t size, size_t align = 16) {
  // One header page (the size sits in its last bytes), then the block.
  size_t extra = align > 4096 ? align : 0;
  size_t need = 4096 + ((size + 4095) & ~size_t{4095}) + extra;
  size_t at = g_arena_used.fetch_add(need);
  if (at + need > sizeof(g_arena)) return nullptr;
  char* p = g_arena + at + 4096;
  if (extra != 0) {
    p = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + align - 1) & ~(uintptr_t{align} - 1));
  }
  memcpy(p - sizeof(size_t), &size, sizeof(size_t));
  return p;
}

size_t ArenaSize(const void* p) {
  size_t size;
  memcpy(&size, static_cast<const char*>(p) - sizeof(size_t), sizeof(size_t));
  return size;
}

// Returns false while resolution is in progress on this path (use the arena).
bool Ready() {
  int s = g_state.load(std::memory_order_acquire);
  if (__builtin_expect(s == 2, 1)) return true;
  int expected = 0;
  if (!g_state.compare_exchange_strong(expected, 1)) {
    // Someone is resolving: this is dlsym re-entering us, or another
    // thread racing at startup; wait for the latter.
    return g_state.load(std::memory_order_acquire) == 2;
  }
  g_real.calloc = reinterpret_cast<decltype(g_real.calloc)>(NextSymbol("calloc"));
  g_real.realloc = reinterpret_cast<decltype(g_real.realloc)>(NextSymbol("realloc"));
  g_real.posix_memalign = reinterpret_cast<decltype(g_real.posix_memalign)>(NextSymbol("posix_memalign"));
  auto real_free = reinterpret_cast<FreeFn>(NextSymbol("free"));
  auto real_malloc = reinterpret_cast<MallocFn>(NextSymbol("malloc"));
  g_real.free.store(real_free, std::memory_order_release);
  g_real.malloc.store(real_malloc, std::memory_order_release);
  g_state.store(2, std::memory_order_release);
  return true;
}

// Freed sampled blocks kept for later sampled allocations: a page-aligned
// allocation costs the real allocator several times a plain one (it carves
// the block out of a larger chunk), and sampled sizes recur. Each class holds
// blocks whose usable size is at least 2^class bytes; a request of s bytes
// takes from the class of s rounded up to a power of two. The blocks are the
// real allocator's own, so everything it does with them (malloc_usable_size,
// its internal realloc) stays valid. One cache per thread shard (a block
// goes to the freeing thread's), so that threads do not trade its cache
// lines; kBlockCacheSlots per class up to 32 KiB: at most ~2 MiB is held.
constexpr int kBlockCacheMinClass = 5;   // 32 bytes
constexpr int kBlockCacheMaxClass = 15;  // 32 KiB
constexpr int kBlockCacheSlots = 2;
struct alignas(64) BlockCache {
  std::atomic<void*> slots[kBlockCacheMaxClass - kBlockCacheMinClass + 1][kBlockCacheSlots];
};
constinit BlockCache g_block_cache[kCostShards]{};

void* TakeCachedBlock(size_t size) {
  const int c = size <= (size_t{1} << kBlockCacheMinClass)
                    ? kBlockCacheMinClass
                    : 64 - __builtin_clzll(static_cast<unsigned long long>(size - 1));
  if (c > kBlockCacheMaxClass) return nullptr;
  for (auto& slot : g_block_cache[ThreadShard()].slots[c - kBlockCacheMinClass]) {
    void* p = slot.load(std::memory_order_relaxed);
    if (p != nullptr && slot.compare_exchange_strong(p, nullptr, std::memory_order_acquire)) return p;
  }
  return nullptr;
}

// Keeps a freed sampled block if its class has room.
bool CacheBlock(void* p) {
  const size_t usable = malloc_usable_size(p);
  if (usable < (size_t{1} << kBlockCacheMinClass)) return false;
  const int c = 63 - __builtin_clzll(static_cast<unsigned long long>(usable));
  if (c > kBlockCacheMaxClass) return false;
  for (auto& slot : g_block_cache[ThreadShard()].slots[c - kBlockCacheMinClass]) {
    void* expected = nullptr;
    if (slot.load(std::memory_order_relaxed) == nullptr &&
        slot.compare_exchange_strong(expected, p, std::memory_order_release)) {
      return true;
    }
  }
  return false;
}

// The sampled path: a page-aligned block (see heap_sampling.h), recorded.
__attribute__((noinline)) void* AllocateSampled(size_t align, size_t size, bool zero, void* frame) {
  uint64_t start = HeapTimingStart(GetThreadLocal().alloc_timing_tick);
  InFlight in_flight;  // the profiler's state stays while this runs
  SignalState* st = in_flight.state();
  if (!StartSample(st)) {
    // Not this time (first draw, or the profiler's own allocation).
    if (align <= 16) return zero ? g_real.calloc(1, size) : g_real.malloc.load(std::memory_order_relaxed)(size);
    void* p = nullptr;
    return g_real.posix_memalign(&p, align, size) == 0 ? p : nullptr;
  }
  // The record's ring cell loads while the block is found.
  st->ring->PrefetchClaim(ThreadShard());
  void* p = align <= kSampledAlignment ? TakeCachedBlock(size) : nullptr;
  if (p == nullptr && g_real.posix_memalign(&p, std::max(align, kSampledAlignment), size) != 0) {
    return nullptr;
  }
  if (zero) memset(p, 0, size);
  RecordAllocation(st, p, size, frame, start);
  return p;
}

// A malloc whose byte budget ran out.
void* SampleMalloc(size_t size, void* frame) {
  if (__builtin_expect(!Ready(), 0)) return ArenaAlloc(size);  // (heap sampling on this early?)
  return AllocateSampled(0, size, false, frame);
}

// free's fast path: every pointer but page-aligned ones (sampled blocks,
// arena blocks, null) goes straight to the real free.
__attribute__((always_inline)) inline bool FreeFast(void* p) {
  if (__builtin_expect((reinterpret_cast<uintptr_t>(p) & (kSampledAlignment - 1)) == 0, 0)) return false;
  g_real.free.load(std::memory_order_relaxed)(p);
  return true;
}

__attribute__((noinline)) void* MallocSlow(size_t size, void* frame) {
  if (!Ready()) return ArenaAlloc(size);
  if (!ShouldSample(size)) return g_real.malloc.load(std::memory_order_relaxed)(size);
  return AllocateSampled(0, size, false, frame);
}

__attribute__((noinline)) void FreeSlow(void* p) {
  if (p == nullptr || InArena(p)) return;
  if (MaybeSampled(p) && ReportSampledFree(p) && CacheBlock(p)) return;
  if (Ready()) g_real.free.load(std::memory_order_relaxed)(p);
}

}  // namespace

// Used by the operator new interposers too. The fast path: the allocator is
// resolved and heap profiling is off, or on with budget left.
void* SampledMalloc(size_t size, void* frame) {
  auto fn = g_real.malloc.load(std::memory_order_relaxed);
  if (__builtin_expect(!ShouldSample(size), 1)) return fn(size);
  return SampleMalloc(size, frame);
}

namespace {

// The slow paths of malloc itself. malloc has no frame of its own and
// tail-calls these, so each one's frame sits where malloc's would have been:
// its frame address leads to malloc's caller, as the other hooks' does.
__attribute__((noinline)) void* MallocUnresolved(size_t size) {
  return MallocSlow(size, __builtin_frame_address(0));
}
__attribute__((noinline)) void FreeUnresolved(void* p) { FreeSlow(p); }
__attribute__((noinline)) void* MallocBudgetSpent(size_t size) {
  if (!BudgetSpent()) return g_real.malloc.load(std::memory_order_relaxed)(size);
  return SampleMalloc(size, __builtin_frame_address(0));
}

}  // namespace

void* SampledAligned(size_t align, size_t size, void* frame) {
  if (align < sizeof(void*)) align = sizeof(void*);
  if (__builtin_expect(!Ready(), 0)) return ArenaAlloc(size, align < 16 ? 16 : align);
  if (__builtin_expect(!ShouldSample(size), 1)) {
    void* p = nullptr;
    return g_real.posix_memalign(&p, align, size) == 0 ? p : nullptr;
  }
  return AllocateSampled(align, size, false, frame);
}

void SampledFree(void* p) {
  if (!FreeFast(p)) FreeSlow(p);
}

void* (*ResolvedMalloc())(size_t) {
  return g_state.load(std::memory_order_acquire) == 2 ? g_real.malloc.load(std::memory_order_relaxed)
                                                      : nullptr;
}

}  // namespace stackhouse::sampler::interpose

using namespace stackhouse::sampler;             // NOLINT
using namespace stackhouse::sampler::interpose;  // NOLINT

#define STACKHOUSE_EXPORT extern "C" __attribute__((visibility("default")))

// The two hottest hooks, written out so that the common case is a few
// instructions and one jump into the real allocator: no frame, no flag, the
// thread's byte budget charged once (heap_sampling.h).
STACKHOUSE_EXPORT __attribute__((optimize("omit-frame-pointer"))) void* malloc(size_t size) {
  // The budget and the real malloc share the thread's first TLS line (the
  // budget is positive only once real_malloc is set: ArmBudget).
  ThreadLocal& tl = GetThreadLocal();
  tl.bytes_until_sample -= static_cast<int64_t>(size);
  if (__builtin_expect(tl.bytes_until_sample <= 0, 0)) return MallocBudgetSpent(size);
  return tl.real_malloc(size);
}

STACKHOUSE_EXPORT __attribute__((optimize("omit-frame-pointer"))) void free(void* p) {
  if (!FreeFast(p)) FreeSlow(p);
}

STACKHOUSE_EXPORT void cfree(void* p) { SampledFree(p); }

STACKHOUSE_EXPORT void* calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (__builtin_expect(!Ready(), 0)) return ArenaAlloc(total);  // static memory is zeroed
  if (__builtin_expect(!ShouldSample(total), 1)) return g_real.calloc(n, size);
  return AllocateSampled(0, total, true, __builtin_frame_address(0));
}

STACKHOUSE_EXPORT void* realloc(void* old, size_t size) {
  if (old != nullptr && InArena(old)) {
    void* p = SampledMalloc(size, __builtin_frame_address(0));
    if (p != nullptr) memcpy(p, old, std::min(size, ArenaSize(old)));
    return p;
  }
  if (__builtin_expect(!Ready(), 0)) return ArenaAlloc(size);
  if (old == nullptr) return SampledMalloc(size, __builtin_frame_address(0));
  if (size == 0) {
    SampledFree(old);
    return nullptr;
  }
  bool sample = ShouldSample(size);
  if (__builtin_expect(!sample && !MaybeSampled(old), 1)) return g_real.realloc(old, size);
  // A sampled old block (page-aligned) keeps its place in the in-use set
  // only until here; a newly sampled size moves to a page-aligned block.
  if (!sample) {
    if (MaybeSampled(old)) ReportSampledFree(old);
    return g_real.realloc(old, size);
  }
  size_t old_size = malloc_usable_size(old);
  void* p = AllocateSampled(0, size, false, __builtin_frame_address(0));
  if (p == nullptr) return nullptr;  // old stays valid, as realloc promises
  memcpy(p, old, std::min(old_size, size));
  SampledFree(old);
  return p;
}

STACKHOUSE_EXPORT void* memalign(size_t align, size_t size) {
  // Like glibc: a non-power-of-two alignment is rounded up.
  size_t a = sizeof(void*);
  while (a < align) a <<= 1;
  return SampledAligned(a, size, __builtin_frame_address(0));
}

STACKHOUSE_EXPORT int posix_memalign(void** out, size_t align, size_t size) {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  void* p = SampledAligned(align, size, __builtin_frame_address(0));
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

STACKHOUSE_EXPORT void* aligned_alloc(size_t align, size_t size) {
  return SampledAligned(align, size, __builtin_frame_address(0));
}

STACKHOUSE_EXPORT void* valloc(size_t size) { return SampledAligned(4096, size, __builtin_frame_address(0)); }

STACKHOUSE_EXPORT void* pvalloc(size_t size) {
  size_t rounded = (size + 4095) & ~size_t{4095};
  return SampledAligned(4096, rounded == 0 ? 4096 : rounded, __builtin_frame_address(0));
}
