#include "sampler/unwind/safe_load.h"

#include <gtest/gtest.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace stackhouse::sampler::unwind {
namespace {

size_t Page() { return static_cast<size_t>(getpagesize()); }

TEST(SafeLoadTest, ReadsValidMemory) {
  ASSERT_TRUE(InstallSafeLoadHandler());
  EXPECT_TRUE(SafeLoadHandlerInstalled());
  const uintptr_t word = 0x1122334455667788;
  uintptr_t out = 0;
  EXPECT_TRUE(SafeLoad(reinterpret_cast<uintptr_t>(&word), &out));
  EXPECT_EQ(out, word);
  // Unaligned reads are fine too.
  const unsigned char bytes[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  EXPECT_TRUE(SafeLoad(reinterpret_cast<uintptr_t>(bytes + 1), &out));
  EXPECT_EQ(out, 0x0807060504030201u);
}

TEST(SafeLoadTest, BadAddressesReturnFalse) {
  ASSERT_TRUE(InstallSafeLoadHandler());
  uintptr_t out = 42;
  EXPECT_FALSE(SafeLoad(0, &out));
  EXPECT_FALSE(SafeLoad(8, &out));
  EXPECT_EQ(out, 42u);

  void* unmapped = mmap(nullptr, Page(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(unmapped, MAP_FAILED);
  ASSERT_EQ(munmap(unmapped, Page()), 0);
  EXPECT_FALSE(SafeLoad(reinterpret_cast<uintptr_t>(unmapped), &out));

  void* none = mmap(nullptr, Page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(none, MAP_FAILED);
  EXPECT_FALSE(SafeLoad(reinterpret_cast<uintptr_t>(none), &out));
  munmap(none, Page());

  // Kernel space and a non-canonical address (a #GP rather than a page fault).
  EXPECT_FALSE(SafeLoad(0xffff800000000000u, &out));
  EXPECT_FALSE(SafeLoad(0x0000800000000000u, &out));
  EXPECT_FALSE(SafeLoad(~uintptr_t{0} - 3, &out));
  EXPECT_EQ(out, 42u);
}

TEST(SafeLoadTest, StraddlingIntoUnreadablePage) {
  ASSERT_TRUE(InstallSafeLoadHandler());
  auto* base = static_cast<char*>(
      mmap(nullptr, 2 * Page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(base, MAP_FAILED);
  ASSERT_EQ(mprotect(base + Page(), Page(), PROT_NONE), 0);
  uintptr_t out = 0;
  EXPECT_TRUE(SafeLoad(reinterpret_cast<uintptr_t>(base + Page() - 8), &out));
  EXPECT_FALSE(SafeLoad(reinterpret_cast<uintptr_t>(base + Page() - 4), &out));
  munmap(base, 2 * Page());
}

TEST(SafeLoadTest, ConcurrentInstallAndLoads) {
  std::atomic<int> failures{0};
  void* none = mmap(nullptr, Page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(none, MAP_FAILED);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      if (!InstallSafeLoadHandler()) ++failures;
      uintptr_t out = 0;
      const uintptr_t valid = 7;
      for (int i = 0; i < 2000; ++i) {
        if (SafeLoad(reinterpret_cast<uintptr_t>(none), &out)) ++failures;
        if (!SafeLoad(reinterpret_cast<uintptr_t>(&valid), &out) || out != 7) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  munmap(none, Page());
}

sigjmp_buf g_jump;
std::atomic<int> g_test_handler_calls{0};

void TestSigInfoHandler(int sig, siginfo_t* info, void*) {
  ++g_test_handler_calls;
  siglongjmp(g_jump, 1);
}

void TestPlainHandler(int sig) {
  ++g_test_handler_calls;
  siglongjmp(g_jump, 1);
}

// Installs `sa` for SIGSEGV, then our handler on top, then faults outside
// SafeLoad; returns whether the test handler ran.
bool FaultReachesPreviousHandler(const struct sigaction& sa) {
  struct sigaction old;
  EXPECT_EQ(sigaction(SIGSEGV, &sa, &old), 0);
  EXPECT_FALSE(SafeLoadHandlerInstalled());
  EXPECT_TRUE(InstallSafeLoadHandler());
  EXPECT_TRUE(SafeLoadHandlerInstalled());
  auto* page = static_cast<volatile int*>(
      mmap(nullptr, Page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  g_test_handler_calls = 0;
  if (sigsetjmp(g_jump, 1) == 0) {
    *page = 1;  // faults: not SafeLoad, so it goes to the test handler
    ADD_FAILURE() << "the write did not fault";
  }
  // SafeLoad keeps working with a chained handler.
  uintptr_t out = 0;
  EXPECT_FALSE(SafeLoad(reinterpret_cast<uintptr_t>(page), &out));
  munmap(const_cast<int*>(page), Page());
  return g_test_handler_calls.load() == 1;
}

TEST(SafeLoadTest, OtherFaultsReachPreviousSigInfoHandler) {
  struct sigaction sa = {};
  sa.sa_sigaction = TestSigInfoHandler;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  EXPECT_TRUE(FaultReachesPreviousHandler(sa));
}

TEST(SafeLoadTest, OtherFaultsReachPreviousPlainHandler) {
  struct sigaction sa = {};
  sa.sa_handler = TestPlainHandler;
  sa.sa_flags = SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  EXPECT_TRUE(FaultReachesPreviousHandler(sa));
}

TEST(SafeLoadDeathTest, FaultWithDefaultDispositionStillKills) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        if (!InstallSafeLoadHandler()) _exit(3);
        uintptr_t out;
        if (SafeLoad(0x0000800000000000u, &out)) _exit(4);
        auto* page = static_cast<volatile int*>(
            mmap(nullptr, Page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        *page = 1;
        _exit(5);
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

TEST(SafeLoadDeathTest, FaultWithIgnoredDispositionStillKills) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        signal(SIGSEGV, SIG_IGN);
        if (!InstallSafeLoadHandler()) _exit(3);
        auto* page = static_cast<volatile int*>(
            mmap(nullptr, Page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        *page = 1;
        _exit(5);
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

}  // namespace
}  // namespace stackhouse::sampler::unwind
