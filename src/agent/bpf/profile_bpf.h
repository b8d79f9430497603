// The layout shared by the agent's BPF program (profile.bpf.c) and the
// user-space side (bpf_sampler_linux.cc): map keys and values, ring-buffer
// events and per-process unwinding modes. Plain C with fixed-width kernel
// types so that both compilers lay it out the same way.
#ifndef STACKHOUSE_AGENT_BPF_PROFILE_BPF_H_
#define STACKHOUSE_AGENT_BPF_PROFILE_BPF_H_

#define SH_MAX_FRAMES 127     // frames per stack (PERF_MAX_STACK_DEPTH)
#define SH_STACK_COPY 16384   // bytes of user stack copied for eh_frame unwinding
#define SH_COPY_CHUNK 512     // copied in chunks: the copy stops at the first unmapped one
#define SH_TOP_WORDS 16       // words of user stack kept with an unresolved off-CPU leaf

// How the BPF program treats a process (the `modes` map, by tgid).
enum sh_mode {
  SH_MODE_UNKNOWN = 0,  // not classified yet: send the sample to user space (with a stack copy)
  SH_MODE_FP = 1,       // count in the kernel with the frame-pointer user stack
  SH_MODE_COPY = 2,     // send each sample with registers and a stack copy (code without frame pointers)
  SH_MODE_SKIP = 3,     // filtered out: ignore
};

enum sh_kind {
  SH_KIND_CPU = 0,     // a CPU-clock sample: count 1
  SH_KIND_OFFCPU = 1,  // a blocked period: count 1, ns = time off CPU
};

// The in-kernel aggregation: (process, thread or 0, stacks, kind) -> counts.
struct sh_count_key {
  __u32 pid;
  __u32 tid;           // 0 unless per-thread counting is on
  __s32 user_stack;    // id in the `stacks` map, or < 0: none
  __s32 kernel_stack;  // id in the `stacks` map, or < 0: none
  __u32 kind;          // enum sh_kind
  __u32 pad;
  // Off-CPU: the user pc where the thread blocked; the return address of
  // the function it blocked in when that function has no frame of its own
  // (a frame-pointer walk skips that caller), or 0; and, while user space
  // has not yet told where that return address is, the top of the user
  // stack to find it in afterwards (zeros otherwise).
  __u64 ip;
  __u64 leaf_caller;
  __u64 top[SH_TOP_WORDS];
};

struct sh_count {
  __u64 count;
  __u64 ns;
};

enum sh_event_type {
  SH_EVENT_SAMPLE = 1,  // struct sh_sample_event (with stack_len == 0)
  SH_EVENT_COPY = 2,    // struct sh_copy_event
  SH_EVENT_EXEC = 3,    // struct sh_event_header: pid exec'd a new program
  SH_EVENT_LEAF = 4,    // struct sh_leaf_event: where is the return address at this pc?
};

// Off-CPU stacks: for a (process, pc) where threads block, the offset from
// the stack pointer of the return address (> 0), 0 if the function has a
// frame (nothing to fix), SH_LEAF_PENDING while user space is asked,
// SH_LEAF_UNKNOWN if it could not tell (the `leaf_offsets` map).
#define SH_LEAF_PENDING (-1)
#define SH_LEAF_UNKNOWN (-2)
struct sh_leaf_key {
  __u32 pid;
  __u32 pad;
  __u64 ip;
};

struct sh_event_header {
  __u32 type;  // enum sh_event_type
  __u32 pid;
  __u32 tid;
  __u32 mode;  // the mode the sample was taken in (SH_MODE_UNKNOWN: classify pid)
};

// A sample sent to user space: an unclassified or no-frame-pointer process,
// or one whose stack did not fit the stack map.
struct sh_sample_event {
  struct sh_event_header h;
  __u32 kernel_len;  // frames in kernel[]
  __u32 user_len;    // frames in user[] (frame-pointer chain)
  __u32 stack_len;   // bytes in the copy (SH_EVENT_COPY)
  __u32 pad;
  __u64 ip, sp, bp;  // user registers (SH_EVENT_COPY)
  __u64 kernel[SH_MAX_FRAMES];
  __u64 user[SH_MAX_FRAMES];
};

struct sh_copy_event {
  struct sh_sample_event s;
  __u8 stack[SH_STACK_COPY];
};

// Where a thread blocked (the `offcpu_starts` map, by tid).
struct sh_offcpu_start {
  __u64 ts;
  __u32 pid;
  __s32 user_stack;
  __s32 kernel_stack;
  __u32 pad;
  __u64 ip;                  // as in sh_count_key
  __u64 leaf_caller;         // as in sh_count_key
  __u64 top[SH_TOP_WORDS];   // as in sh_count_key
};

struct sh_leaf_event {
  struct sh_event_header h;
  __u64 ip;
};

// Per-CPU counters (the `stats` map, index 0).
struct sh_stats {
  __u64 samples;        // CPU samples taken (idle excluded)
  __u64 counted;        // counted in the kernel
  __u64 sent;           // sent through the ring buffer
  __u64 ring_full;      // dropped: ring buffer full
  __u64 counts_full;    // dropped: counts map full
  __u64 stack_full;     // stack map bucket taken by another stack (sent instead)
  __u64 offcpu;         // blocked periods counted
  __u64 offcpu_lost;    // blocked periods whose start was not recorded
};

#endif  // STACKHOUSE_AGENT_BPF_PROFILE_BPF_H_
