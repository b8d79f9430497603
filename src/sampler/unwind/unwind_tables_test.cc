#include "sampler/unwind/unwind_tables.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/auxv.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace stackhouse::sampler::unwind {
namespace {

__attribute__((noinline)) int LocalFunction(int x) {
  volatile int v = x;
  return v + 1;
}

constexpr char kTestDso[] = STACKHOUSE_UNWIND_TEST_DSO;
constexpr char kTestDsoFunction[] = "StackhouseUnwindTestDsoFunction";

const UnwindRow* FindLocked(const UnwindTables& tables, uintptr_t pc) {
  int shard = tables.Enter();
  const UnwindRow* row = tables.Find(pc);
  tables.Exit(shard);
  return row;
}

TEST(UnwindTablesTest, RefreshCoversLoadedObjects) {
  UnwindTables tables;
  EXPECT_EQ(FindLocked(tables, reinterpret_cast<uintptr_t>(&LocalFunction)), nullptr);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(tables.Refresh().ok());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("Refresh: %zu objects (%zu failed), %zu KiB, %.1f ms\n", tables.objects(),
              tables.failed_objects(), tables.memory_bytes() / 1024, ms);
  EXPECT_GE(tables.objects(), 3u);  // the executable, libc, the vDSO, ...
  EXPECT_EQ(tables.failed_objects(), 0u);

  const UnwindRow* row = FindLocked(tables, reinterpret_cast<uintptr_t>(&LocalFunction));
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->cfa, CfaRule::kRspOffset);
  EXPECT_EQ(row->cfa_offset, 8);
  void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  ASSERT_NE(libc, nullptr);
  row = FindLocked(tables, reinterpret_cast<uintptr_t>(dlsym(libc, "qsort")));
  dlclose(libc);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->cfa, CfaRule::kRspOffset);

  // Not code: the heap, the stack, null.
  void* heap = std::malloc(16);
  int local = 0;
  EXPECT_EQ(FindLocked(tables, reinterpret_cast<uintptr_t>(heap)), nullptr);
  EXPECT_EQ(FindLocked(tables, reinterpret_cast<uintptr_t>(&local)), nullptr);
  EXPECT_EQ(FindLocked(tables, 0), nullptr);
  std::free(heap);

  // The vDSO's code is covered (its table comes from the in-memory image).
  const uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
  if (vdso != 0) {
    auto table = UnwindTable::FromMemory(
        std::string_view(reinterpret_cast<const char*>(vdso), getpagesize()));
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    ASSERT_GT((*table)->rows(), 0u);
    EXPECT_NE(FindLocked(tables, vdso + (*table)->RowVaddr((*table)->row(0))), nullptr);
  }

  // A second refresh with nothing new keeps everything.
  const size_t objects = tables.objects();
  ASSERT_TRUE(tables.Refresh().ok());
  EXPECT_EQ(tables.objects(), objects);
}

// Find remembers recent answers; cold or warm, colliding or not, it must
// answer exactly as the uncached search does.
TEST(UnwindTablesTest, CachedFindAgreesWithUncached) {
  UnwindTables tables;
  ASSERT_TRUE(tables.Refresh().ok());
  std::vector<uintptr_t> pcs;
  for (void* f : {reinterpret_cast<void*>(&LocalFunction), reinterpret_cast<void*>(&qsort),
                  reinterpret_cast<void*>(&strtol), reinterpret_cast<void*>(&getpid)}) {
    auto base = reinterpret_cast<uintptr_t>(f);
    for (uintptr_t d = 0; d < 64 * 1024; d += 13) pcs.push_back(base + d);
  }
  pcs.insert(pcs.end(), {0, 1, 4096, ~uintptr_t{0}});
  int shard = tables.Enter();
  for (int pass = 0; pass < 3; ++pass) {
    size_t found = 0;
    for (uintptr_t pc : pcs) {
      const UnwindRow* want = tables.FindUncached(pc);
      ASSERT_EQ(tables.Find(pc), want) << "pass " << pass << " pc " << std::hex << pc;
      found += want != nullptr;
    }
    EXPECT_GT(found, pcs.size() / 2);
    // Warm: the same pcs again, now mostly answered from the cache.
    for (size_t i = pcs.size(); i-- > 0;) ASSERT_EQ(tables.Find(pcs[i]), tables.FindUncached(pcs[i]));
  }
  tables.Exit(shard);
}

TEST(UnwindTablesTest, FollowsDlopenAndDlclose) {
  UnwindTables tables;
  ASSERT_TRUE(tables.Refresh().ok());
  const size_t objects = tables.objects();

  void* handle = dlopen(kTestDso, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  const auto pc = reinterpret_cast<uintptr_t>(dlsym(handle, kTestDsoFunction));
  ASSERT_NE(pc, 0u);
  EXPECT_EQ(FindLocked(tables, pc), nullptr);
  ASSERT_TRUE(tables.Refresh().ok());
  EXPECT_EQ(tables.objects(), objects + 1);
  const UnwindRow* row = FindLocked(tables, pc);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->cfa, CfaRule::kRspOffset);
  EXPECT_EQ(row->cfa_offset, 8);

  ASSERT_EQ(dlclose(handle), 0);
  ASSERT_TRUE(tables.Refresh().ok());
  EXPECT_EQ(tables.objects(), objects);
  EXPECT_EQ(FindLocked(tables, pc), nullptr);
}

TEST(UnwindTablesTest, ReadersRaceWithRefresh) {
  UnwindTables tables;
  ASSERT_TRUE(tables.Refresh().ok());
  std::atomic<bool> stop{false};
  std::atomic<uintptr_t> dso_pc{0};
  std::atomic<long> lookups{0}, misses{0};
  const auto local = reinterpret_cast<uintptr_t>(&LocalFunction);
  std::thread reader([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      int shard = tables.Enter();
      if (tables.Find(local) == nullptr) ++misses;
      const uintptr_t pc = dso_pc.load(std::memory_order_relaxed);
      if (pc != 0) tables.Find(pc);
      tables.Exit(shard);
      ++lookups;
    }
  });
  while (lookups.load() == 0) std::this_thread::yield();  // the reader is running
  for (int i = 0; i < 30; ++i) {
    void* handle = dlopen(kTestDso, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
    dso_pc = reinterpret_cast<uintptr_t>(dlsym(handle, kTestDsoFunction));
    ASSERT_TRUE(tables.Refresh().ok());
    dlclose(handle);
    ASSERT_TRUE(tables.Refresh().ok());
  }
  stop = true;
  reader.join();
  EXPECT_GT(lookups.load(), 0);
  EXPECT_EQ(misses.load(), 0);
}

}  // namespace
}  // namespace stackhouse::sampler::unwind
