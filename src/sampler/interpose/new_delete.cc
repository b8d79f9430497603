// operator new/delete interposers, every standard variant: they sample
// through the same path as malloc (so an allocation is counted once, at the
// caller of new) and keep the standard failure behaviour (new_handler, then
// std::bad_alloc; the nothrow forms return null).
#include <cstddef>
#include <new>

namespace stackhouse::sampler::interpose {
void* SampledMalloc(size_t size, void* frame);
void* SampledAligned(size_t align, size_t size, void* frame);
void SampledFree(void* p);
}  // namespace stackhouse::sampler::interpose

namespace {

using stackhouse::sampler::interpose::SampledAligned;
using stackhouse::sampler::interpose::SampledFree;
using stackhouse::sampler::interpose::SampledMalloc;

__attribute__((always_inline)) inline void* NewOrThrow(size_t size, size_t align, void* frame) {
  if (size == 0) size = 1;
  for (;;) {
    void* p = align > __STDCPP_DEFAULT_NEW_ALIGNMENT__ ? SampledAligned(align, size, frame)
                                                        : SampledMalloc(size, frame);
    if (p != nullptr) return p;
    std::new_handler h = std::get_new_handler();
    if (h == nullptr) throw std::bad_alloc();
    h();
  }
}

__attribute__((always_inline)) inline void* NewOrNull(size_t size, size_t align, void* frame) noexcept {
  try {
    return NewOrThrow(size, align, frame);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

#define SH_NEW __attribute__((visibility("default")))

SH_NEW void* operator new(size_t n) { return NewOrThrow(n, 0, __builtin_frame_address(0)); }
SH_NEW void* operator new[](size_t n) { return NewOrThrow(n, 0, __builtin_frame_address(0)); }
SH_NEW void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return NewOrNull(n, 0, __builtin_frame_address(0));
}
SH_NEW void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return NewOrNull(n, 0, __builtin_frame_address(0));
}
SH_NEW void* operator new(size_t n, std::align_val_t a) {
  return NewOrThrow(n, static_cast<size_t>(a), __builtin_frame_address(0));
}
SH_NEW void* operator new[](size_t n, std::align_val_t a) {
  return NewOrThrow(n, static_cast<size_t>(a), __builtin_frame_address(0));
}
SH_NEW void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return NewOrNull(n, static_cast<size_t>(a), __builtin_frame_address(0));
}
SH_NEW void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return NewOrNull(n, static_cast<size_t>(a), __builtin_frame_address(0));
}

SH_NEW void operator delete(void* p) noexcept { SampledFree(p); }
SH_NEW void operator delete[](void* p) noexcept { SampledFree(p); }
SH_NEW void operator delete(void* p, const std::nothrow_t&) noexcept { SampledFree(p); }
SH_NEW void operator delete[](void* p, const std::nothrow_t&) noexcept { SampledFree(p); }
SH_NEW void operator delete(void* p, size_t) noexcept { SampledFree(p); }
SH_NEW void operator delete[](void* p, size_t) noexcept { SampledFree(p); }
SH_NEW void operator delete(void* p, std::align_val_t) noexcept { SampledFree(p); }
SH_NEW void operator delete[](void* p, std::align_val_t) noexcept { SampledFree(p); }
SH_NEW void operator delete(void* p, size_t, std::align_val_t) noexcept { SampledFree(p); }
SH_NEW void operator delete[](void* p, size_t, std::align_val_t) noexcept { SampledFree(p); }
SH_NEW void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { SampledFree(p); }
SH_NEW void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  SampledFree(p);
}
