// The JFR parser against the ground truth of ../shared/testdata/java.jfr.txt
// (made with the JDK's own `jfr summary` and `jfr print`).
#include "profile/jfr.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "base/protowire.h"
#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/formats.h"

namespace stackhouse::profile {
namespace {

using stackhouse::testing::ReadOrDie;
using stackhouse::testing::SharedTestdata;

std::string Jfr() { return ReadOrDie(SharedTestdata("java.jfr")); }

// The `jfr summary` table of the sidecar: event type -> count.
std::map<std::string, int64_t> SummaryCounts() {
  std::istringstream in(ReadOrDie(SharedTestdata("java.jfr.txt")));
  std::map<std::string, int64_t> out;
  std::string line;
  bool table = false;
  while (std::getline(in, line)) {
    if (line.starts_with("=====")) {
      table = true;
      continue;
    }
    if (!table) continue;
    if (line.starts_with("###")) break;
    std::istringstream l(line);
    std::string name;
    int64_t count = -1, size = -1;
    if (l >> name >> count >> size) out[name] = count;
  }
  return out;
}

// Section of the sidecar after `header`: "count<TAB>name" lines.
std::vector<std::pair<int64_t, std::string>> TruthList(const std::string& header) {
  std::string text = ReadOrDie(SharedTestdata("java.jfr.txt"));
  size_t at = text.find(header);
  EXPECT_NE(at, std::string::npos) << header;
  std::vector<std::pair<int64_t, std::string>> out;
  std::istringstream in(text.substr(at + header.size()));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::string_view t = TrimSpace(line);
    size_t tab = t.find('\t');
    if (tab == std::string_view::npos) break;
    auto n = ParseInt64(t.substr(0, tab));
    if (!n) break;
    out.push_back({*n, std::string(t.substr(tab + 1))});
  }
  return out;
}

const JfrProfile* Find(const JfrRecording& r, const std::string& type) {
  for (const JfrProfile& p : r.profiles) {
    if (p.profile.FindSampleType(type) >= 0) return &p;
  }
  return nullptr;
}

std::string Frame(const Profile& p, uint32_t loc) { return p.FrameName(p.locations[loc]); }

TEST(JfrTest, EventCountsMatchJfrSummary) {
  auto r = ParseJfr(Jfr());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto want = SummaryCounts();
  ASSERT_GT(want.size(), 100u);
  int checked = 0;
  for (const auto& [name, count] : want) {
    auto it = r->event_counts.find(name);
    EXPECT_EQ(it == r->event_counts.end() ? 0 : it->second, count) << name;
    checked += count > 0;
  }
  EXPECT_GT(checked, 70);
  EXPECT_EQ(r->chunks, 1);
  EXPECT_EQ(r->duration_nanos / 1000000000, 10);
}

TEST(JfrTest, ExecutionSamplesMatchJfrPrint) {
  auto r = ParseJfr(Jfr());
  ASSERT_TRUE(r.ok());
  const JfrProfile* cpu = Find(*r, "cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->name, "process_cpu");
  const Profile& p = cpu->profile;
  int samples = p.FindSampleType("samples");
  EXPECT_EQ(p.Total(samples), 850);
  // The 'profile' settings sample Java every 10 ms.
  EXPECT_EQ(p.period, 10000000);
  EXPECT_EQ(p.Total(p.FindSampleType("cpu")), 850 * 10000000LL);
  std::map<std::string, int64_t> leaf, inclusive;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    auto stack = p.sample_stack(i);
    int64_t v = p.sample_values(i)[samples];
    ASSERT_FALSE(stack.empty());
    leaf[Frame(p, stack[0])] += v;
    std::set<std::string> seen;
    for (uint32_t l : stack) seen.insert(Frame(p, l));
    for (const auto& n : seen) inclusive[n] += v;
  }
  for (const auto& [n, name] : TruthList("top 5 leaf frames (self samples):")) EXPECT_EQ(leaf[name], n) << name;
  auto incl = TruthList("top 8 frames by inclusive samples (stack contains frame):");
  ASSERT_EQ(incl.size(), 8u);
  for (const auto& [n, name] : incl) EXPECT_EQ(inclusive[name], n) << name;
}

TEST(JfrTest, AllocationSamplesMatchJfrPrint) {
  auto r = ParseJfr(Jfr());
  ASSERT_TRUE(r.ok());
  const JfrProfile* alloc = Find(*r, "alloc_size");
  ASSERT_NE(alloc, nullptr);
  const Profile& p = alloc->profile;
  EXPECT_EQ(p.Total(p.FindSampleType("alloc_samples")), 1516);
  EXPECT_EQ(p.Total(p.FindSampleType("alloc_size")), 2934274464);
  int count = p.FindSampleType("alloc_samples"), bytes = p.FindSampleType("alloc_size");
  std::map<std::string, int64_t> leaf_n, first_app;
  for (size_t i = 0; i < p.samples.size(); ++i) {
    auto stack = p.sample_stack(i);
    ASSERT_FALSE(stack.empty());
    leaf_n[Frame(p, stack[0])] += p.sample_values(i)[count];
    std::string app = Frame(p, stack[0]);
    for (uint32_t l : stack) {
      std::string n = Frame(p, l);
      if (!n.starts_with("java.") && !n.starts_with("jdk.") && !n.starts_with("sun.")) {
        app = n;
        break;
      }
    }
    first_app[app] += p.sample_values(i)[bytes];
  }
  for (const auto& [n, name] : TruthList("top 5 leaf frames by event count:")) EXPECT_EQ(leaf_n[name], n) << name;
  for (const auto& [n, name] : TruthList("top 5 first-application-frame (non java./jdk./sun.) by weight:")) {
    EXPECT_EQ(first_app[name], n) << name;
  }
}

TEST(JfrTest, ToolsReadJfrAsOneProfile) {
  auto f = DetectFormat(Jfr());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, Format::kJfr);
  auto p = ReadProfile(Jfr(), std::nullopt);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->Validate().ok());
  EXPECT_EQ(p->Total(p->FindSampleType("samples")), 850);
  EXPECT_EQ(p->Total(p->FindSampleType("alloc_size")), 2934274464);
}

TEST(JfrTest, DamagedInputGivesErrorsWithOffsets) {
  std::string jfr = Jfr();
  EXPECT_FALSE(ParseJfr("FLR").ok());
  std::string bad_version = jfr;
  bad_version[5] = 9;  // major 9
  EXPECT_NE(ParseJfr(bad_version).status().message().find("format"), std::string::npos);
  // Cut anywhere, or with bytes flipped: an error (never a crash).
  for (size_t cut : {size_t{70}, size_t{5000}, size_t{8200}, jfr.size() / 2, jfr.size() - 1}) {
    std::string t = jfr.substr(0, cut);
    auto r = ParseJfr(t);
    EXPECT_FALSE(r.ok()) << cut;
    EXPECT_NE(r.status().message().find("offset"), std::string::npos) << r.status().message();
  }
  for (size_t at = 100; at < jfr.size(); at += jfr.size() / 37) {
    std::string t = jfr;
    t[at] = static_cast<char>(t[at] ^ 0x5a);
    (void)ParseJfr(t);  // may or may not parse; must not crash
  }
}

TEST(JfrTest, ContextLabelsFromALabelsSnapshot) {
  // contexts {7: {labels {1: 2}}}, strings {1: "endpoint", 2: "/api"}.
  std::string label, ctx, ctx_entry, s1, s2, snap;
  protowire::Writer(&label).VarintField(1, 1);
  protowire::Writer(&label).VarintField(2, 2);
  protowire::Writer(&ctx).BytesField(1, label);
  protowire::Writer(&ctx_entry).VarintField(1, 7);
  protowire::Writer(&ctx_entry).BytesField(2, ctx);
  protowire::Writer(&s1).VarintField(1, 1);
  protowire::Writer(&s1).BytesField(2, "endpoint");
  protowire::Writer(&s2).VarintField(1, 2);
  protowire::Writer(&s2).BytesField(2, "/api");
  protowire::Writer w(&snap);
  w.BytesField(1, ctx_entry);
  w.BytesField(2, s1);
  w.BytesField(2, s2);
  auto c = ParseLabelsSnapshot(snap);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->count(7), 1u);
  EXPECT_EQ(c->at(7), (std::vector<std::pair<std::string, std::string>>{{"endpoint", "/api"}}));
  EXPECT_FALSE(ParseLabelsSnapshot("\x0a\x05\x08").ok());
}

}  // namespace
}  // namespace stackhouse::profile
