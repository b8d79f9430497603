#include "agent/bpf_sampler.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/log.h"
#include "agent/cpus.h"
#include "base/strings.h"

#ifdef STACKHOUSE_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/bpf/profile_bpf.h"
#include "profile.skel.h"
#endif

namespace stackhouse::agent {

#ifndef STACKHOUSE_HAVE_BPF

struct BpfSampler::Impl {};
bool BpfSampler::Built() { return false; }
StatusOr<std::unique_ptr<BpfSampler>> BpfSampler::Open(const BpfOptions&) {
  return UnavailableError("this build has no BPF engine (bpftool, libbpf or the kernel's BTF were missing)");
}
BpfSampler::BpfSampler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpfSampler::~BpfSampler() = default;
void BpfSampler::SetEnabled(bool) {}
void BpfSampler::Poll(int, const SampleFn&) {}
void BpfSampler::Drain(const SampleFn&) {}
void BpfSampler::SetMode(int, ProcessMode) {}
uint64_t BpfSampler::samples() const { return 0; }
uint64_t BpfSampler::lost() const { return 0; }
int BpfSampler::cpus() const { return 0; }

#else

namespace {


// libbpf's messages go to our structured log (warnings as debug: libbpf is
// chatty about features it probes for).
int LibbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), format, args);
  std::string_view msg(buf, n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1) : 0);
  while (!msg.empty() && msg.back() == '\n') msg.remove_suffix(1);
  Log(LogLevel::kDebug, "libbpf", {{"message", std::string(msg)}});
  return 0;
}

// Calls fn(key) for every key of a BPF map (a snapshot-free walk: keys
// added meanwhile may or may not be seen).
template <typename Key, typename Fn>
void ForEachKey(int fd, Fn&& fn) {
  Key key, next;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    fn(next);
    key = next;
    prev = &key;
  }
}

Status BpfError(const char* what, int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES) {
    return PermissionDeniedError(StrCat(what, ": ", strerror(err),
                                        ": the agent must run as root or with CAP_BPF and CAP_PERFMON "
                                        "(CAP_SYS_ADMIN before Linux 5.8)"));
  }
  return UnavailableError(StrCat(what, ": ", strerror(err)));
}

}  // namespace

struct BpfSampler::Impl {
  profile_bpf* skel = nullptr;
  std::vector<int> perf_fds;
  std::vector<bpf_link*> links;
  ring_buffer* ring = nullptr;
  const SampleFn* poll_fn = nullptr;  // during Poll
  std::function<void(int)>* on_exec = nullptr;
  std::function<int(int, uint64_t)>* leaf_resolver = nullptr;
  RawSample scratch;
  uint32_t gen = 0;
  uint64_t user_lost = 0;  // counted stacks that could not be read back
  int ncpus_possible = 0;

  ~Impl() {
    if (ring != nullptr) ring_buffer__free(ring);
    for (bpf_link* l : links) bpf_link__destroy(l);
    for (int fd : perf_fds) close(fd);
    if (skel != nullptr) profile_bpf__destroy(skel);
  }

  static int OnEvent(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    if (size < sizeof(sh_event_header)) return 0;
    auto* h = static_cast<const sh_event_header*>(data);
    if (h->type == SH_EVENT_EXEC) {
      // The program dropped its mode when it exec'd; drop what user space
      // set since, from samples taken before the exec.
      uint32_t pid = h->pid;
      bpf_map_delete_elem(bpf_map__fd(self->skel->maps.modes), &pid);
      if (self->on_exec != nullptr && *self->on_exec) (*self->on_exec)(static_cast<int>(h->pid));
      return 0;
    }
    if (h->type == SH_EVENT_LEAF && size >= sizeof(sh_leaf_event)) {
      auto* e = static_cast<const sh_leaf_event*>(data);
      int off = SH_LEAF_UNKNOWN;
      if (self->leaf_resolver != nullptr && *self->leaf_resolver) {
        off = (*self->leaf_resolver)(static_cast<int>(h->pid), e->ip);
        if (off < 0) off = SH_LEAF_UNKNOWN;
      }
      sh_leaf_key key = {};
      key.pid = h->pid;
      key.ip = e->ip;
      int32_t value = off;
      bpf_map_update_elem(bpf_map__fd(self->skel->maps.leaf_offsets), &key, &value, BPF_ANY);
      return 0;
    }
    if (size < sizeof(sh_sample_event) || self->poll_fn == nullptr) return 0;
    auto* e = static_cast<const sh_sample_event*>(data);
    RawSample& s = self->scratch;
    s.pid = static_cast<int>(h->pid);
    s.tid = static_cast<int>(h->tid);
    s.kernel.assign(e->kernel, e->kernel + std::min<uint32_t>(e->kernel_len, SH_MAX_FRAMES));
    s.user.assign(e->user, e->user + std::min<uint32_t>(e->user_len, SH_MAX_FRAMES));
    s.has_user_regs = false;
    s.stack = nullptr;
    s.stack_size = 0;
    if (h->type == SH_EVENT_COPY && size >= sizeof(sh_copy_event)) {
      auto* c = static_cast<const sh_copy_event*>(data);
      s.has_user_regs = true;
      s.ip = e->ip;
      s.sp = e->sp;
      s.bp = e->bp;
      s.stack = reinterpret_cast<const char*>(c->stack);
      s.stack_size = std::min<uint32_t>(e->stack_len, SH_STACK_COPY);
    }
    s.count = 1;
    s.off_cpu = false;
    s.off_cpu_ns = 0;
    s.classify = h->mode == SH_MODE_UNKNOWN;
    (*self->poll_fn)(s);
    return 0;
  }

  sh_stats Stats() const {
    sh_stats total = {};
    std::vector<sh_stats> per_cpu(static_cast<size_t>(ncpus_possible));
    uint32_t zero = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &zero, per_cpu.data()) != 0) return total;
    for (const sh_stats& s : per_cpu) {
      total.samples += s.samples;
      total.counted += s.counted;
      total.sent += s.sent;
      total.ring_full += s.ring_full;
      total.counts_full += s.counts_full;
      total.stack_full += s.stack_full;
      total.offcpu += s.offcpu;
      total.offcpu_lost += s.offcpu_lost;
    }
    return total;
  }
};

bool BpfSampler::Built() { return true; }

BpfSampler::BpfSampler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->on_exec = &on_exec_;
  impl_->leaf_resolver = &leaf_resolver_;
}

BpfSampler::~BpfSampler() = default;

StatusOr<std::unique_ptr<BpfSampler>> BpfSampler::Open(const BpfOptions& options) {
  if (options.hz < 1 || options.hz > 10000) {
    return InvalidArgumentError(StrCat("sample rate ", options.hz, " Hz is outside 1..10000"));
  }
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    return UnavailableError("the kernel has no BTF (/sys/kernel/btf/vmlinux), which CO-RE programs need");
  }
  libbpf_set_print(LibbpfPrint);
  auto impl = std::make_unique<Impl>();
  impl->ncpus_possible = libbpf_num_possible_cpus();
  if (impl->ncpus_possible <= 0) return UnavailableError("cannot count the possible CPUs");
  impl->skel = profile_bpf__open();
  if (impl->skel == nullptr) return BpfError("opening the BPF program", errno);
  profile_bpf* skel = impl->skel;
  skel->rodata->per_thread = options.per_thread ? 1 : 0;
  skel->rodata->offcpu_min_ns = static_cast<uint32_t>(std::min<int64_t>(options.off_cpu_min_ns, UINT32_MAX));
  if (!options.off_cpu) bpf_program__set_autoload(skel->progs.on_switch, false);
  // Room for about 100 ms of stack copies from every CPU at 99 Hz (the
  // agent reads the ring 10 times a second); a power of two.
  {
    uint32_t ring = 1u << 20;
    while (ring < static_cast<uint64_t>(OnlineCpus().size()) * (256u << 10) && ring < (256u << 20)) ring <<= 1;
    bpf_map__set_max_entries(skel->maps.events, ring);
  }
  if (int err = profile_bpf__load(skel); err != 0) return BpfError("loading the BPF program", err);
  // Exec and exit tracepoints (and the scheduler's, for off-CPU time).
  for (bpf_program* prog : {skel->progs.on_exec, skel->progs.on_exit, skel->progs.on_switch}) {
    if (prog == skel->progs.on_switch && !options.off_cpu) continue;
    bpf_link* link = bpf_program__attach(prog);
    if (link == nullptr) return BpfError(StrCat("attaching ", bpf_program__name(prog)).c_str(), errno);
    impl->links.push_back(link);
  }
  for (int cpu : OnlineCpus()) {
    perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.sample_period = 1000000000ULL / static_cast<uint64_t>(options.hz);
    attr.exclude_hv = 1;
    int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) {
      int err = errno;
      if (err == EACCES || err == EPERM) {
        return PermissionDeniedError(StrCat("perf_event_open on CPU ", cpu, ": ", strerror(err),
                                            ": the agent must run as root or with CAP_PERFMON and CAP_BPF"));
      }
      return UnavailableError(StrCat("perf_event_open on CPU ", cpu, ": ", strerror(err)));
    }
    impl->perf_fds.push_back(fd);
    bpf_link* link = bpf_program__attach_perf_event(skel->progs.on_cpu_sample, fd);
    if (link == nullptr) return BpfError(StrCat("attaching to the CPU clock of CPU ", cpu).c_str(), errno);
    impl->links.push_back(link);
  }
  if (impl->perf_fds.empty()) return UnavailableError("no online CPUs found");
  impl->ring = ring_buffer__new(bpf_map__fd(skel->maps.events), &Impl::OnEvent, impl.get(), nullptr);
  if (impl->ring == nullptr) return BpfError("opening the BPF ring buffer", errno);
  return std::unique_ptr<BpfSampler>(new BpfSampler(std::move(impl)));
}

void BpfSampler::SetEnabled(bool enabled) {
  for (int fd : impl_->perf_fds) ioctl(fd, enabled ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
}

void BpfSampler::Poll(int timeout_ms, const SampleFn& fn) {
  impl_->poll_fn = &fn;
  // Records usually come without a wakeup (see submit() in the program):
  // wait, then read whatever is there.
  if (ring_buffer__poll(impl_->ring, timeout_ms) == 0) ring_buffer__consume(impl_->ring);
  impl_->poll_fn = nullptr;
}

void BpfSampler::SetMode(int pid, ProcessMode mode) {
  uint32_t key = static_cast<uint32_t>(pid);
  uint32_t value = mode == ProcessMode::kFramePointers ? SH_MODE_FP
                   : mode == ProcessMode::kStackCopy   ? SH_MODE_COPY
                                                       : SH_MODE_SKIP;
  bpf_map_update_elem(bpf_map__fd(impl_->skel->maps.modes), &key, &value, BPF_ANY);
}

void BpfSampler::Drain(const SampleFn& fn) {
  Impl& im = *impl_;
  // Flip the generation, then give programs that read the old value time
  // to finish (they run with preemption off, for microseconds).
  const uint32_t old = im.gen & 1;
  im.gen++;
  __atomic_store_n(&im.skel->bss->gen, im.gen, __ATOMIC_SEQ_CST);
  usleep(2000);
  int counts_fd = bpf_map__fd(old ? im.skel->maps.counts1 : im.skel->maps.counts0);
  int live_fd = bpf_map__fd(old ? im.skel->maps.counts0 : im.skel->maps.counts1);
  int stacks_fd = bpf_map__fd(im.skel->maps.stacks);
  std::vector<sh_count_key> keys;
  ForEachKey<sh_count_key>(counts_fd, [&](const sh_count_key& k) { keys.push_back(k); });
  std::unordered_map<int32_t, std::vector<uint64_t>> frames;  // stack id -> frames
  auto stack = [&](int32_t id) -> const std::vector<uint64_t>* {
    if (id < 0) return nullptr;
    auto [it, inserted] = frames.try_emplace(id);
    if (inserted) {
      uint64_t ips[SH_MAX_FRAMES];
      if (bpf_map_lookup_elem(stacks_fd, &id, ips) == 0) {
        size_t n = 0;
        while (n < SH_MAX_FRAMES && ips[n] != 0) ++n;
        it->second.assign(ips, ips + n);
      }
    }
    return &it->second;
  };
  RawSample s;
  for (const sh_count_key& k : keys) {
    sh_count c;
    if (bpf_map_lookup_elem(counts_fd, &k, &c) != 0) continue;
    bpf_map_delete_elem(counts_fd, &k);
    const std::vector<uint64_t>* u = stack(k.user_stack);
    const std::vector<uint64_t>* kn = stack(k.kernel_stack);
    if ((u != nullptr && u->empty()) || (kn != nullptr && kn->empty())) {
      im.user_lost += c.count;  // the stack was evicted (see the GC below)
      continue;
    }
    s.pid = static_cast<int>(k.pid);
    s.tid = static_cast<int>(k.tid);
    s.kernel = kn != nullptr ? *kn : std::vector<uint64_t>();
    s.user = u != nullptr ? *u : std::vector<uint64_t>();
    s.blocked_pc = k.ip;
    s.blocked_caller = k.leaf_caller;
    if (s.blocked_caller == 0 && k.ip != 0 && im.leaf_resolver != nullptr && *im.leaf_resolver) {
      // Blocked before user space told where the return address is: find
      // it in the top of the stack kept for this.
      bool kept = false;
      for (uint64_t w : k.top) kept |= w != 0;
      if (kept) {
        int off = (*im.leaf_resolver)(static_cast<int>(k.pid), k.ip);
        if (off > 0 && off % 8 == 0 && off / 8 < SH_TOP_WORDS) s.blocked_caller = k.top[off / 8];
      }
    }
    s.count = static_cast<int64_t>(c.count);
    s.off_cpu = k.kind == SH_KIND_OFFCPU;
    s.off_cpu_ns = s.off_cpu ? static_cast<int64_t>(c.ns) : 0;
    fn(s);
  }
  // Free the stacks no live count and no pending off-CPU period refers to.
  // The programs keep running meanwhile, so the order matters: the stacks
  // are listed first (one taken during the walks below is not a
  // candidate), and the pending periods before the live counts (a period
  // that ends between the two walks moves from the first to the second,
  // where it is still seen; the other way round its stacks were freed under
  // it and a thread's whole blocked time was lost).
  std::vector<uint32_t> candidates;
  ForEachKey<uint32_t>(stacks_fd, [&](uint32_t id) { candidates.push_back(id); });
  std::unordered_set<int32_t> keep;
  const int starts_fd = bpf_map__fd(im.skel->maps.offcpu_starts);
  ForEachKey<uint32_t>(starts_fd, [&](uint32_t tid) {
    sh_offcpu_start start;
    if (bpf_map_lookup_elem(starts_fd, &tid, &start) == 0) {
      keep.insert(start.user_stack);
      keep.insert(start.kernel_stack);
    }
  });
  ForEachKey<sh_count_key>(live_fd, [&](const sh_count_key& k) {
    keep.insert(k.user_stack);
    keep.insert(k.kernel_stack);
  });
  for (uint32_t sid : candidates) {
    if (!keep.count(static_cast<int32_t>(sid))) bpf_map_delete_elem(stacks_fd, &sid);
  }
}

uint64_t BpfSampler::samples() const { return impl_->Stats().samples; }

uint64_t BpfSampler::lost() const {
  sh_stats s = impl_->Stats();
  return s.ring_full + s.counts_full + s.offcpu_lost + impl_->user_lost;
}

int BpfSampler::cpus() const { return static_cast<int>(impl_->perf_fds.size()); }

#endif  // STACKHOUSE_HAVE_BPF

}  // namespace stackhouse::agent
