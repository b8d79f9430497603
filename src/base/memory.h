// Memory hints for large arrays.
#ifndef STACKHOUSE_BASE_MEMORY_H_
#define STACKHOUSE_BASE_MEMORY_H_

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace stackhouse {

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

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_MEMORY_H_
