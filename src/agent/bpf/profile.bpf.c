// The agent's BPF program (CO-RE; built with clang -target bpf against a
// vmlinux.h generated from the build machine's kernel BTF, loaded through a
// bpftool skeleton). See docs/agent.md for the design.
//
//  - on_cpu_sample runs on a perf-event CPU clock on every CPU. Samples of
//    processes with frame pointers taken in their executable's code (and of
//    kernel threads) are counted in the kernel: a stack map plus counts
//    keyed by (pid, tid or 0, user stack id, kernel stack id). The others
//    (unclassified processes, code without frame pointers, samples in
//    libraries or in system calls) go through a ring buffer with the user
//    registers and a copy of the top of the user stack; user space unwinds
//    them with .eh_frame.
//  - The counts maps come in two generations: user space flips `gen`, then
//    reads and clears the other one.
//  - on_switch (with --off-cpu) notes where a thread blocked and, when it
//    runs again, counts the time it spent off CPU on that stack.
//  - on_exec/on_exit forget a process's mode (it may be another program).
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "agent/bpf/profile_bpf.h"

#define EEXIST 17
#define ENOMEM 12
#define TASK_RUNNING 0

char LICENSE[] SEC("license") = "Dual MIT/GPL";

// Set by user space before loading.
const volatile __u32 per_thread = 0;      // key counts by thread too
const volatile __u32 offcpu_min_ns = 0;   // ignore shorter blocked periods

// Flipped by user space: which counts map is live.
__u32 gen = 0;

struct {
  __uint(type, BPF_MAP_TYPE_STACK_TRACE);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, SH_MAX_FRAMES * sizeof(__u64));
  __uint(max_entries, 16384);
} stacks SEC(".maps");

struct counts_map {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct sh_count_key);
  __type(value, struct sh_count);
  __uint(max_entries, 16384);
};
struct counts_map counts0 SEC(".maps");
struct counts_map counts1 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, __u32);
  __type(value, __u32);
  __uint(max_entries, 65536);
} modes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 20);  // resized by user space: 256 KiB per CPU, 1 MiB at least
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, __u32);  // tid
  __type(value, struct sh_offcpu_start);
  __uint(max_entries, 32768);
} offcpu_starts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, struct sh_leaf_key);
  __type(value, __s32);
  __uint(max_entries, 65536);
} leaf_offsets SEC(".maps");

// Per-CPU scratch space for records too big for the BPF stack.
struct offcpu_scratch {
  struct sh_offcpu_start start;
  struct sh_count_key key;
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct offcpu_scratch);
  __uint(max_entries, 1);
} scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, struct sh_stats);
  __uint(max_entries, 1);
} stats SEC(".maps");

// Hands a record to user space, which reads the ring ten times a second:
// wake it only when the ring is filling up (a wakeup costs more than the
// sample).
static __always_inline void submit(void* e) {
  __u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4
                    ? BPF_RB_FORCE_WAKEUP
                    : BPF_RB_NO_WAKEUP;
  bpf_ringbuf_submit(e, flags);
}

static __always_inline struct sh_stats* my_stats(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline __u32 mode_of(__u32 pid) {
  __u32* m = bpf_map_lookup_elem(&modes, &pid);
  return m ? *m : SH_MODE_UNKNOWN;
}

static __always_inline int stack_failed(long id) {
  return id == -EEXIST || id == -ENOMEM;
}

// Adds (count, ns) to the live counts map; 0 on success.
static __always_inline int add_count(struct sh_count_key* key, __u64 count, __u64 ns) {
  void* map = (gen & 1) ? (void*)&counts1 : (void*)&counts0;
  struct sh_count* c = bpf_map_lookup_elem(map, key);
  if (c) {
    __sync_fetch_and_add(&c->count, count);
    __sync_fetch_and_add(&c->ns, ns);
    return 0;
  }
  struct sh_count init = {count, ns};
  if (bpf_map_update_elem(map, key, &init, BPF_NOEXIST) == 0) return 0;
  // Another CPU inserted it first, or the map is full.
  c = bpf_map_lookup_elem(map, key);
  if (!c) return -1;
  __sync_fetch_and_add(&c->count, count);
  __sync_fetch_and_add(&c->ns, ns);
  return 0;
}

// The kernel stack, and the user stack by frame pointers when `user` (not
// for stack copies: user space unwinds those itself, falling back to frame
// pointers in the copy where .eh_frame has no answer).
static __always_inline void fill_stacks(void* ctx, struct sh_sample_event* e, int user) {
  long n = bpf_get_stack(ctx, e->kernel, sizeof(e->kernel), 0);
  e->kernel_len = n > 0 ? n / sizeof(__u64) : 0;
  e->user_len = 0;
  if (user) {
    n = bpf_get_stack(ctx, e->user, sizeof(e->user), BPF_F_USER_STACK);
    e->user_len = n > 0 ? n / sizeof(__u64) : 0;
  }
}

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data* ctx) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 pid = id >> 32, tid = (__u32)id;
  if (pid == 0) return 0;  // the idle task
  struct sh_stats* st = my_stats();
  if (!st) return 0;
  st->samples++;
  __u32 mode = mode_of(pid);
  if (mode == SH_MODE_SKIP) return 0;
  struct task_struct* task = bpf_get_current_task_btf();
  struct mm_struct* mm = task->mm;
  int user = mm != 0;  // kernel threads have no user stack
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(task);
  if (mode == SH_MODE_FP && user) {
    // The executable keeps frame pointers, its libraries may not: a walk
    // that starts in a library function without a frame of its own skips
    // that function's caller. Copy the stack of such samples instead.
    __u64 ip = BPF_CORE_READ(regs, ip);
    if (ip < mm->start_code || ip >= mm->end_code) mode = SH_MODE_COPY;
  }
  if (mode == SH_MODE_FP || !user) {
    struct sh_count_key key = {};
    key.pid = pid;
    key.tid = per_thread ? tid : 0;
    key.kind = SH_KIND_CPU;
    long k = bpf_get_stackid(ctx, &stacks, 0);
    long u = user ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
    if (!stack_failed(k) && !stack_failed(u)) {
      key.kernel_stack = k < 0 ? -1 : k;
      key.user_stack = u < 0 ? -1 : u;
      if (add_count(&key, 1, 0) == 0) {
        st->counted++;
        return 0;
      }
      st->counts_full++;
    } else {
      st->stack_full++;
    }
    // Send it instead, with its frames.
    struct sh_sample_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
      st->ring_full++;
      return 0;
    }
    e->h.type = SH_EVENT_SAMPLE;
    e->h.pid = pid;
    e->h.tid = tid;
    e->h.mode = mode;
    e->stack_len = 0;
    e->ip = e->sp = e->bp = 0;
    fill_stacks(ctx, e, user);
    submit(e);
    st->sent++;
    return 0;
  }
  // Unclassified or without frame pointers: registers and a stack copy.
  struct sh_copy_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    st->ring_full++;
    return 0;
  }
  e->s.h.type = SH_EVENT_COPY;
  e->s.h.pid = pid;
  e->s.h.tid = tid;
  e->s.h.mode = mode;
  fill_stacks(ctx, &e->s, 0);
  __u64 sp = BPF_CORE_READ(regs, sp);
  e->s.ip = BPF_CORE_READ(regs, ip);
  e->s.sp = sp;
  e->s.bp = BPF_CORE_READ(regs, bp);
  // On the main thread's stack, nothing above where it starts is needed.
  __u64 want = SH_STACK_COPY;
  __u64 top = mm->start_stack;
  if (sp < top && top - sp < SH_STACK_COPY - 64) want = top - sp + 64;
  __u32 len = 0;
  for (int i = 0; i < SH_STACK_COPY / SH_COPY_CHUNK; i++) {
    if (len >= want) break;
    if (bpf_probe_read_user(&e->stack[i * SH_COPY_CHUNK], SH_COPY_CHUNK, (void*)(sp + i * SH_COPY_CHUNK))) break;
    len += SH_COPY_CHUNK;
  }
  e->s.stack_len = len;
  submit(e);
  st->sent++;
  return 0;
}

// The caller of the function a thread blocked in, when that function has
// no frame (most system-call wrappers): user space tells the offset of its
// return address from the stack pointer, once per (process, pc).
static __always_inline __u64 leaf_caller(__u32 pid, __u64 ip, __u64 sp, __u64* top) {
  struct sh_leaf_key lk = {};
  lk.pid = pid;
  lk.ip = ip;
  __s32* off = bpf_map_lookup_elem(&leaf_offsets, &lk);
  if (!off) {
    __s32 pending = SH_LEAF_PENDING;
    bpf_probe_read_user(top, SH_TOP_WORDS * sizeof(__u64), (void*)sp);
    if (bpf_map_update_elem(&leaf_offsets, &lk, &pending, BPF_NOEXIST) != 0) return 0;
    struct sh_leaf_event* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
      bpf_map_delete_elem(&leaf_offsets, &lk);
      return 0;
    }
    e->h.type = SH_EVENT_LEAF;
    e->h.pid = pid;
    e->h.tid = 0;
    e->h.mode = 0;
    e->ip = ip;
    submit(e);
    return 0;
  }
  __s32 o = *off;
  if (o == SH_LEAF_PENDING) {
    // Keep the top of the stack: user space finds the caller in it later.
    if (bpf_probe_read_user(top, SH_TOP_WORDS * sizeof(__u64), (void*)sp)) return 0;
    return 0;
  }
  if (o <= 0 || o > 4096) return 0;
  __u64 ret = 0;
  if (bpf_probe_read_user(&ret, sizeof(ret), (void*)(sp + o))) return 0;
  return ret;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct* prev, struct task_struct* next, unsigned int prev_state) {
  __u64 now = bpf_ktime_get_ns();
  __u32 zero = 0;
  struct offcpu_scratch* sc = bpf_map_lookup_elem(&scratch, &zero);
  if (!sc) return 0;
  __u32 prev_pid = prev->tgid;
  // prev is the current task: its stacks are the ones it blocks on.
  __u32 mode = prev_pid != 0 ? mode_of(prev_pid) : SH_MODE_SKIP;
  if (prev_state != TASK_RUNNING && mode != SH_MODE_SKIP) {
    struct sh_offcpu_start* s = &sc->start;
    __builtin_memset(s, 0, sizeof(*s));
    s->ts = now;
    s->pid = prev_pid;
    long k = bpf_get_stackid(ctx, &stacks, 0);
    s->kernel_stack = k < 0 ? -1 : k;
    s->user_stack = -1;
    if (prev->mm) {
      struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(prev);
      s->ip = BPF_CORE_READ(regs, ip);
      // Without frame pointers rbp holds anything: user space keeps this
      // walk only for processes with frame pointers.
      if (mode != SH_MODE_COPY) {
        long u = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
        s->user_stack = u < 0 ? -1 : u;
      }
      s->leaf_caller = leaf_caller(prev_pid, s->ip, BPF_CORE_READ(regs, sp), s->top);
    }
    __u32 prev_tid = prev->pid;
    bpf_map_update_elem(&offcpu_starts, &prev_tid, s, BPF_ANY);
  }
  __u32 next_tid = next->pid;
  struct sh_offcpu_start* s = bpf_map_lookup_elem(&offcpu_starts, &next_tid);
  if (!s) return 0;
  __u64 delta = now - s->ts;
  struct sh_count_key* key = &sc->key;
  key->pid = s->pid;
  key->tid = per_thread ? next_tid : 0;
  key->user_stack = s->user_stack;
  key->kernel_stack = s->kernel_stack;
  key->kind = SH_KIND_OFFCPU;
  key->pad = 0;
  key->ip = s->ip;
  key->leaf_caller = s->leaf_caller;
  __builtin_memcpy(key->top, s->top, sizeof(key->top));
  bpf_map_delete_elem(&offcpu_starts, &next_tid);
  if (delta < offcpu_min_ns) return 0;
  struct sh_stats* st = my_stats();
  if (add_count(key, 1, delta) != 0) {
    if (st) st->offcpu_lost++;
    return 0;
  }
  if (st) st->offcpu++;
  return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct* p, pid_t old_pid, struct linux_binprm* bprm) {
  __u32 pid = p->tgid;
  bpf_map_delete_elem(&modes, &pid);
  struct sh_event_header* e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return 0;
  e->type = SH_EVENT_EXEC;
  e->pid = pid;
  e->tid = p->pid;
  e->mode = 0;
  submit(e);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct* p) {
  __u32 tid = p->pid;
  bpf_map_delete_elem(&offcpu_starts, &tid);
  if (p->pid == p->tgid) {
    __u32 pid = p->tgid;
    bpf_map_delete_elem(&modes, &pid);
  }
  return 0;
}
