// Helpers for the store's tests and fuzzers: profiles from folded text,
// label sets, and flame-graph results as comparable folded text.
#ifndef STACKHOUSE_TSDB_TESTING_STORE_TESTING_H_
#define STACKHOUSE_TSDB_TESTING_STORE_TESTING_H_

#include <string>
#include <vector>

#include "profile/labels.h"
#include "profile/profile.h"
#include "tsdb/source.h"

namespace stackhouse::tsdb::testing {

// A CPU profile (cpu/nanoseconds, period 10 ms) from folded text, at `time`.
profile::Profile FoldedProfile(const std::string& folded, int64_t time_nanos,
                               int64_t duration_nanos = 10'000'000'000);

profile::LabelSet Labels(std::vector<profile::LabelPair> pairs);

// A pprof file of ../shared/testdata, decoded (aborts if it cannot be).
profile::Profile SharedPprof(const std::string& name);

// Matchers from "name=value" strings (equality only).
std::vector<profile::Matcher> Eq(const std::vector<std::string>& name_eq_value);

// MergeStacks of the selection as sorted folded text (by frame names).
std::string MergedFolded(const ProfileSource& source, const Selection& sel);

// The crash test's profile number n: service svc<n%3>, time T0 + n seconds,
// and stacks and values derived from n (total: CrashTestTotal(n)).
profile::Profile CrashTestProfile(long long n);
profile::LabelSet CrashTestLabels(long long n);
int64_t CrashTestTime(long long n);
int64_t CrashTestTotal(long long n);

}  // namespace stackhouse::tsdb::testing

#endif  // STACKHOUSE_TSDB_TESTING_STORE_TESTING_H_
