#include "symbolize/symbolizer.h"

#include <dlfcn.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/file.h"
#include "base/testing/testing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Marker functions. This file is compiled with -O2 -g (see CMakeLists.txt).
// Each records the __LINE__ of the statement whose pc it returns; the pc is
// the return address of a call minus one, i.e. inside the call instruction.
namespace stackhouse::symbolize::testns {
// Each marker shares its line with the call it marks.
// clang-format off

__attribute__((noinline)) uintptr_t CallerPc() {
  return reinterpret_cast<uintptr_t>(__builtin_return_address(0)) - 1;
}

__attribute__((noinline)) uintptr_t SomeTestFunction(int* line) {
  uintptr_t pc = CallerPc(); *line = __LINE__;  // the marker
  asm volatile("" : : "r"(pc) : "memory");
  return pc;
}

__attribute__((always_inline)) inline uintptr_t InlinedLeaf(int* line) {
  uintptr_t pc = CallerPc(); *line = __LINE__;  // inlined marker
  asm volatile("" : : "r"(pc) : "memory");
  return pc;
}

__attribute__((noinline)) uintptr_t InlineCaller(int* leaf_line, int* call_line) {
  uintptr_t pc = InlinedLeaf(leaf_line); *call_line = __LINE__;  // call site
  asm volatile("" : : "r"(pc) : "memory");
  return pc;
}

// clang-format on
}  // namespace stackhouse::symbolize::testns

namespace stackhouse::symbolize {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

bool IsLowerHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Opens the ELF behind runtime addresses of this process, once per mapping path.
class Runtime {
 public:
  Runtime() {
    auto maps = ReadProcMaps(0);
    EXPECT_TRUE(maps.ok()) << maps.status().ToString();
    if (maps.ok()) maps_ = *maps;
  }

  const MappingInfo* MappingFor(uintptr_t addr) const {
    for (const auto& m : maps_) {
      if (addr >= m.start && addr < m.limit) return &m;
    }
    return nullptr;
  }

  ElfSymbolizer* ElfFor(const MappingInfo& m) {
    auto& slot = elves_[m.path];
    if (slot == nullptr) {
      StatusOr<std::unique_ptr<ElfSymbolizer>> opened = InvalidArgumentError("unset");
      if (m.path == "[vdso]") {
        opened = ElfSymbolizer::OpenMemory(
            std::string_view(reinterpret_cast<const char*>(m.start), m.limit - m.start), m.path);
      } else {
        opened = ElfSymbolizer::Open(m.path);
      }
      EXPECT_TRUE(opened.ok()) << opened.status().ToString();
      if (!opened.ok()) return nullptr;
      slot = std::move(*opened);
    }
    return slot.get();
  }

  std::vector<Frame> Symbolize(uintptr_t addr, std::string* path = nullptr) {
    const MappingInfo* m = MappingFor(addr);
    EXPECT_NE(m, nullptr) << "no mapping holds " << addr;
    if (m == nullptr) return {};
    if (path != nullptr) *path = m->path;
    ElfSymbolizer* elf = ElfFor(*m);
    if (elf == nullptr) return {};
    return elf->Symbolize(RuntimeToElfVaddr(*m, *elf, addr));
  }

  const std::vector<MappingInfo>& maps() const { return maps_; }

 private:
  std::vector<MappingInfo> maps_;
  std::map<std::string, std::unique_ptr<ElfSymbolizer>> elves_;
};

std::string Describe(const std::vector<Frame>& frames) {
  std::string out;
  for (const auto& f : frames)
    out += f.function + " at " + f.file + ":" + std::to_string(f.line) + "\n";
  return out;
}

TEST(SymbolizerTest, OwnFunctionWithLine) {
  int line = 0;
  uintptr_t pc = testns::SomeTestFunction(&line);
  Runtime rt;
  std::vector<Frame> frames = rt.Symbolize(pc);
  ASSERT_EQ(frames.size(), 1u) << Describe(frames);
  EXPECT_THAT(frames[0].function, HasSubstr("stackhouse::symbolize::testns::SomeTestFunction"));
  EXPECT_THAT(frames[0].file, EndsWith("symbolizer_test.cc"));
  EXPECT_EQ(frames[0].line, line);

  // The entry point resolves to the same function.
  frames = rt.Symbolize(reinterpret_cast<uintptr_t>(&testns::SomeTestFunction));
  ASSERT_FALSE(frames.empty());
  EXPECT_THAT(frames.back().function, HasSubstr("stackhouse::symbolize::testns::SomeTestFunction"));
  EXPECT_THAT(frames.back().file, EndsWith("symbolizer_test.cc"));
  EXPECT_GT(frames.back().line, 0);
}

TEST(SymbolizerTest, InlineFrames) {
  int leaf_line = 0, call_line = 0;
  uintptr_t pc = testns::InlineCaller(&leaf_line, &call_line);
  Runtime rt;
  std::vector<Frame> frames = rt.Symbolize(pc);
  ASSERT_EQ(frames.size(), 2u) << Describe(frames);
  EXPECT_THAT(frames[0].function, HasSubstr("stackhouse::symbolize::testns::InlinedLeaf"));
  EXPECT_THAT(frames[0].file, EndsWith("symbolizer_test.cc"));
  EXPECT_EQ(frames[0].line, leaf_line);
  EXPECT_THAT(frames[1].function, HasSubstr("stackhouse::symbolize::testns::InlineCaller"));
  EXPECT_THAT(frames[1].file, EndsWith("symbolizer_test.cc"));
  EXPECT_EQ(frames[1].line, call_line);
}

TEST(SymbolizerTest, LibcSymbol) {
  void* addr = dlsym(RTLD_DEFAULT, "getpid");
  ASSERT_NE(addr, nullptr);
  Runtime rt;
  std::string path;
  std::vector<Frame> frames = rt.Symbolize(reinterpret_cast<uintptr_t>(addr), &path);
  EXPECT_THAT(path, HasSubstr("libc"));
  ASSERT_FALSE(frames.empty());
  EXPECT_THAT(frames.back().function, HasSubstr("getpid")) << Describe(frames);
}

TEST(SymbolizerTest, VdsoFromMemory) {
  uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  // Linux maps a vDSO into every x86_64 process (the library relies on it too).
  ASSERT_NE(base, 0u) << "no vDSO in this process";
  Runtime rt;
  const MappingInfo* m = rt.MappingFor(base);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->path, "[vdso]");
  ElfSymbolizer* elf = rt.ElfFor(*m);
  ASSERT_NE(elf, nullptr);
  bool found = false;
  for (uintptr_t a = m->start; a < m->limit && !found; a += 4) {
    for (const Frame& f : elf->Symbolize(RuntimeToElfVaddr(*m, *elf, a))) {
      if (f.function.find("clock_gettime") != std::string::npos) found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(SymbolizerTest, Demangle) {
  EXPECT_EQ(Demangle("_ZN3foo3barEv"), "foo::bar()");
  EXPECT_EQ(Demangle("_ZN10stackhouse9symbolize6testns16SomeTestFunctionEPi"),
            "stackhouse::symbolize::testns::SomeTestFunction(int*)");
  EXPECT_EQ(Demangle("_Z3fooi.cold"), "foo(int) [clone .cold]");
  EXPECT_EQ(Demangle("main"), "main");
  EXPECT_EQ(Demangle("i"), "i");  // a type encoding, not a function name
  EXPECT_EQ(Demangle(""), "");
  EXPECT_EQ(Demangle("_Z"), "_Z");
  EXPECT_EQ(Demangle("_Zgarbage!!"), "_Zgarbage!!");
  EXPECT_EQ(Demangle("_ZN3foo"), "_ZN3foo");
  // Legacy Rust: hash dropped, escapes decoded.
  EXPECT_EQ(Demangle("_ZN4core3fmt5write17h0123456789abcdefE"), "core::fmt::write");
  EXPECT_EQ(
      Demangle("_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$"
               "closure$u7d$$u7d$$GT$17h0123456789abcdefE"),
      "core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>");
  EXPECT_EQ(Demangle("_ZN3std2rt10lang_start17h0123456789abcdefE.llvm.42"), "std::rt::lang_start");
  EXPECT_EQ(Demangle("_ZN4core3fmt5write17h0123456789abcdefEv"),
            "core::fmt::write::h0123456789abcdef()");  // C++ after all
  std::string deep(20000, 'P');
  EXPECT_EQ(Demangle("_Z1f" + deep + "i").empty(), false);  // deep nesting: no crash
}

TEST(SymbolizerTest, BuildIdOfSelf) {
  auto id = ReadBuildId("/proc/self/exe");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->size(), 40u) << *id;
  EXPECT_TRUE(IsLowerHex(*id)) << *id;
  auto elf = ElfSymbolizer::Open("/proc/self/exe");
  ASSERT_TRUE(elf.ok()) << elf.status().ToString();
  EXPECT_EQ((*elf)->build_id(), *id);
  // Cross-check with binutils when present.
  if (access("/usr/bin/readelf", X_OK) == 0) {
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    ASSERT_GT(len, 0);
    self[len] = '\0';
    auto r = testing::RunCommand({"/usr/bin/readelf", "-n", self});
    EXPECT_THAT(r.out, HasSubstr("Build ID: " + *id));
  }
}

TEST(SymbolizerTest, Errors) {
  auto missing = ElfSymbolizer::Open("/nonexistent/dir/libnothing.so");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/dir/libnothing.so"));

  std::string text = testing::MakeTempDir() + "/notes.txt";
  ASSERT_TRUE(WriteFile(text, "just some text, certainly not an ELF file\n").ok());
  auto not_elf = ElfSymbolizer::Open(text);
  ASSERT_FALSE(not_elf.ok());
  EXPECT_EQ(not_elf.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(not_elf.status().message(), HasSubstr(text));
  EXPECT_FALSE(ReadBuildId(text).ok());

  auto dir = ElfSymbolizer::Open("/tmp");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(ReadBuildId("/nonexistent").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(ElfSymbolizer::OpenMemory("", "empty").ok());

  // Truncated copies of a real ELF: errors, never crashes.
  std::string self = testing::ReadOrDie("/proc/self/exe");
  for (size_t n : {size_t{1}, size_t{4}, size_t{16}, size_t{63}, size_t{64}, size_t{200},
                   size_t{4096}, self.size() / 2, self.size() - 1}) {
    auto t = ElfSymbolizer::OpenMemory(std::string_view(self).substr(0, n), "cut");
    ASSERT_FALSE(t.ok()) << n;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << n;
    EXPECT_THAT(t.status().message(), HasSubstr("cut: ")) << n;
    if (n >= 64) {
      EXPECT_THAT(t.status().message(), HasSubstr("truncated")) << n;
    }
  }
  auto seed = ElfSymbolizer::Open(testing::OwnTestdata("fuzz/elf/truncated.elf"));
  EXPECT_FALSE(seed.ok());
}

// Symbolizes every address of the executable segments of a test ELF.
std::vector<std::vector<Frame>> SymbolizeAll(ElfSymbolizer& elf) {
  std::vector<std::vector<Frame>> out;
  for (const auto& seg : elf.segments()) {
    if (!seg.exec) continue;
    for (uint64_t a = seg.vaddr; a < seg.vaddr + seg.memsz; ++a) out.push_back(elf.Symbolize(a));
  }
  return out;
}

TEST(SymbolizerTest, SeedWithDwarf) {
  auto elf = ElfSymbolizer::Open(testing::OwnTestdata("fuzz/elf/tiny_O0_g.elf"));
  ASSERT_TRUE(elf.ok()) << elf.status().ToString();
  EXPECT_TRUE((*elf)->has_dwarf());
  EXPECT_EQ((*elf)->build_id().size(), 40u);
  bool found = false;
  for (const auto& frames : SymbolizeAll(**elf)) {
    if (frames.size() == 1 && frames[0].function == "tiny_add" && frames[0].line == 14) {
      EXPECT_THAT(frames[0].file, EndsWith("tiny.c"));
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(SymbolizerTest, SeedWithCompressedDwarfAndInlines) {
  auto elf = ElfSymbolizer::Open(testing::OwnTestdata("fuzz/elf/tiny_O2_gz.elf"));
  ASSERT_TRUE(elf.ok()) << elf.status().ToString();
  EXPECT_TRUE((*elf)->has_dwarf());
  bool found = false;
  for (const auto& frames : SymbolizeAll(**elf)) {
    if (frames.size() == 2 && frames[0].function == "tiny_leaf") {
      EXPECT_EQ(frames[0].line, 10) << Describe(frames);
      EXPECT_THAT(frames[0].file, EndsWith("tiny.c"));
      EXPECT_EQ(frames[1].function, "tiny_add");
      EXPECT_EQ(frames[1].line, 14);
      EXPECT_THAT(frames[1].file, EndsWith("tiny.c"));
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(SymbolizerTest, SeedWithoutDwarf) {
  std::string data = testing::ReadOrDie(testing::OwnTestdata("fuzz/elf/tiny_g0.elf"));
  auto elf = ElfSymbolizer::OpenMemory(data, "tiny_g0");
  ASSERT_TRUE(elf.ok()) << elf.status().ToString();
  EXPECT_FALSE((*elf)->has_dwarf());
  bool found_add = false, found_main = false;
  for (const auto& frames : SymbolizeAll(**elf)) {
    if (frames.empty()) continue;
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].file, "");
    EXPECT_EQ(frames[0].line, 0);
    if (frames[0].function == "tiny_add") found_add = true;
    if (frames[0].function == "main") found_main = true;
  }
  EXPECT_TRUE(found_add);
  EXPECT_TRUE(found_main);
  EXPECT_TRUE((*elf)->Symbolize(0).empty());
  EXPECT_TRUE((*elf)->Symbolize(UINT64_MAX).empty());
}

TEST(SymbolizerTest, ProcMaps) {
  auto maps = ReadProcMaps(0);
  ASSERT_TRUE(maps.ok()) << maps.status().ToString();
  bool self_exec = false;
  uintptr_t here = reinterpret_cast<uintptr_t>(&testns::SomeTestFunction);
  for (const auto& m : *maps) {
    EXPECT_LT(m.start, m.limit);
    EXPECT_TRUE(m.path[0] == '/' || m.path == "[vdso]") << m.path;
    if (here >= m.start && here < m.limit) self_exec = m.exec;
  }
  EXPECT_TRUE(self_exec);
  auto own = ReadProcMaps(getpid());
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->size(), maps->size());
  EXPECT_EQ(ReadProcMaps(999999999).status().code(), StatusCode::kNotFound);
}

TEST(SymbolizerTest, TenThousandAddresses) {
  // The binary to measure: this test by default (a few MB with DWARF).
  const char* env = std::getenv("SH_SYMBOLIZE_BENCH_ELF");
  std::string path = env != nullptr ? env : "/proc/self/exe";
  auto start = std::chrono::steady_clock::now();
  auto elf = ElfSymbolizer::Open(path);
  ASSERT_TRUE(elf.ok()) << elf.status().ToString();
  auto opened = std::chrono::steady_clock::now();
  const ElfSymbolizer::Segment* text = nullptr;
  for (const auto& seg : (*elf)->segments()) {
    if (seg.exec && (text == nullptr || seg.memsz > text->memsz)) text = &seg;
  }
  ASSERT_NE(text, nullptr);
  constexpr int kAddresses = 10000;
  size_t named = 0, with_line = 0;
  for (int i = 0; i < kAddresses; ++i) {
    uint64_t addr = text->vaddr + text->memsz * i / kAddresses;
    auto frames = (*elf)->Symbolize(addr);
    if (!frames.empty() && !frames.back().function.empty()) ++named;
    if (!frames.empty() && frames[0].line > 0) ++with_line;
  }
  auto done = std::chrono::steady_clock::now();
  double open_ms = std::chrono::duration<double, std::milli>(opened - start).count();
  double query_ms = std::chrono::duration<double, std::milli>(done - opened).count();
  std::printf(
      "%s: %.0f KB of code, open %.1f ms, %d addresses %.1f ms (%zu named, %zu with line)\n",
      path.c_str(), text->memsz / 1024.0, open_ms, kAddresses, query_ms, named, with_line);
  EXPECT_GT(named, kAddresses * 9 / 10);
  EXPECT_LT(open_ms + query_ms, 5000);
  // Cached results are stable.
  uint64_t addr = text->vaddr + text->memsz / 3;
  EXPECT_EQ((*elf)->Symbolize(addr), (*elf)->Symbolize(addr));
}

}  // namespace
}  // namespace stackhouse::symbolize
