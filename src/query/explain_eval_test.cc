// The interpreter over its evaluation set (testdata/explain: real
// workloads with a known dominant cause, profiled by Stackhouse's
// profilers): the top finding must name the right category and function in
// at least 90% of the cases (the target), and this set is expected
// to pass whole, so every miss is listed.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "profile/formats.h"
#include "query/explain.h"

namespace stackhouse::query {
namespace {

using stackhouse::testing::OwnTestdata;
using stackhouse::testing::ReadOrDie;

profile::Profile Load(const std::string& file) {
  auto p = profile::ReadProfile(ReadOrDie(OwnTestdata("explain/profiles/" + file)), std::nullopt);
  EXPECT_TRUE(p.ok()) << file << ": " << p.status().ToString();
  return p.ok() ? std::move(*p) : profile::Profile();
}

TEST(ExplainEvalTest, TopFindingNamesTheKnownCause) {
  auto labels = nlohmann::json::parse(ReadOrDie(OwnTestdata("explain/labels.json")));
  const auto& cases = labels["cases"];
  ASSERT_GE(cases.size(), 30u);
  int right = 0;
  std::string misses;
  for (const auto& c : cases) {
    const std::string file = c["file"];
    profile::Profile p = Load(file);
    ExplainOptions o;
    if (c.contains("sample_type")) o.type_index = p.FindSampleType(c["sample_type"].get<std::string>());
    auto e = c.contains("baseline") ? ExplainDiff(Load(c["baseline"]), p, o) : Explain(p, o);
    ASSERT_TRUE(e.ok()) << file << ": " << e.status().ToString();
    bool ok = false;
    std::string got = "no findings";
    if (!e->findings.empty()) {
      const Finding& top = e->findings[0];
      bool named = false;
      for (const auto& f : top.functions) named |= f == c["function"];
      for (const auto& f : top.path) named |= f == c["function"];
      ok = top.category == c["category"] && named;
      got = StrCat(top.category, ": ", top.title);
    }
    if (ok) {
      ++right;
    } else {
      misses += StrCat("\n  ", file, ": want ", c["category"].get<std::string>(), " naming ",
                       c["function"].get<std::string>(), ", got ", got);
    }
  }
  double accuracy = 100.0 * right / static_cast<double>(cases.size());
  EXPECT_GE(accuracy, 90.0) << misses;
  EXPECT_EQ(right, static_cast<int>(cases.size())) << "misses:" << misses;
}

}  // namespace
}  // namespace stackhouse::query
