// malloc-family interposers. Each forwards to the next allocator in the
// lookup order (libc, or jemalloc/tcmalloc when the program uses one) and
// then lets heap_sampling.h decide whether to sample. With heap profiling
// off the added cost is one load and a branch.
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>

#include "sampler/interpose/heap_sampling.h"
#include "sampler/interpose/real.h"

namespace stackhouse::sampler::interpose {
namespace {

struct RealAllocator {
  decltype(&::malloc) malloc;
  decltype(&::free) free;
  decltype(&::calloc) calloc;
  decltype(&::realloc) realloc;
  decltype(&::memalign) memalign;
  decltype(&::posix_memalign) posix_memalign;
  decltype(&::aligned_alloc) aligned_alloc;
  decltype(&::valloc) valloc;
  decltype(&::pvalloc) pvalloc;
};

RealAllocator g_real;
std::atomic<int> g_state{0};  // 0 = unresolved, 1 = resolving, 2 = ready

// dlsym may allocate while we resolve: serve that from here.
alignas(64) char g_arena[64 * 1024];
std::atomic<size_t> g_arena_used{0};

bool InArena(const void* p) {
  return p >= static_cast<const void*>(g_arena) && p < static_cast<const void*>(g_arena + sizeof(g_arena));
}

void* ArenaAlloc(size_t size, size_t align = 16) {
  size_t need = (size + 16 + align - 1) & ~(align - 1);
  size_t at = g_arena_used.fetch_add(need);
  if (at + need > sizeof(g_arena)) return nullptr;
  char* p = g_arena + at + 16;
  p = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(p) + align - 1) & ~(uintptr_t{align} - 1));
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
  g_real.malloc = reinterpret_cast<decltype(g_real.malloc)>(NextSymbol("malloc"));
  g_real.free = reinterpret_cast<decltype(g_real.free)>(NextSymbol("free"));
  g_real.calloc = reinterpret_cast<decltype(g_real.calloc)>(NextSymbol("calloc"));
  g_real.realloc = reinterpret_cast<decltype(g_real.realloc)>(NextSymbol("realloc"));
  g_real.memalign = reinterpret_cast<decltype(g_real.memalign)>(NextSymbol("memalign"));
  g_real.posix_memalign = reinterpret_cast<decltype(g_real.posix_memalign)>(NextSymbol("posix_memalign"));
  g_real.aligned_alloc = reinterpret_cast<decltype(g_real.aligned_alloc)>(NextSymbol("aligned_alloc"));
  g_real.valloc = reinterpret_cast<decltype(g_real.valloc)>(NextSymbol("valloc"));
  g_real.pvalloc = reinterpret_cast<decltype(g_real.pvalloc)>(NextSymbol("pvalloc"));
  g_state.store(2, std::memory_order_release);
  return true;
}

}  // namespace

// Used by the operator new interposers too.
void* SampledMalloc(size_t size, void* frame) {
  if (!Ready()) return ArenaAlloc(size);
  void* p = g_real.malloc(size);
  OnAllocation(p, size, frame);
  return p;
}

void* SampledAligned(size_t align, size_t size, void* frame) {
  if (!Ready()) return ArenaAlloc(size, align < 16 ? 16 : align);
  void* p = nullptr;
  if (g_real.posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, size) != 0) return nullptr;
  OnAllocation(p, size, frame);
  return p;
}

void SampledFree(void* p) {
  if (p == nullptr || InArena(p)) return;
  OnFree(p);
  if (Ready()) g_real.free(p);
}

}  // namespace stackhouse::sampler::interpose

using namespace stackhouse::sampler::interpose;  // NOLINT

#define STACKHOUSE_EXPORT extern "C" __attribute__((visibility("default")))

STACKHOUSE_EXPORT void* malloc(size_t size) { return SampledMalloc(size, __builtin_frame_address(0)); }

STACKHOUSE_EXPORT void free(void* p) { SampledFree(p); }

STACKHOUSE_EXPORT void cfree(void* p) { SampledFree(p); }

STACKHOUSE_EXPORT void* calloc(size_t n, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(n, size, &total)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (!Ready()) {
    void* p = ArenaAlloc(total);  // static memory is zeroed
    return p;
  }
  void* p = g_real.calloc(n, size);
  OnAllocation(p, total, __builtin_frame_address(0));
  return p;
}

STACKHOUSE_EXPORT void* realloc(void* old, size_t size) {
  if (old != nullptr && InArena(old)) {
    void* p = SampledMalloc(size, __builtin_frame_address(0));
    if (p != nullptr) memcpy(p, old, std::min(size, ArenaSize(old)));
    return p;
  }
  if (!Ready()) return ArenaAlloc(size);
  if (old != nullptr) OnFree(old);
  void* p = g_real.realloc(old, size);
  if (p != nullptr || size == 0) {
    OnAllocation(p, size, __builtin_frame_address(0));
  }
  return p;
}

STACKHOUSE_EXPORT void* memalign(size_t align, size_t size) {
  if (!Ready()) return ArenaAlloc(size, align);
  void* p = g_real.memalign(align, size);
  OnAllocation(p, size, __builtin_frame_address(0));
  return p;
}

STACKHOUSE_EXPORT int posix_memalign(void** out, size_t align, size_t size) {
  if (!Ready()) {
    *out = ArenaAlloc(size, align);
    return *out ? 0 : ENOMEM;
  }
  int rc = g_real.posix_memalign(out, align, size);
  if (rc == 0) OnAllocation(*out, size, __builtin_frame_address(0));
  return rc;
}

STACKHOUSE_EXPORT void* aligned_alloc(size_t align, size_t size) {
  if (!Ready()) return ArenaAlloc(size, align);
  void* p = g_real.aligned_alloc(align, size);
  OnAllocation(p, size, __builtin_frame_address(0));
  return p;
}

STACKHOUSE_EXPORT void* valloc(size_t size) {
  if (!Ready()) return ArenaAlloc(size, 4096);
  void* p = g_real.valloc(size);
  OnAllocation(p, size, __builtin_frame_address(0));
  return p;
}

STACKHOUSE_EXPORT void* pvalloc(size_t size) {
  if (!Ready()) return ArenaAlloc(size, 4096);
  void* p = g_real.pvalloc(size);
  OnAllocation(p, size, __builtin_frame_address(0));
  return p;
}
