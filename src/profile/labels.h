// Series labels, label matchers and the two selector syntaxes Pyroscope
// clients speak:
//   - query selectors (`/pyroscope/render?query=`, Grafana), PromQL-like:
//       process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name="x", env=~"prod.*"}
//   - the legacy ingest `name` parameter: `app.cpu{env=staging,region=us-east}`.
// Every type here is a plain value. Matcher shares its compiled regex
// (immutable, RE2 is thread-safe) between copies. All functions are pure and
// thread-safe; parsers take untrusted bytes and return errors, never crash.
#ifndef STACKHOUSE_PROFILE_LABELS_H_
#define STACKHOUSE_PROFILE_LABELS_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace stackhouse::profile {

// Limits applied to hostile input.
inline constexpr size_t kMaxLabelNameLength = 1024;      // Pyroscope's default
inline constexpr size_t kMaxSelectorLength = 64 * 1024;  // ParseSelector / ParseIngestName
inline constexpr size_t kMaxSelectorMatchers = 256;      // matchers / ingest labels
inline constexpr size_t kMaxRegexLength = 4 * 1024;      // per regex matcher
inline constexpr int64_t kRegexMaxMem = 1 << 20;         // RE2 max_mem per regex

struct LabelPair {
  std::string name;
  std::string value;
  bool operator==(const LabelPair&) const = default;
  auto operator<=>(const LabelPair&) const = default;  // by name, then value
};

// A sorted label set with unique names: the identity of a series. A label with
// an empty value is the same as an absent label (as in Prometheus), so such
// pairs are dropped. Names are not checked against IsValidLabelName here
// (pprof and OTel labels may be anything); ingest paths apply that policy.
class LabelSet {
 public:
  LabelSet() = default;

  // Sorts and de-duplicates `pairs`. Errors on an empty name and on one name
  // with two different values.
  static StatusOr<LabelSet> FromPairs(std::vector<LabelPair> pairs);

  const std::vector<LabelPair>& pairs() const { return pairs_; }
  size_t size() const { return pairs_.size(); }
  bool empty() const { return pairs_.empty(); }

  std::string_view Get(std::string_view name) const;  // "" if absent
  bool Has(std::string_view name) const;
  // Adds or replaces a label; an empty value removes it, an empty name is
  // ignored (the set is returned unchanged).
  LabelSet With(std::string_view name, std::string_view value) const;
  LabelSet Without(std::string_view name) const;

  // XXH3-64 (seed 0) of the canonical encoding: for each pair in order,
  // varint(len(name)) name varint(len(value)) value, varints being unsigned
  // LEB128. Stable across runs, machines and releases.
  uint64_t Hash() const;
  // {a="x", b="y\"z"}; values escaped as by QuoteLabelValue, names quoted the
  // same way when they are not valid label names (Prometheus 3 style).
  std::string ToString() const;

  bool operator==(const LabelSet&) const = default;
  bool operator<(const LabelSet& other) const { return pairs_ < other.pairs_; }

 private:
  std::vector<LabelPair> pairs_;  // sorted by name, names unique, values non-empty
};

// Prometheus-like [a-zA-Z_][a-zA-Z0-9_.]* (dots for OTel names such as
// service.name), 1..max_length bytes.
bool IsValidLabelName(std::string_view name, size_t max_length = kMaxLabelNameLength);

// "value" with \\ \" \n \r \t escaped and other control bytes (< 0x20, 0x7f) as
// \xNN; bytes >= 0x80 are kept as they are. ParseSelector reads it back exactly.
std::string QuoteLabelValue(std::string_view value);

enum class MatchOp { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
std::string_view MatchOpString(MatchOp op);  // "=", "!=", "=~", "!~"

// One label matcher. Regexes use RE2 syntax, are fully anchored as in PromQL
// (^(?:v)$) and '.' matches '\n' (Prometheus 3). Copyable; copies share the
// compiled regex.
class Matcher {
 public:
  // Errors (InvalidArgument) on an empty name, a regex longer than
  // kMaxRegexLength, or one RE2 rejects or cannot fit in kRegexMaxMem.
  static StatusOr<Matcher> Create(std::string name, MatchOp op, std::string value);

  // Matches one label value; an absent label matches as "".
  bool Matches(std::string_view value) const;
  bool Matches(const LabelSet& labels) const { return Matches(labels.Get(name_)); }

  const std::string& name() const { return name_; }
  MatchOp op() const { return op_; }
  const std::string& value() const { return value_; }

  // name="value", name=~"...", with the quoting of LabelSet::ToString.
  std::string ToString() const;

  bool operator==(const Matcher& other) const {
    return name_ == other.name_ && op_ == other.op_ && value_ == other.value_;
  }

 private:
  Matcher() = default;

  std::string name_;
  MatchOp op_ = MatchOp::kEqual;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;  // set for the regex ops
};

// True if every matcher matches `labels`.
bool MatchesAll(const std::vector<Matcher>& matchers, const LabelSet& labels);

// A query selector:
//   process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name="x", env=~"prod.*"}
//   {service_name="x"}                              (no profile type)
//   process_cpu:cpu:nanoseconds:cpu:nanoseconds     (no braces)
//   {}                                              (everything)
// The profile type is taken lexically ([A-Za-z0-9_.:-]+); callers check it
// with ProfileType::Parse. Label names are identifiers ([a-zA-Z_][a-zA-Z0-9_.]*)
// or quoted strings; values are "double", 'single' (Go/PromQL escapes: \a \b
// \f \n \r \t \v \\ \" \' \xNN \NNN \uXXXX \UXXXXXXXX) or `raw` strings.
// Whitespace may surround tokens; a trailing comma inside braces is allowed.
struct Selector {
  std::string profile_type;  // "" if absent
  std::vector<Matcher> matchers;

  // Canonical text: `type{a="x", b=~"y"}`, `type`, `{a="x"}` or `{}`.
  std::string ToString() const;
};

// Errors name the byte offset:
//   "selector: offset 17: expected '=', '!=', '=~' or '!~'".
// Limits: kMaxSelectorLength bytes, kMaxSelectorMatchers matchers.
StatusOr<Selector> ParseSelector(std::string_view text);

// Pyroscope's legacy ingest `name`: `app.cpu{k=v,k2=v2}`. The part before '{'
// (trimmed) is the application name including its type suffix; it must be
// non-empty and made of letters, digits, '_', '-', '.', '/' (bytes >= 0x80
// are taken as UTF-8 letters). Label names follow IsValidLabelName; values are
// unquoted (any bytes but ',' and '}', trimmed) or quoted as in ParseSelector.
// Empty braces and a trailing comma are fine; an unclosed brace, text after
// '}', a label without '=' and one name given two values are errors. Values
// may be empty (the caller decides what that means).
struct IngestName {
  std::string app_name;           // "app.cpu"
  std::vector<LabelPair> labels;  // in input order, without exact duplicates
};
StatusOr<IngestName> ParseIngestName(std::string_view text);

// Splits "app.cpu" into ("app", "cpu") by the last dot when the suffix is a
// known Pyroscope type suffix (cpu, itimer, wall, alloc_objects, ...), else
// returns (whole name, "").
std::pair<std::string, std::string> SplitAppType(std::string_view app_name);

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_LABELS_H_
