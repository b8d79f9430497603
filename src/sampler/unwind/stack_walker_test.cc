#include "sampler/unwind/stack_walker.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <gelf.h>
#include <gtest/gtest.h>
#include <libelf.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sampler/unwind/safe_load.h"
#include "sampler/unwind/testing/walk_chain.h"

namespace stackhouse::sampler::unwind {
namespace {

namespace chain = walk_chain;

constexpr int kMaxFrames = 64;

// ---- Symbolization of the test binary's own functions (from .symtab). ----

struct Symbol {
  uintptr_t start;  // runtime address
  uintptr_t size;
  std::string name;
};

uintptr_t MainBias() {
  uintptr_t bias = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        *static_cast<uintptr_t*>(data) = info->dlpi_addr;
        return 1;  // the first object is the executable
      },
      &bias);
  return bias;
}

const std::vector<Symbol>& ExeSymbols() {
  static const std::vector<Symbol>* symbols = [] {
    auto* out = new std::vector<Symbol>;
    elf_version(EV_CURRENT);
    const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
    const uintptr_t bias = MainBias();
    for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
      GElf_Shdr sh;
      if (gelf_getshdr(scn, &sh) == nullptr || sh.sh_type != SHT_SYMTAB) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
        GElf_Sym sym;
        if (gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) continue;
        if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0) continue;
        out->push_back(
            {bias + sym.st_value, sym.st_size, elf_strptr(elf, sh.sh_link, sym.st_name)});
      }
    }
    elf_end(elf);
    close(fd);
    std::sort(out->begin(), out->end(),
              [](const Symbol& a, const Symbol& b) { return a.start < b.start; });
    return out;
  }();
  return *symbols;
}

// True if pc lies in the function starting at `function`.
bool InFunction(uintptr_t pc, const void* function) {
  for (const Symbol& s : ExeSymbols()) {
    if (s.start == reinterpret_cast<uintptr_t>(function))
      return pc >= s.start && pc < s.start + s.size;
  }
  return false;
}

std::string Describe(uintptr_t pc) {
  for (const Symbol& s : ExeSymbols()) {
    if (pc >= s.start && pc < s.start + s.size) return s.name;
  }
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(pc), &info) != 0 && info.dli_fname != nullptr) {
    return std::string(info.dli_sname != nullptr ? info.dli_sname : "?") + " in " + info.dli_fname;
  }
  return "?";
}

bool InExecutable(uintptr_t pc) {
  for (const Symbol& s : ExeSymbols()) {
    if (pc >= s.start && pc < s.start + s.size) return true;
  }
  return false;
}

bool InLibc(uintptr_t pc) {
  Dl_info info;
  return dladdr(reinterpret_cast<void*>(pc), &info) != 0 && info.dli_fname != nullptr &&
         std::strstr(info.dli_fname, "libc.so") != nullptr;
}

std::string Dump(const uintptr_t* pcs, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    char line[64];
    std::snprintf(line, sizeof(line), "  #%d %#lx ", i, static_cast<unsigned long>(pcs[i]));
    out += line + Describe(pcs[i]) + "\n";
  }
  return out;
}

// ---- Capturing a walk from a signal raised inside the chain. ----

struct Capture {
  WalkMode mode = WalkMode::kDwarf;
  const UnwindTables* tables = nullptr;
  uintptr_t stack_hi = 0;  // 0: start.sp + kDefaultStackSpan
  int max_frames = kMaxFrames;
  int timing_iterations = 0;  // walks to time inside the handler
  // Results.
  Regs regs = {};
  uintptr_t pcs[kMaxFrames] = {};
  int n = 0;
  double ns_per_walk = 0;
};
Capture g_capture;

double NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

void CaptureHandler(int, siginfo_t*, void* ucontext) {
  Capture& c = g_capture;
  c.regs = RegsFromUcontext(ucontext);
  const uintptr_t hi = c.stack_hi != 0 ? c.stack_hi : c.regs.sp + kDefaultStackSpan;
  c.n = WalkStack(c.regs, hi, c.mode, c.tables, c.pcs, c.max_frames);
  if (c.timing_iterations > 0) {
    uintptr_t scratch[kMaxFrames];
    const double start = NowNs();
    for (int i = 0; i < c.timing_iterations; ++i) {
      WalkStack(c.regs, hi, c.mode, c.tables, scratch, c.max_frames);
    }
    c.ns_per_walk = (NowNs() - start) / c.timing_iterations;
  }
}

uintptr_t ThreadStackTop() {
  pthread_attr_t attr;
  void* addr = nullptr;
  size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  return reinterpret_cast<uintptr_t>(addr) + size;
}

class StackWalkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(InstallSafeLoadHandler());
    tables_ = new UnwindTables;
    ASSERT_TRUE(tables_->Refresh().ok());
    struct sigaction sa = {};
    sa.sa_sigaction = CaptureHandler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);
  }
  static void TearDownTestSuite() {
    signal(SIGUSR1, SIG_DFL);
    delete tables_;
    tables_ = nullptr;
  }

  // Runs `entry` with D raising SIGUSR1, walking with the given settings.
  static Capture& Run(int (*entry)(int), WalkMode mode, const UnwindTables* tables,
                      int max_frames = kMaxFrames, int timing_iterations = 0) {
    g_capture = Capture();
    g_capture.mode = mode;
    g_capture.tables = tables;
    g_capture.stack_hi = ThreadStackTop();
    g_capture.max_frames = max_frames;
    g_capture.timing_iterations = timing_iterations;
    chain::g_chain_signal = SIGUSR1;
    entry(3);
    chain::g_chain_signal = 0;
    return g_capture;
  }

  static UnwindTables* tables_;
};
UnwindTables* StackWalkerTest::tables_ = nullptr;

void ExpectChain(const Capture& c, const void* d, const void* cc, const void* b, const void* a) {
  ASSERT_GE(c.n, 4) << Dump(c.pcs, c.n);
  EXPECT_TRUE(InFunction(c.pcs[0], d)) << Dump(c.pcs, c.n);
  EXPECT_TRUE(InFunction(c.pcs[1], cc)) << Dump(c.pcs, c.n);
  EXPECT_TRUE(InFunction(c.pcs[2], b)) << Dump(c.pcs, c.n);
  EXPECT_TRUE(InFunction(c.pcs[3], a)) << Dump(c.pcs, c.n);
}

TEST_F(StackWalkerTest, DwarfWalkWithoutFramePointers) {
  const Capture& c = Run(chain::nofp::A, WalkMode::kDwarf, tables_);
  ExpectChain(c, reinterpret_cast<const void*>(chain::nofp::D),
              reinterpret_cast<const void*>(chain::nofp::C),
              reinterpret_cast<const void*>(chain::nofp::B),
              reinterpret_cast<const void*>(chain::nofp::A));
  // The walk goes on through gtest and main into libc's start code and stops
  // at the outermost frame (_start's undefined return address).
  EXPECT_LT(c.n, kMaxFrames) << Dump(c.pcs, c.n);
  bool reached_main = false;
  for (int i = 4; i < c.n; ++i) reached_main |= Describe(c.pcs[i]) == "main";
  EXPECT_TRUE(reached_main) << Dump(c.pcs, c.n);
  std::printf("kDwarf walk from D (no frame pointers):\n%s", Dump(c.pcs, c.n).c_str());
}

TEST_F(StackWalkerTest, FramePointerWalkWithFramePointers) {
  const Capture& c = Run(chain::fp::A, WalkMode::kFramePointer, nullptr);
  ExpectChain(
      c, reinterpret_cast<const void*>(chain::fp::D), reinterpret_cast<const void*>(chain::fp::C),
      reinterpret_cast<const void*>(chain::fp::B), reinterpret_cast<const void*>(chain::fp::A));
}

TEST_F(StackWalkerTest, DwarfWalkWithFramePointers) {
  const Capture& c = Run(chain::fp::A, WalkMode::kDwarf, tables_);
  ExpectChain(
      c, reinterpret_cast<const void*>(chain::fp::D), reinterpret_cast<const void*>(chain::fp::C),
      reinterpret_cast<const void*>(chain::fp::B), reinterpret_cast<const void*>(chain::fp::A));
}

TEST_F(StackWalkerTest, FramePointerWalkWithoutFramePointersIsSafe) {
  const Capture& c = Run(chain::nofp::A, WalkMode::kFramePointer, nullptr);
  ASSERT_GE(c.n, 1);
  EXPECT_TRUE(InFunction(c.pcs[0], reinterpret_cast<const void*>(chain::nofp::D)));
  EXPECT_LE(c.n, kMaxFrames);
}

TEST_F(StackWalkerTest, DwarfWalkThroughLibcFrames) {
  const Capture& c = Run(chain::nofp::QsortOuter, WalkMode::kDwarf, tables_);
  ASSERT_GE(c.n, 4) << Dump(c.pcs, c.n);
  EXPECT_TRUE(InFunction(c.pcs[0], reinterpret_cast<const void*>(chain::nofp::D)));
  EXPECT_TRUE(InFunction(c.pcs[1], reinterpret_cast<const void*>(chain::nofp::QsortCompare)));
  int outer = -1;
  for (int i = 2; i < c.n && outer < 0; ++i) {
    if (InFunction(c.pcs[i], reinterpret_cast<const void*>(chain::nofp::QsortOuter))) outer = i;
  }
  ASSERT_GT(outer, 2) << Dump(c.pcs, c.n);
  // Between them: qsort's frames in libc (and, under ASan, its interceptor).
  bool saw_libc = false;
  for (int i = 2; i < outer; ++i) {
    EXPECT_FALSE(InExecutable(c.pcs[i])) << Dump(c.pcs, c.n);
    saw_libc |= InLibc(c.pcs[i]);
  }
  EXPECT_TRUE(saw_libc) << Dump(c.pcs, c.n);
}

TEST_F(StackWalkerTest, DefaultStackSpan) {
  // stack_hi = sp + 8 MiB reaches past the real stack top: reads there fail
  // safely and the walk still finds the chain.
  g_capture = Capture();
  g_capture.tables = tables_;
  chain::g_chain_signal = SIGUSR1;
  chain::nofp::A(1);
  chain::g_chain_signal = 0;
  ExpectChain(g_capture, reinterpret_cast<const void*>(chain::nofp::D),
              reinterpret_cast<const void*>(chain::nofp::C),
              reinterpret_cast<const void*>(chain::nofp::B),
              reinterpret_cast<const void*>(chain::nofp::A));
}

TEST_F(StackWalkerTest, StopsAtMaxFrames) {
  const Capture& c = Run(chain::nofp::A, WalkMode::kDwarf, tables_, 3);
  ASSERT_EQ(c.n, 3);
  EXPECT_TRUE(InFunction(c.pcs[2], reinterpret_cast<const void*>(chain::nofp::B)));
  const Capture& one = Run(chain::fp::A, WalkMode::kFramePointer, nullptr, 1);
  EXPECT_EQ(one.n, 1);
  uintptr_t pcs[4];
  EXPECT_EQ(WalkStack(Regs{1, 2, 3}, 4, WalkMode::kDwarf, tables_, pcs, 0), 0);
  EXPECT_EQ(WalkStack(Regs{0, 2, 3}, 4, WalkMode::kDwarf, tables_, pcs, 4), 0);
}

// A fake stack: one readable page followed by a PROT_NONE page.
class FakeStack {
 public:
  FakeStack() {
    const size_t page = getpagesize();
    base_ = static_cast<char*>(
        mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    mprotect(base_ + page, page, PROT_NONE);
    page_ = page;
  }
  ~FakeStack() { munmap(base_, 2 * page_); }
  uintptr_t lo() const { return reinterpret_cast<uintptr_t>(base_); }
  uintptr_t guard() const { return lo() + page_; }
  uintptr_t hi() const { return lo() + 2 * page_; }
  uintptr_t* words() { return reinterpret_cast<uintptr_t*>(base_); }
  size_t word_count() const { return page_ / sizeof(uintptr_t); }

 private:
  char* base_;
  size_t page_;
};

TEST_F(StackWalkerTest, CorruptRegistersGiveShortWalks) {
  uintptr_t pcs[kMaxFrames];
  const auto d = reinterpret_cast<uintptr_t>(chain::fp::D);
  FakeStack stack;
  // fp in an unreadable page that lies inside [sp, stack_hi).
  EXPECT_EQ(WalkStack(Regs{d, stack.lo(), stack.guard()}, stack.hi(), WalkMode::kFramePointer,
                      nullptr, pcs, kMaxFrames),
            1);
  // fp below sp, misaligned, or zero.
  EXPECT_EQ(WalkStack(Regs{d, stack.lo() + 64, stack.lo()}, stack.hi(), WalkMode::kFramePointer,
                      nullptr, pcs, kMaxFrames),
            1);
  EXPECT_EQ(WalkStack(Regs{d, stack.lo(), stack.lo() + 3}, stack.hi(), WalkMode::kFramePointer,
                      nullptr, pcs, kMaxFrames),
            1);
  EXPECT_EQ(WalkStack(Regs{d, stack.lo(), 0}, stack.hi(), WalkMode::kFramePointer, nullptr, pcs,
                      kMaxFrames),
            1);
  // sp itself unreadable (a CFI row reads the return address at sp + N).
  const auto nofp_d = reinterpret_cast<uintptr_t>(chain::nofp::D);
  EXPECT_EQ(WalkStack(Regs{nofp_d, stack.guard(), 0}, stack.guard() + 4096 * 16, WalkMode::kDwarf,
                      tables_, pcs, kMaxFrames),
            1);
  // A frame-pointer cycle: fp points at itself.
  stack.words()[0] = stack.lo();
  stack.words()[1] = d;
  EXPECT_LE(WalkStack(Regs{d, stack.lo(), stack.lo()}, stack.hi(), WalkMode::kFramePointer, nullptr,
                      pcs, kMaxFrames),
            2);
}

TEST_F(StackWalkerTest, GarbageStacksNeverCrash) {
  FakeStack stack;
  std::mt19937_64 rng(42);
  const uintptr_t code[] = {
      reinterpret_cast<uintptr_t>(chain::nofp::A), reinterpret_cast<uintptr_t>(chain::nofp::D) + 5,
      reinterpret_cast<uintptr_t>(&qsort), reinterpret_cast<uintptr_t>(&write)};
  uintptr_t pcs[kMaxFrames];
  for (int round = 0; round < 2000; ++round) {
    for (size_t i = 0; i < stack.word_count(); ++i) {
      switch (rng() % 4) {
        case 0:  // a pointer into the fake stack
          stack.words()[i] = stack.lo() + (rng() % (stack.hi() - stack.lo()));
          break;
        case 1:  // a code address
          stack.words()[i] = code[rng() % 4] + rng() % 64;
          break;
        default:
          stack.words()[i] = rng();
      }
    }
    const Regs regs{code[rng() % 4] + rng() % 32, stack.lo() + (rng() % 64) * 8,
                    stack.lo() + (rng() % 512) * 8};
    const WalkMode mode = round % 2 ? WalkMode::kDwarf : WalkMode::kFramePointer;
    const int n = WalkStack(regs, stack.hi() + 4096 * (round % 3), mode, tables_, pcs, kMaxFrames);
    ASSERT_GE(n, 1);
    ASSERT_LE(n, kMaxFrames);
  }
}

TEST_F(StackWalkerTest, MeasureWalkCost) {
  constexpr int kIterations = 5000;
  const Capture dwarf = Run(chain::nofp::A, WalkMode::kDwarf, tables_, 10, kIterations);
  const Capture dwarf_full =
      Run(chain::nofp::A, WalkMode::kDwarf, tables_, kMaxFrames, kIterations);
  const Capture fp = Run(chain::fp::A, WalkMode::kFramePointer, nullptr, 10, kIterations);
  const Capture fp_dwarf = Run(chain::fp::A, WalkMode::kDwarf, tables_, 10, kIterations);
  std::printf("WalkStack cost (in the signal handler, %d iterations):\n", kIterations);
  for (const auto& [name, c] :
       {std::pair<const char*, const Capture*>{"kDwarf (no-fp code)", &dwarf},
        {"kDwarf (no-fp code, full stack)", &dwarf_full},
        {"kFramePointer (fp code)", &fp},
        {"kDwarf (fp code)", &fp_dwarf}}) {
    std::printf("  %-34s %2d frames: %7.1f ns/walk, %5.1f ns/frame\n", name, c->n, c->ns_per_walk,
                c->ns_per_walk / std::max(c->n, 1));
  }
  EXPECT_EQ(dwarf.n, 10);
}

}  // namespace
}  // namespace stackhouse::sampler::unwind
