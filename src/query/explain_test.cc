// The built-in analyzer: each costly pattern is recognised from frame names
// and comes first when it dominates; hotspots, components, diffs and the
// report forms; and the real profiles of ../shared/testdata.
#include "query/explain.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/testing/testing.h"
#include "profile/folded.h"
#include "profile/formats.h"
#include "profile/pprof.h"

namespace stackhouse::query {
namespace {

profile::Profile Folded(const std::string& text, const std::string& type = "cpu", const std::string& unit = "nanoseconds") {
  profile::FoldedOptions o;
  o.sample_type = type;
  o.sample_unit = unit;
  auto p = profile::ParseFolded(text, o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(*p) : profile::Profile();
}

bool Names(const Finding& f, const std::string& fn) {
  for (const auto& n : f.functions) {
    if (n == fn) return true;
  }
  return false;
}

struct Case {
  const char* name;
  const char* folded;
  const char* category;  // of the top finding
  const char* function;  // named by the top finding
};

class PatternTest : public ::testing::TestWithParam<Case> {};

TEST_P(PatternTest, TopFindingNamesTheCause) {
  const Case& c = GetParam();
  auto e = Explain(Folded(c.folded));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_FALSE(e->findings.empty());
  const Finding& top = e->findings[0];
  EXPECT_EQ(top.category, c.category) << top.title;
  EXPECT_TRUE(Names(top, c.function)) << top.title;
  EXPECT_GT(top.share, 0);
  EXPECT_GT(top.confidence, 0);
  EXPECT_FALSE(top.next_step.empty());
}

const Case kCases[] = {
    {"allocation", "main;handle;parse;malloc 50\nmain;handle;parse;_int_malloc 12\nmain;handle;free 8\nmain;compute 30\n",
     "allocation", "parse"},
    {"go_gc", "runtime.main;main.main;main.load;runtime.mallocgc 40\nruntime.gcBgMarkWorker;runtime.gcDrain 30\nruntime.main;main.main;main.sum 30\n",
     "allocation", "runtime.mallocgc"},
    {"locks",
     "main;worker;update;pthread_mutex_lock;__lll_lock_wait;entry_SYSCALL_64;do_syscall_64;__x64_sys_futex;do_futex;futex_wait 70\nmain;worker;compute 30\n",
     "lock_contention", "update"},
    {"syscalls", "main;copy_loop;__libc_write;entry_SYSCALL_64;do_syscall_64;ksys_write;vfs_write 45\nmain;copy_loop;__libc_read;entry_SYSCALL_64;do_syscall_64;ksys_read;vfs_read 35\nmain;copy_loop 20\n",
     "syscall_io", "copy_loop"},
    {"regex",
     "main;handle;validate;std::__cxx11::basic_regex<char, std::__cxx11::regex_traits<char> >::basic_regex;std::__detail::_Compiler<std::__cxx11::regex_traits<char> >::_M_disjunction 55\nmain;handle;respond 45\n",
     "regex", "validate"},
    {"json", "main;serve;render;nlohmann::json_abi_v3_11_2::basic_json<>::dump 60\nmain;serve;route 40\n", "serialization",
     "render"},
    {"protobuf", "main;rpc;google::protobuf::MessageLite::SerializeToString 55\nmain;rpc;work 45\n", "serialization", "rpc"},
    {"compute", "main;run;crunch 80\nmain;run;other 20\n", "hotspot", "crunch"},
    {"memcpy", "main;pack;__memmove_avx_unaligned_erms 60\nmain;pack;encode 40\n", "memcpy", "pack"},
    {"exceptions", "main;lookup;__cxa_throw;_Unwind_RaiseException;_Unwind_Find_FDE 55\nmain;lookup;find 45\n",
     "exceptions", "lookup"},
    {"dynamic_linking", "_dl_start;_dl_start_final;_dl_sysdep_start;dl_main;_dl_relocate_object;elf_machine_rela;_dl_lookup_symbol_x;do_lookup_x 60\nmain;work 40\n",
     "dynamic_linking", "dl_main"},
    {"page_faults", "main;fill;asm_exc_page_fault;exc_page_fault;do_user_addr_fault;handle_mm_fault;clear_page_erms 60\nmain;fill 40\n",
     "page_faults", "fill"},
    {"spinning", "main;wait_ready;sched_yield;entry_SYSCALL_64;do_syscall_64 70\nmain;work 30\n", "spinning", "wait_ready"},
    {"hashing", "main;store;checksum;crc32_update 45\nmain;store;compress_block;deflate_slow 25\nmain;store;write 30\n",
     "hashing_compression", "checksum"},
    {"formatting", "main;handle;log_request;__vfprintf_internal 40\nmain;handle;log_request;snprintf 20\nmain;handle;work 40\n",
     "formatting_logging", "log_request"},
};

INSTANTIATE_TEST_SUITE_P(Patterns, PatternTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ExplainTest, HotspotsCarryPathsAndNumbers) {
  auto e = Explain(Folded("main;a;b;leaf 60\nmain;c;leaf 20\nmain;d 20\n"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->total, 100);
  const Finding& top = e->findings[0];
  EXPECT_EQ(top.category, "hotspot");
  EXPECT_EQ(top.functions[0], "leaf");
  EXPECT_EQ(top.path, (std::vector<std::string>{"main", "a", "b", "leaf"}));
  EXPECT_DOUBLE_EQ(top.share, 0.8);
  EXPECT_EQ(top.value, 80);
  EXPECT_NE(top.title.find("80%"), std::string::npos) << top.title;
}

TEST(ExplainTest, DiffFindsWhereTheRegressionIs) {
  profile::Profile before = Folded("main;serve;route 50\nmain;serve;respond 50\n");
  profile::Profile after = Folded("main;serve;route 50\nmain;serve;respond 52\nmain;serve;handle_request;parse_json;tokenize 70\nmain;serve;handle_request;parse_json 10\n");
  auto e = ExplainDiff(before, after);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE(e->diff);
  EXPECT_EQ(e->baseline_total, 100);
  EXPECT_EQ(e->total, 182);
  const Finding& top = e->findings[0];
  EXPECT_EQ(top.category, "regression");
  // The deepest frame holding most of the growth: 70 of the 82 added.
  EXPECT_EQ(top.path, (std::vector<std::string>{"main", "serve", "handle_request", "parse_json", "tokenize"}));
  EXPECT_NEAR(top.delta_share, 70.0 / 82, 1e-9);
  EXPECT_NE(top.title.find("85%"), std::string::npos) << top.title;
  bool new_code = false;
  for (const Finding& f : e->findings) new_code |= f.category == "new_code" && Names(f, "tokenize");
  EXPECT_TRUE(new_code);
  // A sample type the baseline lacks.
  EXPECT_FALSE(ExplainDiff(Folded("a 1", "alloc_space", "bytes"), after).ok());
}

TEST(ExplainTest, ReportsInJsonAndMarkdown) {
  auto e = Explain(Folded("main;handle;parse;malloc 70\nmain;compute 30\n"));
  ASSERT_TRUE(e.ok());
  auto j = nlohmann::json::parse(ExplanationJson(*e));
  ASSERT_TRUE(j.contains("findings"));
  EXPECT_EQ(j["findings"][0]["category"], "allocation");
  EXPECT_EQ(j["total"], 100);
  EXPECT_GT(j["findings"][0]["share"].get<double>(), 0.69);
  std::string md = ExplanationMarkdown(*e);
  for (const char* section : {"## Bottleneck", "## Root cause", "## Recommendation"}) {
    EXPECT_NE(md.find(section), std::string::npos) << md;
  }
  EXPECT_NE(md.find("70%"), std::string::npos) << md;
  EXPECT_NE(md.find("malloc"), std::string::npos) << md;
  // An empty profile explains without findings.
  auto empty = Explain(profile::Profile());
  EXPECT_FALSE(empty.ok());  // no sample type
}

TEST(ExplainTest, AnomaliesBeyondNormalVariation) {
  // Three earlier periods: work varies between 40% and 46%, gc 10-12%.
  profile::Profile b1 = Folded("main;work 40\nmain;gc 10\nmain;other 50\n");
  profile::Profile b2 = Folded("main;work 46\nmain;gc 12\nmain;other 42\n");
  profile::Profile b3 = Folded("main;work 43\nmain;gc 11\nmain;other 46\n");
  std::vector<Baseline> bases = {{"the preceding hour", &b1}, {"a day before", &b2}, {"a week before", &b3}};
  // Within the spread: nothing.
  EXPECT_TRUE(FindAnomalies(Folded("main;work 45\nmain;gc 11\nmain;other 44\n"), bases).empty());
  // gc doubles: an anomaly, named with its numbers and its baselines.
  auto a = FindAnomalies(Folded("main;work 40\nmain;gc 25\nmain;other 35\n"), bases);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a[0].category, "anomaly");
  EXPECT_EQ(a[0].functions[0], "gc");
  EXPECT_NEAR(a[0].delta_share, 0.25 - 0.11, 1e-9);
  EXPECT_NE(a[0].title.find("the preceding hour, a day before and a week before"), std::string::npos) << a[0].title;
  // With no earlier data, nothing to compare.
  EXPECT_TRUE(FindAnomalies(Folded("main;gc 1\n"), {}).empty());
}

TEST(ExplainTest, RealProfiles) {
  auto load = [](const std::string& name) {
    auto p = profile::ReadProfile(stackhouse::testing::ReadOrDie(stackhouse::testing::SharedTestdata(name)), std::nullopt);
    EXPECT_TRUE(p.ok()) << name;
    return std::move(*p);
  };
  // Go CPU: checksumLedger, 52%.
  auto cpu = Explain(load("go_cpu.pb.gz"));
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->findings[0].category, "hotspot");
  EXPECT_EQ(cpu->findings[0].functions[0], "main.checksumLedger");
  // Go mutex: all contention, from settleAccounts.
  auto mutex = Explain(load("go_mutex.pb.gz"));
  ASSERT_TRUE(mutex.ok());
  EXPECT_EQ(mutex->findings[0].category, "lock_contention");
  EXPECT_TRUE(Names(mutex->findings[0], "main.settleAccounts"));
  // Java allocations: the program's own buildPostings behind 57% (jfr print: 1668378824 of 2934274464 bytes).
  profile::Profile java = load("java.jfr");
  ExplainOptions o;
  o.type_index = java.FindSampleType("alloc_size");
  auto alloc = Explain(java, o);
  ASSERT_TRUE(alloc.ok());
  EXPECT_EQ(alloc->findings[0].functions[0], "TextIndexer.buildPostings");
  EXPECT_EQ(alloc->findings[0].value, 1668378824);
  // Java CPU: stemWord, 503 of 850 samples.
  o.type_index = java.FindSampleType("samples");
  auto jcpu = Explain(java, o);
  ASSERT_TRUE(jcpu.ok());
  EXPECT_EQ(jcpu->findings[0].functions[0], "TextIndexer.stemWord");
  EXPECT_EQ(jcpu->findings[0].value, 503);
}

}  // namespace
}  // namespace stackhouse::query
