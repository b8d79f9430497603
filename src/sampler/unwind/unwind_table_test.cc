#include "sampler/unwind/unwind_table.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <link.h>
#include <sys/auxv.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/testing/testing.h"

namespace stackhouse::sampler::unwind {
namespace {

__attribute__((noinline)) int LocalFunction(int x) {
  volatile int v = x;
  return v * 2;
}

uintptr_t MainBias() {
  uintptr_t bias = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        *static_cast<uintptr_t*>(data) = info->dlpi_addr;
        return 1;
      },
      &bias);
  return bias;
}

struct LibcInfo {
  std::string path;
  uintptr_t bias = 0;
};

LibcInfo FindLibc() {
  LibcInfo info;
  dl_iterate_phdr(
      [](dl_phdr_info* phdr, size_t, void* data) {
        auto* out = static_cast<LibcInfo*>(data);
        const std::string name = phdr->dlpi_name != nullptr ? phdr->dlpi_name : "";
        if (name.find("/libc.so") != std::string::npos) {
          out->path = name;
          out->bias = phdr->dlpi_addr;
          return 1;
        }
        return 0;
      },
      &info);
  return info;
}

std::unique_ptr<UnwindTable> BuildOrDie(const std::string& path, double* ms = nullptr) {
  const auto start = std::chrono::steady_clock::now();
  auto table = UnwindTable::FromFile(path);
  const auto end = std::chrono::steady_clock::now();
  if (ms != nullptr) *ms = std::chrono::duration<double, std::milli>(end - start).count();
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return table.ok() ? std::move(table).value() : nullptr;
}

void ExpectWellFormed(const UnwindTable& table) {
  ASSERT_GT(table.rows(), 0u);
  EXPECT_EQ(table.row(table.rows() - 1).cfa, CfaRule::kGap);
  EXPECT_EQ(table.Find(table.base() - 1), nullptr);
  for (size_t i = 0; i < table.rows(); ++i) {
    const UnwindRow& row = table.row(i);
    if (i > 0) {
      ASSERT_LT(table.row(i - 1).pc_offset, row.pc_offset) << "row " << i;
    }
    if (i > 0 && row.cfa != CfaRule::kGap) {
      // Merging leaves no two consecutive rows with the same rule.
      EXPECT_FALSE(table.row(i - 1).SameRule(row)) << "row " << i;
    }
    const UnwindRow* found = table.Find(table.RowVaddr(row));
    if (row.cfa == CfaRule::kGap) {
      EXPECT_EQ(found, nullptr) << "row " << i;
    } else {
      EXPECT_EQ(found, &row) << "row " << i;
    }
  }
}

struct RuleCounts {
  size_t gap = 0, rsp = 0, rbp = 0, plt = 0, outermost = 0, unsupported = 0, rbp_saved = 0;
};

RuleCounts Count(const UnwindTable& table) {
  RuleCounts c;
  for (size_t i = 0; i < table.rows(); ++i) {
    const UnwindRow& row = table.row(i);
    switch (row.cfa) {
      case CfaRule::kGap:
        ++c.gap;
        break;
      case CfaRule::kRspOffset:
        ++c.rsp;
        break;
      case CfaRule::kRbpOffset:
        ++c.rbp;
        break;
      case CfaRule::kPlt:
        ++c.plt;
        break;
      case CfaRule::kOutermost:
        ++c.outermost;
        break;
      case CfaRule::kUnsupported:
        ++c.unsupported;
        break;
    }
    c.rbp_saved += row.rbp == RbpRule::kAtCfaOffset;
  }
  return c;
}

void Print(const char* name, const UnwindTable& table, double ms) {
  const RuleCounts c = Count(table);
  std::printf(
      "%-12s rows=%zu (%zu KiB) build=%.1f ms | rsp=%zu rbp=%zu plt=%zu outermost=%zu "
      "unsupported=%zu gaps=%zu rbp_saved=%zu\n",
      name, table.rows(), table.memory_bytes() / 1024, ms, c.rsp, c.rbp, c.plt, c.outermost,
      c.unsupported, c.gap, c.rbp_saved);
}

void ExpectEntryRow(const UnwindTable& table, uint64_t vaddr) {
  const UnwindRow* row = table.Find(vaddr);
  ASSERT_NE(row, nullptr);
  EXPECT_EQ(row->cfa, CfaRule::kRspOffset);
  EXPECT_EQ(row->cfa_offset, 8);
  EXPECT_EQ(row->rbp, RbpRule::kSame);
}

TEST(UnwindTableTest, TestBinary) {
  double ms = 0;
  auto table = BuildOrDie("/proc/self/exe", &ms);
  ASSERT_NE(table, nullptr);
  Print("test binary", *table, ms);
  ExpectWellFormed(*table);
  ExpectEntryRow(*table, reinterpret_cast<uintptr_t>(&LocalFunction) - MainBias());
  const RuleCounts c = Count(*table);
  EXPECT_GT(c.rsp, 100u);
  EXPECT_GT(c.gap, 0u);
  EXPECT_GE(c.outermost, 1u);  // _start
  EXPECT_GE(c.plt, 1u);        // lazy-binding .plt
  // The rows, and one 4-byte page-index entry per 4 KiB of code.
  const size_t pages = table->row(table->rows() - 1).pc_offset / 4096 + 2;
  EXPECT_LE(table->memory_bytes(),
            sizeof(UnwindTable) + table->rows() * sizeof(UnwindRow) + pages * sizeof(uint32_t) + 64);
}

TEST(UnwindTableTest, Libc) {
  const LibcInfo libc = FindLibc();
  ASSERT_FALSE(libc.path.empty());
  double ms = 0;
  auto table = BuildOrDie(libc.path, &ms);
  ASSERT_NE(table, nullptr);
  Print("libc", *table, ms);
  ExpectWellFormed(*table);
  // libc's own definitions (not, e.g., sanitizer interceptors).
  void* handle = dlopen(libc.path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr);
  for (const char* name : {"qsort", "strtol", "getpid", "fopen"}) {
    void* sym = dlsym(handle, name);
    ASSERT_NE(sym, nullptr) << name;
    SCOPED_TRACE(name);
    ExpectEntryRow(*table, reinterpret_cast<uintptr_t>(sym) - libc.bias);
  }
  dlclose(handle);
  const RuleCounts c = Count(*table);
  EXPECT_GT(c.rbp_saved, 100u);
  EXPECT_GE(c.plt, 1u);
  // The PLT rule uses the standard threshold of 11 (or 10 for IBT PLTs).
  for (size_t i = 0; i < table->rows(); ++i) {
    if (table->row(i).cfa != CfaRule::kPlt) continue;
    EXPECT_EQ(table->row(i).cfa_offset, 8);
    EXPECT_TRUE(table->row(i).plt_threshold() == 11 || table->row(i).plt_threshold() == 10);
  }
}

// Find searches only the rows of the offset's page: it must agree with a
// search of the whole table everywhere, page edges included.
TEST(UnwindTableTest, FindAgreesWithWholeTableSearch) {
  const LibcInfo libc = FindLibc();
  auto table = BuildOrDie(libc.path, nullptr);
  ASSERT_NE(table, nullptr);
  ASSERT_GT(table->rows(), 100u);
  auto whole = [&](uint64_t vaddr) -> const UnwindRow* {
    if (vaddr < table->base()) return nullptr;
    const UnwindRow* found = nullptr;
    for (size_t i = 0; i < table->rows() && table->RowVaddr(table->row(i)) <= vaddr; ++i) {
      found = &table->row(i);
    }
    return found != nullptr && found->cfa == CfaRule::kGap ? nullptr : found;
  };
  std::vector<uint64_t> probes = {0, table->base(), table->base() - 1, ~uint64_t{0}};
  const uint64_t last = table->RowVaddr(table->row(table->rows() - 1));
  for (uint64_t page = table->base() & ~uint64_t{4095}; page <= last + 8192; page += 4096) {
    for (uint64_t d : {uint64_t{0}, uint64_t{1}}) {
      probes.push_back(page + d);
      probes.push_back(page - d - 1);
    }
  }
  for (size_t i = 0; i < table->rows(); i += 7) {
    uint64_t v = table->RowVaddr(table->row(i));
    probes.insert(probes.end(), {v - 1, v, v + 1});
  }
  // The last row starting at or before vaddr, gap or not (what Covers names).
  auto last_row = [&](uint64_t vaddr) -> ptrdiff_t {
    ptrdiff_t found = -1;
    for (size_t i = 0; i < table->rows() && table->RowVaddr(table->row(i)) <= vaddr; ++i) found = i;
    return vaddr < table->base() || vaddr - table->base() > 0xffffffffu ? -1 : found;
  };
  for (uint64_t v : probes) {
    ASSERT_EQ(table->Find(v), whole(v)) << std::hex << v;
    const ptrdiff_t want = last_row(v);
    for (ptrdiff_t i = std::max<ptrdiff_t>(want - 1, 0); i <= want + 1; ++i) {
      ASSERT_EQ(table->Covers(static_cast<size_t>(i), v), i == want) << std::hex << v << " row " << i;
    }
  }
}

TEST(UnwindTableTest, Vdso) {
  const uintptr_t ehdr = getauxval(AT_SYSINFO_EHDR);
  // Linux maps a vDSO into every x86_64 process (the library relies on it too).
  ASSERT_NE(ehdr, 0u) << "no vDSO in this process";
  // The vDSO is a small ELF file mapped by the kernel; 8 KiB covers it here
  // (the production path sizes it from its headers).
  const auto* eh = reinterpret_cast<const ElfW(Ehdr)*>(ehdr);
  const size_t size = eh->e_shoff + eh->e_shnum * eh->e_shentsize;
  ASSERT_LE(size, 8192u);
  auto table = UnwindTable::FromMemory(std::string_view(reinterpret_cast<const char*>(ehdr), size));
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ExpectWellFormed(**table);
  std::printf("vdso         rows=%zu\n", (*table)->rows());
}

TEST(UnwindTableTest, EhFrameWithoutHeader) {
  // The same code linked with and without --eh-frame-hdr: the second is read
  // by walking .eh_frame, and both give the same rules.
  auto with = BuildOrDie(stackhouse::testing::OwnTestdata("fuzz/unwind_table/tiny.so"));
  auto without = BuildOrDie(stackhouse::testing::OwnTestdata("fuzz/unwind_table/tiny_nohdr.so"));
  ASSERT_NE(with, nullptr);
  ASSERT_NE(without, nullptr);
  ExpectWellFormed(*with);
  ExpectWellFormed(*without);
  ASSERT_EQ(with->rows(), without->rows());
  for (size_t i = 0; i < with->rows(); ++i) {
    EXPECT_TRUE(with->row(i).SameRule(without->row(i))) << "row " << i;
  }
  const RuleCounts c = Count(*with);
  EXPECT_GE(c.rbp, 1u);  // tiny_fp's CFA is rbp-based after its prologue
  EXPECT_GE(c.rbp_saved, 1u);
}

TEST(UnwindTableTest, RejectsHugeRegisterNumbers) {
  // tiny.so's CIE ends with "def_cfa rsp+8; offset rip at cfa-8; nop; nop".
  // Replace the last four bytes with "undefined r16383; nop": libdw would
  // size its register array by that number, so the scan must refuse it.
  std::string image =
      stackhouse::testing::ReadOrDie(stackhouse::testing::OwnTestdata("fuzz/unwind_table/tiny.so"));
  ASSERT_TRUE(UnwindTable::FromMemory(image).ok());
  const std::string cie("\x0c\x07\x08\x90\x01\x00\x00", 7);
  const size_t at = image.find(cie);
  ASSERT_NE(at, std::string::npos);
  image.replace(at + 3, 4, std::string("\x07\xff\x7f\x00", 4));
  auto table = UnwindTable::FromMemory(image);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(table.status().message().find("CIE"), std::string::npos) << table.status().ToString();
}

TEST(UnwindTableTest, Errors) {
  EXPECT_FALSE(UnwindTable::FromMemory("").ok());
  EXPECT_FALSE(UnwindTable::FromMemory("this is not an ELF file at all").ok());
  std::string garbage(4096, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 131 + 7);
  EXPECT_FALSE(UnwindTable::FromMemory(garbage).ok());
  garbage.replace(0, 4,
                  "\x7f"
                  "ELF");
  EXPECT_FALSE(UnwindTable::FromMemory(garbage).ok());
  // A truncated real ELF image.
  const std::string tiny =
      stackhouse::testing::ReadOrDie(stackhouse::testing::OwnTestdata("fuzz/unwind_table/tiny.so"));
  EXPECT_FALSE(UnwindTable::FromMemory(tiny.substr(0, 100)).ok());
  auto missing = UnwindTable::FromFile("/nonexistent/libnothing.so");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(UnwindTable::FromFile("/proc/self/cmdline").ok());
}

}  // namespace
}  // namespace stackhouse::sampler::unwind
