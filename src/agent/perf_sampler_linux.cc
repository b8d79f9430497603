#include <linux/perf_event.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "agent/perf_sampler.h"
#include "agent/cpus.h"
#include "base/strings.h"

namespace stackhouse::agent {
namespace {

constexpr size_t kDataPages = 64;         // 256 KiB per CPU
constexpr size_t kDataPagesStacks = 512;  // 2 MiB per CPU with stack copies
// x86_64 perf register numbers (asm/perf_regs.h).
constexpr int kRegBp = 6, kRegSp = 7, kRegIp = 8;


}  // namespace

PerfSampler::~PerfSampler() {
  for (Ring& r : rings_) {
    if (r.base != nullptr) munmap(r.base, r.size);
    if (r.fd >= 0) close(r.fd);
  }
}

Status PerfSampler::Open(int hz, uint32_t stack_copy_bytes) {
  if (hz < 1 || hz > 10000) return InvalidArgumentError(StrCat("sample rate ", hz, " Hz is outside 1..10000"));
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (int cpu : OnlineCpus()) {
    perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.sample_period = 1000000000ULL / static_cast<uint64_t>(hz);
    attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN;
    attr.wakeup_events = 16;
    if (stack_copy_bytes > 0) {
      attr.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
      attr.sample_regs_user = (1ULL << kRegBp) | (1ULL << kRegSp) | (1ULL << kRegIp);
      attr.sample_stack_user = (stack_copy_bytes + 7) & ~7u;
      attr.wakeup_events = 4;
    }
    attr.exclude_hv = 1;
    attr.disabled = 1;
    // exec notifications (each reaches the event of the CPU it happened on).
    attr.comm = 1;
    attr.comm_exec = 1;
    int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      int err = errno;
      if (err == EACCES || err == EPERM) {
        return PermissionDeniedError(StrCat(
            "perf_event_open on CPU ", cpu, ": ", strerror(err),
            ": the agent must run as root (or with CAP_PERFMON, or CAP_SYS_ADMIN on older kernels)"
            " and kernel.perf_event_paranoid must allow system-wide events"));
      }
      return UnavailableError(StrCat("perf_event_open on CPU ", cpu, ": ", strerror(err)));
    }
    Ring r;
    r.fd = fd;
    r.size = page * (1 + (stack_copy_bytes > 0 ? kDataPagesStacks : kDataPages));
    r.base = mmap(nullptr, r.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (r.base == MAP_FAILED) {
      int err = errno;
      close(fd);
      return ResourceExhaustedError(StrCat("mmap of the perf ring for CPU ", cpu, ": ", strerror(err)));
    }
    rings_.push_back(r);
  }
  for (Ring& r : rings_) ioctl(r.fd, PERF_EVENT_IOC_ENABLE, 0);
  return OkStatus();
}

void PerfSampler::SetEnabled(bool enabled) {
  for (Ring& r : rings_) ioctl(r.fd, enabled ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
}

void PerfSampler::Poll(int timeout_ms, const SampleFn& fn) {
  std::vector<pollfd> fds;
  for (const Ring& r : rings_) fds.push_back({r.fd, POLLIN, 0});
  poll(fds.data(), fds.size(), timeout_ms);
  for (Ring& r : rings_) DrainRing(r, fn);
}

void PerfSampler::DrainRing(Ring& r, const SampleFn& fn) {
  auto* meta = static_cast<perf_event_mmap_page*>(r.base);
  char* data = static_cast<char*>(r.base) + meta->data_offset;
  uint64_t size = meta->data_size;
  uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  RawSample s;
  while (tail < head) {
    perf_event_header h;
    // Records may wrap around the end of the buffer: copy them out whole.
    auto copy = [&](uint64_t at, void* dst, size_t n) {
      size_t off = at % size;
      size_t first = std::min<size_t>(n, size - off);
      memcpy(dst, data + off, first);
      if (first < n) memcpy(static_cast<char*>(dst) + first, data, n - first);
    };
    copy(tail, &h, sizeof(h));
    if (h.size < sizeof(h) || h.size > head - tail) break;  // torn or corrupt: stop here
    if (h.type == PERF_RECORD_SAMPLE) {
      scratch_.resize(h.size);
      copy(tail, scratch_.data(), h.size);
      const char* p = scratch_.data() + sizeof(h);
      const char* end = scratch_.data() + h.size;
      uint32_t pid_tid[2];
      uint64_t nr = 0;
      if (end - p >= 16) {
        memcpy(pid_tid, p, 8);
        memcpy(&nr, p + 8, 8);
        p += 16;
        s.pid = static_cast<int>(pid_tid[0]);
        s.tid = static_cast<int>(pid_tid[1]);
        s.kernel.clear();
        s.user.clear();
        std::vector<uint64_t>* into = &s.kernel;
        for (uint64_t i = 0; i < nr && end - p >= 8; ++i, p += 8) {
          uint64_t ip;
          memcpy(&ip, p, 8);
          if (ip >= static_cast<uint64_t>(PERF_CONTEXT_MAX)) {  // a context marker
            into = ip == static_cast<uint64_t>(PERF_CONTEXT_USER) ? &s.user : &s.kernel;
            continue;
          }
          into->push_back(ip);
        }
        // PERF_SAMPLE_REGS_USER: abi, then the registers in bit order;
        // PERF_SAMPLE_STACK_USER: size, the bytes, and the dynamic size.
        s.has_user_regs = false;
        s.stack = nullptr;
        s.stack_size = 0;
        uint64_t abi = 0;
        if (end - p >= 8) {
          memcpy(&abi, p, 8);
          p += 8;
          if (abi != PERF_SAMPLE_REGS_ABI_NONE && end - p >= 24) {
            uint64_t regs[3];
            memcpy(regs, p, 24);
            p += 24;
            s.bp = regs[0];
            s.sp = regs[1];
            s.ip = regs[2];
            s.has_user_regs = true;
          }
          uint64_t size = 0;
          if (end - p >= 8) {
            memcpy(&size, p, 8);
            p += 8;
            if (size > 0 && static_cast<uint64_t>(end - p) >= size + 8) {
              uint64_t dyn = 0;
              memcpy(&dyn, p + size, 8);
              s.stack = p;
              s.stack_size = static_cast<size_t>(std::min(size, dyn));
            }
          }
        }
        samples_++;
        fn(s);
      }
    } else if (h.type == PERF_RECORD_COMM && (h.misc & PERF_RECORD_MISC_COMM_EXEC) && on_exec_) {
      uint32_t pid_tid[2];
      if (h.size >= sizeof(h) + 8) {
        copy(tail + sizeof(h), pid_tid, 8);
        on_exec_(static_cast<int>(pid_tid[0]));
      }
    } else if (h.type == PERF_RECORD_LOST) {
      uint64_t lost[3];  // id, lost count (+ sample_id)
      if (h.size >= sizeof(h) + 16) {
        copy(tail + sizeof(h), lost, 16);
        lost_ += lost[1];
      }
    }
    tail += h.size;
  }
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

}  // namespace stackhouse::agent
