// sampler_workload: programs with known behaviour for libstackhouse's tests
// and benchmark. It links libstackhouse.so; tests start profiling through
// LD_PRELOAD and STACKHOUSE_* variables (zero-code mode) and read what the
// profiler wrote to STACKHOUSE_OUTPUT_DIR or sent to a server. Each mode
// prints one JSON line with its ground truth.
//
//   cpu SECONDS THREADS     BurnA/BurnB 30/70 per thread (labels endpoint=/a,/b)
//   heap MIB                site KeepAlive: MIB in 64 KiB blocks kept live;
//                           site Churn: MIB in 4 KiB blocks freed at once
//   heaplate MIB            heap, with heap profiling started only after
//                           64 MiB were allocated with it off
//   lock SECONDS THREADS    threads contend on one mutex in ContendedSection
//   wall SECONDS            a thread sleeping in SleepyWait, one burning
//   threads N               N short threads created and joined, 50 at a time
//   fork                    forks a burning child that then execs /bin/true
//   dlopen LIB ROUNDS       dlopen LIB, burn in its function, dlclose, repeat
//   sigprof SECONDS         the program's own SIGPROF handler and ITIMER_PROF
//   work CYCLES THREADS     a fixed amount of BurnA/BurnB work (benchmark: CPU
//                           time then varies with the profiler's overhead)
//   mallocwork OPS THREADS  a fixed number of malloc/free pairs (benchmark)
//   syscalls SECONDS        a loop of small read/write system calls
//   jit SECONDS             runs generated machine code named in /tmp/perf-PID.map
//   sigcost N               the kernel's cost to deliver and return from a
//                           signal (no profiler needed)
//   hookcost [N [ROUNDS]]   the added cost of a hooked malloc+free pair
//   allocheck ROUNDS THREADS  every allocation entry point keeps its promises
//
// WORKLOAD_DELAY_MS waits before the work (for profilers that attach).
#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "sampler/testing/burn.h"
#include "stackhouse/stackhouse.h"

using namespace stackhouse::sampler::testing;  // NOLINT

namespace {

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t MonoNs() { return stackhouse::MonotonicNanos(); }

int64_t RusageNs(int who) {
  rusage ru;
  getrusage(who, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

int Cpu(double seconds, int threads) {
  std::atomic<int64_t> a_ns{0}, b_ns{0}, thread_ns{0};
  bool labels = getenv("WORKLOAD_LABELS") != nullptr;
  int64_t end = MonoNs() + static_cast<int64_t>(seconds * 1e9);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      int64_t a = 0, b = 0;
      while (MonoNs() < end) {
        if (labels) stackhouse_label_set("endpoint", "/a");
        int64_t t0 = ThreadCpuNs();
        BurnA(30);
        int64_t t1 = ThreadCpuNs();
        if (labels) stackhouse_label_set("endpoint", "/b");
        BurnB(70);
        int64_t t2 = ThreadCpuNs();
        a += t1 - t0;
        b += t2 - t1;
      }
      if (labels) stackhouse_label_clear_all();
      a_ns += a;
      b_ns += b;
      thread_ns += RusageNs(RUSAGE_THREAD);
    });
  }
  for (auto& t : ts) t.join();
  printf("{\"a_ns\":%lld,\"b_ns\":%lld,\"threads_cpu_ns\":%lld,\"process_cpu_ns\":%lld}\n",
         static_cast<long long>(a_ns.load()), static_cast<long long>(b_ns.load()),
         static_cast<long long>(thread_ns.load()), static_cast<long long>(RusageNs(RUSAGE_SELF)));
  return 0;
}

__attribute__((noinline)) void* KeepAlive(size_t size) {
  void* p = malloc(size);
  asm volatile("" : : "r"(p) : "memory");
  return p;
}

__attribute__((noinline)) void Churn(size_t size) {
  void* p = malloc(size);
  asm volatile("" : : "r"(p) : "memory");
  free(p);
}

int Heap(long mib) {
  const size_t kKeep = 64 * 1024, kChurn = 4096;
  size_t total = static_cast<size_t>(mib) << 20;
  std::vector<void*> kept;
  kept.reserve(total / kKeep);
  for (size_t done = 0; done < total; done += kKeep) kept.push_back(KeepAlive(kKeep));
  for (size_t done = 0; done < total; done += kChurn) Churn(kChurn);
  // The in-use profile is cut while KeepAlive's blocks are live.
  if (stackhouse_running() && stackhouse_flush(10000) != 0) {
    fprintf(stderr, "flush: %s\n", stackhouse_last_error());
    return 1;
  }
  for (void* p : kept) free(p);
  printf("{\"keep_bytes\":%zu,\"churn_bytes\":%zu}\n", total, total);
  return 0;
}

// Heap profiling turned on after the program has allocated with it off
// (the hooks then only re-arm each thread's byte budget every few MiB):
// 64 MiB of churn first, then the profiler is restarted with heap
// profiling (into STACKHOUSE_OUTPUT_DIR) and Heap(mib) runs.
int HeapLate(long mib) {
  for (int i = 0; i < 16384; ++i) Churn(4096);
  if (stackhouse_running()) stackhouse_stop();
  stackhouse_config c{};
  c.application_name = "heaplate";
  c.profiles = STACKHOUSE_PROFILE_HEAP;
  c.upload_interval_ms = 60000;
  c.output_dir = getenv("STACKHOUSE_OUTPUT_DIR");
  if (stackhouse_start(&c) != 0) {
    fprintf(stderr, "start: %s\n", stackhouse_last_error());
    return 1;
  }
  return Heap(mib);
}

pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;

__attribute__((noinline)) void ContendedSection() {
  pthread_mutex_lock(&g_mutex);
  Spin(kIterationsPerUnit / 4);
  pthread_mutex_unlock(&g_mutex);
}

int Lock(double seconds, int threads) {
  int64_t end = MonoNs() + static_cast<int64_t>(seconds * 1e9);
  std::atomic<long> n{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      while (MonoNs() < end) {
        ContendedSection();
        Spin(kIterationsPerUnit / 8);  // work outside the lock, so that threads take turns
        n++;
      }
    });
  }
  for (auto& t : ts) t.join();
  printf("{\"sections\":%ld}\n", n.load());
  return 0;
}

__attribute__((noinline)) void SleepyWait(double seconds) {
  timespec ts{static_cast<time_t>(seconds), static_cast<long>((seconds - static_cast<long>(seconds)) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

int Wall(double seconds) {
  int64_t end = MonoNs() + static_cast<int64_t>(seconds * 1e9);
  std::thread sleeper([&] { SleepyWait(seconds); });
  std::thread burner([&] {
    while (MonoNs() < end) BurnA(1);
  });
  sleeper.join();
  burner.join();
  printf("{\"seconds\":%g}\n", seconds);
  return 0;
}

int Threads(int n) {
  std::atomic<long> sum{0};
  for (int done = 0; done < n;) {
    std::vector<std::thread> batch;
    for (int i = 0; i < 50 && done < n; ++i, ++done) {
      batch.emplace_back([&] { sum += static_cast<long>(Spin(2000)); });
    }
    for (auto& t : batch) t.join();
  }
  // The profiler releases an exited thread's resources on its next drain
  // (every 100 ms): give it that long.
  usleep(300000);
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) fds++;
    closedir(d);
  }
  printf("{\"threads\":%d,\"open_fds\":%d}\n", n, fds - 2);
  return 0;
}

int Fork() {
  BurnA(200);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    // The child keeps working (it must not hang or crash), then execs.
    BurnB(100);
    std::thread t([] { BurnA(20); });
    t.join();
    void* p = malloc(1 << 20);
    free(p);
    execl("/bin/true", "true", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  BurnB(200);
  printf("{\"child_status\":%d}\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

// Burns CPU on two threads (CPU and wall signals keep coming), then execs
// itself with n - 1, alternately through execl and execv. The last image
// first tries an exec that fails, then burns in BurnA: its samples show
// that a failed exec leaves profiling as it was.
int ExecChain(long n) {
  if (n <= 0) {
    char* none[] = {const_cast<char*>("none"), nullptr};
    if (execv("/nonexistent/stackhouse-exec-test", none) != -1 || errno != ENOENT) return 3;
    BurnA(100);
    printf("{\"exec_chain_done\":1}\n");
    return 0;
  }
  std::thread t([] { BurnB(40); });
  BurnB(40);
  t.join();
  std::string next = std::to_string(n - 1);
  if (n % 2 == 0) {
    execl("/proc/self/exe", "sampler_workload", "exec", next.c_str(), static_cast<char*>(nullptr));
  } else {
    char* argv[] = {const_cast<char*>("sampler_workload"), const_cast<char*>("exec"), next.data(), nullptr};
    execv("/proc/self/exe", argv);
  }
  perror("exec");
  return 1;
}

int Dlopen(const char* lib, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      fprintf(stderr, "dlopen: %s\n", dlerror());
      return 1;
    }
    auto fn = reinterpret_cast<double (*)(long)>(dlsym(h, "plugin_burn"));
    if (fn == nullptr) return 1;
    int64_t end = MonoNs() + 150000000;
    while (MonoNs() < end) fn(1);
    dlclose(h);
  }
  printf("{\"rounds\":%d}\n", rounds);
  return 0;
}

std::atomic<int> g_own_sigprof{0};

int Sigprof(double seconds) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = [](int) { g_own_sigprof++; };
  sa.sa_flags = SA_RESTART;
  sigaction(SIGPROF, &sa, nullptr);
  itimerval it{{0, 10000}, {0, 10000}};
  setitimer(ITIMER_PROF, &it, nullptr);
  int64_t t0 = RusageNs(RUSAGE_SELF);
  int64_t end = MonoNs() + static_cast<int64_t>(seconds * 1e9);
  while (MonoNs() < end) BurnB(1);
  itimerval off{};
  setitimer(ITIMER_PROF, &off, nullptr);
  printf("{\"own_signals\":%d,\"cpu_ns\":%lld}\n", g_own_sigprof.load(),
         static_cast<long long>(RusageNs(RUSAGE_SELF) - t0));
  return 0;
}

int64_t MaxRssKb() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

__attribute__((noinline)) void WorkCycles(long cycles) {
  for (long i = 0; i < cycles; ++i) {
    BurnA(30);
    BurnB(70);
  }
}

// THREADS = 0 works on the main thread (stacks then reach main).
int Work(long cycles, int threads) {
  if (threads == 0) WorkCycles(cycles);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([cycles] { WorkCycles(cycles); });
  }
  for (auto& t : ts) t.join();
  printf("{\"process_cpu_ns\":%lld,\"max_rss_kb\":%lld}\n", static_cast<long long>(RusageNs(RUSAGE_SELF)),
         static_cast<long long>(MaxRssKb()));
  return 0;
}

// An allocation-heavy loop that also uses what it allocates, as programs
// do: each op frees a random older block, allocates 16..2063 bytes and
// initializes up to its first 256 bytes (an object header, a small buffer).
extern "C" void* __libc_malloc(size_t);
extern "C" void __libc_free(void*);
extern "C" void* __libc_memalign(size_t, size_t);

// mallocwork's loop: `ops` times, a random slot's block is freed and
// replaced by one of 16 bytes to 2 KiB whose first 256 bytes are written.
// kHooked: through malloc/free (whatever is interposed), else straight into
// glibc (hookcost's baseline).
template <bool kHooked>
void MallocOpsLoop(std::vector<void*>& slots, unsigned& r, long ops) {
  for (long i = 0; i < ops; ++i) {
    r = r * 1103515245u + 12345u;
    size_t slot = (r >> 8) % slots.size();
    if (kHooked) free(slots[slot]); else __libc_free(slots[slot]);
    size_t size = 16 + (r >> 20) % 2048;
    slots[slot] = kHooked ? malloc(size) : __libc_malloc(size);
    memset(slots[slot], static_cast<int>(i), size < 256 ? size : 256);
  }
}

__attribute__((noinline)) void MallocOps(long ops, unsigned seed) {
  std::vector<void*> slots(1024, nullptr);
  unsigned r = seed;
  MallocOpsLoop<true>(slots, r, ops);
  for (void* p : slots) free(p);
}

// Every allocation entry point, checked for what it promises (zeroed calloc
// memory, realloc keeping contents, alignment, usable size), from several
// threads that free each other's blocks. Run with a small sampling mean, so
// that many blocks are sampled and sampled blocks are reused. Exits 1 with a
// message on the first broken promise.
int AllocCheck(long rounds, int threads) {
  std::atomic<int> failures{0};
  auto fail = [&](const char* what, size_t size) {
    if (failures.fetch_add(1) == 0) fprintf(stderr, "allocheck: %s (size %zu)\n", what, size);
  };
  std::vector<std::atomic<void*>> shared(256);
  auto body = [&](unsigned seed) {
    unsigned r = seed;
    for (long i = 0; i < rounds && failures.load() == 0; ++i) {
      r = r * 1103515245u + 12345u;
      size_t size = 1 + (r >> 8) % 20000;
      switch ((r >> 4) % 5) {
        case 0: {  // calloc: zeroed, even in a reused block
          auto* p = static_cast<unsigned char*>(calloc(1, size));
          if (p == nullptr) { fail("calloc returned null", size); break; }
          for (size_t k = 0; k < size; ++k) {
            if (p[k] != 0) { fail("calloc memory not zero", size); break; }
          }
          memset(p, 0xab, size);
          free(p);
          break;
        }
        case 1: {  // realloc keeps the contents
          auto* p = static_cast<unsigned char*>(malloc(size));
          if (p == nullptr) { fail("malloc returned null", size); break; }
          for (size_t k = 0; k < size; ++k) p[k] = static_cast<unsigned char>(k * 7);
          size_t bigger = size * 2 + 100;
          auto* q = static_cast<unsigned char*>(realloc(p, bigger));
          if (q == nullptr) { fail("realloc returned null", bigger); free(p); break; }
          for (size_t k = 0; k < size; ++k) {
            if (q[k] != static_cast<unsigned char>(k * 7)) { fail("realloc lost contents", size); break; }
          }
          if (malloc_usable_size(q) < bigger) fail("usable size below the request", bigger);
          free(q);
          break;
        }
        case 2: {  // alignment
          size_t align = size_t{16} << ((r >> 12) % 10);  // 16 .. 8192
          void* p = nullptr;
          if (posix_memalign(&p, align, size) != 0 || p == nullptr) { fail("posix_memalign failed", size); break; }
          if ((reinterpret_cast<uintptr_t>(p) & (align - 1)) != 0) fail("posix_memalign misaligned", align);
          void* q = aligned_alloc(align, (size + align - 1) / align * align);
          if (q == nullptr || (reinterpret_cast<uintptr_t>(q) & (align - 1)) != 0) fail("aligned_alloc", align);
          free(p);
          free(q);
          break;
        }
        default: {  // blocks freed by another thread
          auto* p = static_cast<unsigned char*>(malloc(size));
          if (p == nullptr) { fail("malloc returned null", size); break; }
          memset(p, 0x5a, size);
          if (malloc_usable_size(p) < size) fail("usable size below the request", size);
          void* old = shared[(r >> 16) % shared.size()].exchange(p);
          free(old);
          break;
        }
      }
    }
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back(body, 777u + t);
  for (auto& t : ts) t.join();
  for (auto& p : shared) free(p.exchange(nullptr));
  printf("{\"failures\":%d}\n", failures.load());
  return failures.load() == 0 ? 0 : 1;
}

int MallocWork(long ops, int threads) {
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back([ops, t] { MallocOps(ops, 12345u + t); });
  for (auto& t : ts) t.join();
  // Each op is one malloc and one free.
  printf("{\"calls\":%ld,\"process_cpu_ns\":%lld,\"max_rss_kb\":%lld}\n", 2 * ops * threads,
         static_cast<long long>(RusageNs(RUSAGE_SELF)), static_cast<long long>(MaxRssKb()));
  return 0;
}

__attribute__((noinline)) int Syscalls(double seconds) {
  int in = open("/dev/zero", O_RDONLY | O_CLOEXEC), out = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (in < 0 || out < 0) return 1;
  char buf[4096];
  long n = 0;
  int64_t end = MonoNs() + static_cast<int64_t>(seconds * 1e9);
  while (MonoNs() < end) {
    for (int i = 0; i < 100; ++i, ++n) {
      if (read(in, buf, sizeof(buf)) < 0 || write(out, buf, sizeof(buf)) < 0) return 1;
    }
  }
  close(in);
  close(out);
  printf("{\"syscalls\":%ld}\n", 2 * n);
  return 0;
}

// A tiny "JIT": a countdown loop copied into an executable anonymous page,
// announced in /tmp/perf-PID.map as jit_spin_loop (the file is left for the
// profiler to read after we exit; the test removes it).
int Jit(double seconds) {
  static const unsigned char kCode[] = {
      0x48, 0x89, 0xf9,  // mov %rdi,%rcx
      0x48, 0xff, 0xc9,  // 1: dec %rcx
      0x75, 0xfb,        // jnz 1b
      0xc3,              // ret
  };
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 1;
  memcpy(page, kCode, sizeof(kCode));
  char path[64];
  snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
  FILE* f = fopen(path, "w");
  if (f == nullptr) return 1;
  fprintf(f, "%lx %zx jit_spin_loop\n", reinterpret_cast<unsigned long>(page), sizeof(kCode));
  fclose(f);
  auto fn = reinterpret_cast<void (*)(long)>(page);
  int64_t end = MonoNs() + static_cast<int64_t>(seconds * 1e9);
  while (MonoNs() < end) fn(1000000);
  printf("{\"jit_code\":\"%p\"}\n", page);
  return 0;
}

int SigCost(long n) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_sigaction = [](int, siginfo_t*, void*) {};
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGUSR2, &sa, nullptr);
  pid_t pid = getpid();
  int tid = static_cast<int>(gettid());
  auto best = [&](int sig) {
    int64_t min_ns = INT64_MAX;
    for (int round = 0; round < 5; ++round) {
      int64_t t0 = MonoNs();
      for (long i = 0; i < n; ++i) syscall(SYS_tgkill, pid, tid, sig);
      min_ns = std::min(min_ns, MonoNs() - t0);
    }
    return static_cast<double>(min_ns) / n;
  };
  double with_signal = best(SIGUSR2);
  double syscall_only = best(0);  // signal 0: the same syscall, nothing delivered
  printf("{\"signal_delivery_ns\":%.1f,\"tgkill_ns\":%.1f}\n", with_signal - syscall_only, syscall_only);
  return 0;
}

int HookCost(long n, int rounds) {
  // Short blocks of the same loop through the hooks and straight into glibc,
  // back to back in alternating order; the median of the paired differences
  // is robust to this machine's bursts of noise (a minimum of each side is
  // not: it swung by 3 ns between runs).
  auto once = [&](bool hooked) {
    int64_t t0 = MonoNs();
    for (long i = 0; i < n; ++i) {
      void* p = hooked ? malloc(64 + (i & 63)) : __libc_malloc(64 + (i & 63));
      asm volatile("" : : "r"(p) : "memory");
      if (hooked) free(p); else __libc_free(p);
    }
    return MonoNs() - t0;
  };
  // The free of a page-aligned block that was not sampled (glibc aligns
  // 1 in 100-250 blocks by chance): the hooks look it up; same blocks freed
  // through the hooks and straight into glibc.
  const long m = std::max(1L, n / 16);
  auto aligned_once = [&](bool hooked) {
    int64_t t0 = MonoNs();
    for (long i = 0; i < m; ++i) {
      void* p = __libc_memalign(4096, 64 + (i & 63));
      asm volatile("" : : "r"(p) : "memory");
      if (hooked) free(p); else __libc_free(p);
    }
    return MonoNs() - t0;
  };
  auto paired = [](auto&& run, int blocks, int64_t* plain_sum) {
    std::vector<int64_t> diffs;
    for (int round = 0; round < blocks; ++round) {
      int64_t a, b;
      if (round & 1) {
        b = run(true);
        a = run(false);
      } else {
        a = run(false);
        b = run(true);
      }
      diffs.push_back(b - a);
      *plain_sum += a;
    }
    std::nth_element(diffs.begin(), diffs.begin() + diffs.size() / 2, diffs.end());
    return static_cast<double>(diffs[diffs.size() / 2]);
  };
  // The same on mallocwork's own loop, which is what the benchmark charges
  // the hooks' cost to: there the hooks' few instructions partly overlap
  // glibc's cache misses. Shorter blocks, five times as many.
  std::vector<void*> slots(1024, nullptr);
  unsigned r = 12345u;
  const long k = std::max(1L, n / 5);
  const int ops_rounds = rounds * 5;
  auto ops_once = [&](bool hooked) {
    int64_t t0 = MonoNs();
    if (hooked) MallocOpsLoop<true>(slots, r, k); else MallocOpsLoop<false>(slots, r, k);
    return MonoNs() - t0;
  };
  int64_t plain = 0, aligned_plain = 0, ops_plain = 0;
  double pair_extra = paired(once, rounds, &plain) / n;
  double aligned_extra = paired(aligned_once, rounds, &aligned_plain) / m;
  double ops_extra = paired(ops_once, ops_rounds, &ops_plain) / k;
  for (void* p : slots) free(p);
  printf("{\"pair_plain_ns\":%.2f,\"per_call_ns\":%.2f,\"aligned_free_plain_ns\":%.2f,"
         "\"aligned_free_extra_ns\":%.2f,\"mallocwork_op_plain_ns\":%.2f,"
         "\"mallocwork_per_call_ns\":%.2f}\n",
         static_cast<double>(plain) / n / rounds, pair_extra / 2,
         static_cast<double>(aligned_plain) / m / rounds, aligned_extra,
         static_cast<double>(ops_plain) / k / ops_rounds, ops_extra / 2);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODE ARGS...\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  const char* stats_path = getenv("WORKLOAD_STATS");
  if (const char* at = getenv("WORKLOAD_STATS_AT_MS"); at != nullptr && stats_path != nullptr) {
    // A snapshot of the profiler's accounting after a warm-up, so that the
    // benchmark can leave start-up costs out of steady-state figures.
    std::thread([at, stats_path] {
      usleep(static_cast<useconds_t>(atoi(at)) * 1000);
      std::string path = std::string(stats_path) + ".warm";
      if (FILE* f = fopen(path.c_str(), "w")) {
        fprintf(f, "%s\n", stackhouse_stats_json());
        fclose(f);
      }
    }).detach();
  }
  if (const char* delay = getenv("WORKLOAD_DELAY_MS")) usleep(static_cast<useconds_t>(atoi(delay)) * 1000);
  auto arg = [&](int i, double def) { return argc > i ? atof(argv[i]) : def; };
  int rc;
  if (mode == "cpu") rc = Cpu(arg(2, 2), static_cast<int>(arg(3, 2)));
  else if (mode == "heap") rc = Heap(static_cast<long>(arg(2, 256)));
  else if (mode == "heaplate") rc = HeapLate(static_cast<long>(arg(2, 256)));
  else if (mode == "lock") rc = Lock(arg(2, 2), static_cast<int>(arg(3, 4)));
  else if (mode == "wall") rc = Wall(arg(2, 2));
  else if (mode == "threads") rc = Threads(static_cast<int>(arg(2, 10000)));
  else if (mode == "fork") rc = Fork();
  else if (mode == "exec") rc = ExecChain(static_cast<long>(arg(2, 10)));
  else if (mode == "dlopen") rc = argc > 2 ? Dlopen(argv[2], static_cast<int>(arg(3, 5))) : 2;
  else if (mode == "sigprof") rc = Sigprof(arg(2, 2));
  else if (mode == "work") rc = Work(static_cast<long>(arg(2, 50)), static_cast<int>(arg(3, 2)));
  else if (mode == "mallocwork") rc = MallocWork(static_cast<long>(arg(2, 1e7)), static_cast<int>(arg(3, 2)));
  else if (mode == "syscalls") rc = Syscalls(arg(2, 2));
  else if (mode == "jit") rc = Jit(arg(2, 2));
  else if (mode == "sigcost") rc = SigCost(static_cast<long>(arg(2, 200000)));
  else if (mode == "hookcost") rc = HookCost(static_cast<long>(arg(2, 10000)), static_cast<int>(arg(3, 2000)));
  else if (mode == "allocheck") rc = AllocCheck(static_cast<long>(arg(2, 100000)), static_cast<int>(arg(3, 3)));
  else {
    fprintf(stderr, "unknown mode %s\n", mode.c_str());
    rc = 2;
  }
  if (const char* stats = stats_path) {
    // Diagnostics of the profiler itself, for the benchmark.
    FILE* f = fopen(stats, "w");
    if (f != nullptr) {
      fprintf(f, "%s\n", stackhouse_stats_json());
      fclose(f);
    }
  }
  return rc;
}
