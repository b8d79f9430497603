// Fuzz target for the query selector and ingest name parsers: never crash;
// whatever parses must print back to text that parses to the same thing.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "profile/labels.h"

namespace {

using namespace stackhouse::profile;

void CheckSelector(std::string_view text) {
  auto sel = ParseSelector(text);
  if (!sel.ok()) return;
  std::string s = sel->ToString();
  // Escaping may grow the text past the input limit; only then may it fail.
  if (s.size() <= kMaxSelectorLength) {
    auto again = ParseSelector(s);
    if (!again.ok() || again->ToString() != s || again->profile_type != sel->profile_type ||
        again->matchers != sel->matchers) {
      std::abort();
    }
  }
  for (const Matcher& m : sel->matchers) {
    bool eq = m.Matches(m.value());
    if (m.op() == MatchOp::kEqual && !eq) std::abort();
    if (m.op() == MatchOp::kNotEqual && eq) std::abort();
    if (m.Matches("") != m.Matches(LabelSet())) std::abort();
  }
}

void CheckIngestName(std::string_view text) {
  auto name = ParseIngestName(text);
  if (!name.ok()) return;
  if (name->app_name.empty()) std::abort();
  std::string s = name->app_name + "{";
  for (const LabelPair& p : name->labels) {
    if (!IsValidLabelName(p.name)) std::abort();
    s += p.name + "=" + QuoteLabelValue(p.value) + ",";
  }
  s += "}";
  if (s.size() <= kMaxSelectorLength) {
    auto again = ParseIngestName(s);
    if (!again.ok() || again->app_name != name->app_name || again->labels != name->labels) {
      std::abort();
    }
  }
  // The labels form a series identity regardless of their order.
  auto set = LabelSet::FromPairs(name->labels);
  std::vector<LabelPair> reversed(name->labels.rbegin(), name->labels.rend());
  auto set2 = LabelSet::FromPairs(reversed);
  if (!set.ok() || !set2.ok() || !(*set == *set2) || set->Hash() != set2->Hash()) std::abort();
  auto [app, type] = SplitAppType(name->app_name);
  if (!type.empty() && app + "." + type != name->app_name) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckSelector(text);
  CheckIngestName(text);
  return 0;
}
