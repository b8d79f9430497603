// Memory hints for large arrays.
#ifndef STACKHOUSE_BASE_MEMORY_H_
#define STACKHOUSE_BASE_MEMORY_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace stackhouse {

// Starts fetching the cache line at `p` for writing: it arrives owned, so
// the later store needs no second transfer from another core. PREFETCHW
// executes as a no-op on x86-64 processors that lack it.
inline void PrefetchForWrite(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1);
#endif
}

// Asks the kernel to back the whole 2 MiB pages inside [p, p + bytes) with
// transparent huge pages, which cuts page faults when a big, freshly
// allocated array is filled. A hint only: harmless where THP is off.
inline void AdviseHugePages(void* p, size_t bytes) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (bytes < 2 * kHuge) return;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// Reserves room for `n` elements in an empty vector and, when that is big,
// asks for huge pages before anything touches it (resize or assign then
// fault in 2 MiB at a time: for arrays of millions of elements, the faults
// of 4 KiB pages cost more than filling them).
template <typename Vector>
void ReserveHuge(Vector* v, size_t n) {
  if (v->capacity() >= n) return;
  v->reserve(n);
  AdviseHugePages(v->data(), n * sizeof(typename Vector::value_type));
}

// `n` copies of `value`, in memory reserved by ReserveHuge.
template <typename Vector>
void AssignHuge(Vector* v, size_t n, const typename Vector::value_type& value) {
  ReserveHuge(v, n);
  v->assign(n, value);
}

// Maps `bytes` (rounded up to whole 2 MiB pages) of zeroed anonymous memory
// at a 2 MiB boundary and asks for transparent huge pages, for tables read
// at random where TLB misses would dominate. Returns null if mmap fails;
// release with munmap(p, HugePageBytes(bytes)). Uses no malloc.
inline size_t HugePageBytes(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  return (bytes + kHuge - 1) & ~(kHuge - 1);
}
inline void* MapHugePages(size_t bytes) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const size_t size = HugePageBytes(bytes);
  // One page more than needed, so that an aligned run fits; the rest goes back.
  void* p = mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (start + kHuge - 1) & ~(kHuge - 1);
  if (aligned > start) munmap(p, aligned - start);
  if (start + kHuge > aligned) munmap(reinterpret_cast<void*>(aligned + size), start + kHuge - aligned);
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

// Faults in big, freshly reserved arrays on another thread while the caller
// fills them. The kernel zeroes every new page on first touch, and on
// paravirtualized machines that costs as much as filling a big tree (over
// half of building a 3 M-stack flame graph, measured): with a second core
// idle, the zeroing then overlaps the work. MADV_POPULATE_WRITE faults pages
// in without changing their contents, so the filling thread may write the
// same memory meanwhile. Join() (or the destructor) waits for the thread;
// an array that moves before (grows past its reservation) only wastes the
// prefault of its old place: it never changes any memory's contents. Below
// `kMinBytes` nothing is done.
class BackgroundPrefault {
 public:
  static constexpr size_t kMinBytes = size_t{32} << 20;

  BackgroundPrefault() = default;
  BackgroundPrefault(const BackgroundPrefault&) = delete;
  BackgroundPrefault& operator=(const BackgroundPrefault&) = delete;
  ~BackgroundPrefault() { Join(); }

  // Adds [p, p + bytes) to what the next Start() faults in.
  void Add(const void* p, size_t bytes) {
    if (bytes >= kMinBytes) ranges_.push_back({const_cast<void*>(p), bytes});
  }
  void Start() {
    Join();
#ifdef MADV_POPULATE_WRITE
    if (!ranges_.empty()) {
      try {
        thread_ = std::thread([ranges = std::move(ranges_)] { Populate(ranges); });
      } catch (const std::system_error&) {
        // No thread: the filler takes the faults.
      }
    }
#endif
    ranges_.clear();
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
#ifdef MADV_POPULATE_WRITE
  static void Populate(const std::vector<std::pair<void*, size_t>>& ranges) {
    // The arrays are filled side by side from their starts: each step
    // faults in the next 1/64 of every one.
    constexpr uintptr_t kPage = 4096;
    constexpr size_t kSteps = 64;
    for (size_t k = 0; k < kSteps; ++k) {
      for (const auto& [p, bytes] : ranges) {
        const auto at = reinterpret_cast<uintptr_t>(p);
        const uintptr_t begin = (at + bytes / kSteps * k + kPage - 1) & ~(kPage - 1);
        const uintptr_t stop = k + 1 == kSteps ? at + bytes : at + bytes / kSteps * (k + 1);
        const uintptr_t end = stop & ~(kPage - 1);
        if (end <= begin) continue;
        // Errors (an old kernel: EINVAL) leave the faults to the filler.
        if (madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE) != 0) return;
      }
    }
  }
#endif

  std::vector<std::pair<void*, size_t>> ranges_;
  std::thread thread_;
};

// An allocator whose value-less construct() default-initializes: for
// trivial types, vector::resize() then leaves new elements unwritten, so that
// a big array can be sized first and filled (and its pages first touched) by
// the threads that compute it.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  using std::allocator<T>::allocator;
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_MEMORY_H_
