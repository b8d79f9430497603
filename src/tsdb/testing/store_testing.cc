#include "tsdb/testing/store_testing.h"

#include <cstdlib>

#include "base/testing/testing.h"
#include "profile/folded.h"
#include "profile/pprof.h"
#include "tsdb/merge.h"

namespace stackhouse::tsdb::testing {

profile::Profile SharedPprof(const std::string& name) {
  auto p = profile::DecodePprof(stackhouse::testing::ReadOrDie(stackhouse::testing::SharedTestdata(name)));
  if (!p.ok()) std::abort();
  return std::move(p).value();
}

profile::Profile FoldedProfile(const std::string& folded, int64_t time_nanos,
                               int64_t duration_nanos) {
  profile::FoldedOptions o;
  o.sample_type = "cpu";
  o.sample_unit = "nanoseconds";
  o.period_type = "cpu";
  o.period_unit = "nanoseconds";
  o.period = 10'000'000;
  auto p = profile::ParseFolded(folded, o);
  if (!p.ok()) std::abort();
  p->time_nanos = time_nanos;
  p->duration_nanos = duration_nanos;
  return std::move(p).value();
}

profile::LabelSet Labels(std::vector<profile::LabelPair> pairs) {
  auto ls = profile::LabelSet::FromPairs(std::move(pairs));
  if (!ls.ok()) std::abort();
  return std::move(ls).value();
}

std::vector<profile::Matcher> Eq(const std::vector<std::string>& name_eq_value) {
  std::vector<profile::Matcher> out;
  for (const std::string& s : name_eq_value) {
    size_t eq = s.find('=');
    auto m = profile::Matcher::Create(s.substr(0, eq), profile::MatchOp::kEqual, s.substr(eq + 1));
    if (!m.ok()) std::abort();
    out.push_back(std::move(m).value());
  }
  return out;
}

std::string MergedFolded(const ProfileSource& source, const Selection& sel) {
  ProfileSink sink("cpu", "nanoseconds");
  if (!source.MergeStacks(sel, &sink).ok()) return "<error>";
  profile::Profile p = sink.Finish();
  return profile::WriteFolded(p, 0);
}

int64_t CrashTestTime(long long n) { return int64_t{1704067200} * 1000000000 + n * 1000000000LL; }

int64_t CrashTestTotal(long long n) { return (n % 97 + 1) + (n % 13 + 1) + 3; }

profile::Profile CrashTestProfile(long long n) {
  std::string folded = "main;f" + std::to_string(n % 17) + ";g" + std::to_string(n % 5) + " " +
                       std::to_string(n % 97 + 1) + "\nmain;h " + std::to_string(n % 13 + 1) +
                       "\nmain;h;n" + std::to_string(n) + " 3\n";
  return FoldedProfile(folded, CrashTestTime(n), 1000000000);
}

profile::LabelSet CrashTestLabels(long long n) {
  return Labels({{"service_name", "svc" + std::to_string(n % 3)}});
}

}  // namespace stackhouse::tsdb::testing
