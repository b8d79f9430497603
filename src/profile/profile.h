// The profile model: the one vocabulary every part of Stackhouse shares.
//
// It follows pprof's profile.proto closely (so that pprof round-trips
// losslessly) but stores cross references as dense indexes instead of ids,
// and keeps samples in flat pools instead of one allocation per sample:
//
//   strings[0] == ""             every string field is an index into strings
//   functions[i], mappings[i]    referenced by 1-based index (0 = none)
//   locations[i]                 referenced by 0-based index from samples
//   location.lines               a run [line_begin, +line_count) of `lines`,
//                                inlined callee first, caller last
//   sample i                     a run of `stack` (leaf first), a run of
//                                `labels`, and values[i*num_types .. +num_types)
//
// The original pprof ids of mappings, locations and functions are kept in
// `id` so that re-encoding reproduces them; profiles built in memory use
// index+1. A Profile is a plain value: copyable, movable, thread-compatible.
#ifndef STACKHOUSE_PROFILE_PROFILE_H_
#define STACKHOUSE_PROFILE_PROFILE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/memory.h"
#include "base/status.h"
#include "profile/string_table.h"

namespace stackhouse::profile {

// a + b, held at the int64 limits instead of overflowing: sums of sample
// values from inputs that may be extreme.
inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return b < 0 ? INT64_MIN : INT64_MAX;
  return sum;
}

struct ValueType {
  int64_t type = 0;  // string index, e.g. "cpu"
  int64_t unit = 0;  // string index, e.g. "nanoseconds"
  bool operator==(const ValueType&) const = default;
};

// A sample label: a string label (str != 0) or a numeric one (num, num_unit).
struct Label {
  int64_t key = 0;       // string index
  int64_t str = 0;       // string index, 0 for numeric labels
  int64_t num = 0;
  int64_t num_unit = 0;  // string index, optional
  bool operator==(const Label&) const = default;
};

struct Mapping {
  uint64_t id = 0;
  uint64_t memory_start = 0;
  uint64_t memory_limit = 0;
  uint64_t file_offset = 0;
  int64_t filename = 0;  // string index
  int64_t build_id = 0;  // string index
  bool has_functions = false;
  bool has_filenames = false;
  bool has_line_numbers = false;
  bool has_inline_frames = false;
  bool operator==(const Mapping&) const = default;
};

struct Function {
  uint64_t id = 0;
  int64_t name = 0;         // string index: human-readable name
  int64_t system_name = 0;  // string index: e.g. mangled name
  int64_t filename = 0;     // string index
  int64_t start_line = 0;
  bool operator==(const Function&) const = default;
};

struct Line {
  uint32_t function = 0;  // 1-based index into functions, 0 = none
  int64_t line = 0;
  int64_t column = 0;
  bool operator==(const Line&) const = default;
};

struct Location {
  uint64_t id = 0;
  uint32_t mapping = 0;  // 1-based index into mappings, 0 = none
  uint64_t address = 0;
  uint32_t line_begin = 0;  // run of Profile::lines
  uint32_t line_count = 0;
  bool is_folded = false;
  bool operator==(const Location&) const = default;
};

struct Sample {
  uint32_t stack_begin = 0;  // run of Profile::stack (location indexes, leaf first)
  uint32_t stack_size = 0;
  uint32_t label_begin = 0;  // run of Profile::labels
  uint32_t label_count = 0;
  bool operator==(const Sample&) const = default;
};

class Profile {
 public:
  Profile() { strings.emplace_back(); }

  // --- metadata -------------------------------------------------------------
  std::vector<ValueType> sample_types;
  ValueType period_type;
  int64_t period = 0;
  int64_t time_nanos = 0;
  int64_t duration_nanos = 0;
  int64_t drop_frames = 0;          // string index (regex)
  int64_t keep_frames = 0;          // string index (regex)
  std::vector<int64_t> comments;    // string indexes
  int64_t default_sample_type = 0;  // string index (a sample type name)
  int64_t doc_url = 0;              // string index

  // --- symbols --------------------------------------------------------------
  StringTable strings;  // strings[0] == ""
  std::vector<Mapping> mappings;
  std::vector<Function> functions;
  std::vector<Location> locations;
  std::vector<Line> lines;

  // --- samples --------------------------------------------------------------
  std::vector<Sample> samples;
  // (Sized without zero-filling, see DefaultInitAllocator.)
  std::vector<uint32_t, DefaultInitAllocator<uint32_t>> stack;  // location indexes of all samples
  std::vector<Label> labels;                                   // labels of all samples
  std::vector<int64_t, DefaultInitAllocator<int64_t>> values;  // samples.size() * sample_types.size()

  // --- accessors ------------------------------------------------------------
  size_t num_types() const { return sample_types.size(); }
  std::string_view str(int64_t i) const {
    return i >= 0 && static_cast<size_t>(i) < strings.size() ? strings[i] : std::string_view();
  }
  std::span<const uint32_t> sample_stack(size_t i) const {
    return {stack.data() + samples[i].stack_begin, samples[i].stack_size};
  }
  std::span<const Label> sample_labels(size_t i) const {
    return {labels.data() + samples[i].label_begin, samples[i].label_count};
  }
  std::span<const int64_t> sample_values(size_t i) const {
    return {values.data() + i * num_types(), num_types()};
  }
  std::span<int64_t> mutable_sample_values(size_t i) {
    return {values.data() + i * num_types(), num_types()};
  }
  std::span<const Line> location_lines(const Location& loc) const {
    return {lines.data() + loc.line_begin, loc.line_count};
  }
  const Function* function(uint32_t one_based) const {
    return one_based == 0 || one_based > functions.size() ? nullptr : &functions[one_based - 1];
  }
  const Mapping* mapping(uint32_t one_based) const {
    return one_based == 0 || one_based > mappings.size() ? nullptr : &mappings[one_based - 1];
  }

  // Appends a sample; `values` must have num_types() entries.
  void AddSample(std::span<const uint32_t> stack_locations, std::span<const int64_t> sample_values,
                 std::span<const Label> sample_labels = {});

  // Index of the sample type named `name` (e.g. "cpu"), or -1.
  int FindSampleType(std::string_view name) const;
  // The type tools show by default: default_sample_type if set and present,
  // else the last sample type (pprof's rule). -1 if there are none.
  int DefaultSampleTypeIndex() const;

  // Sum of column `type_index` over all samples.
  int64_t Total(size_t type_index) const;

  // Display name of a location's frame: its innermost line's function name,
  // else "<mapping basename>+0x<addr>", else "0x<addr>".
  std::string FrameName(const Location& loc) const;

  // Checks every invariant (indexes in range, value counts, strings[0] == "").
  // Decoders call it on their result; it names the first violation.
  Status Validate() const;
  // The parts of Validate() about metadata and symbols only.
  Status ValidateSymbols() const;

  // Structural equality (ids and order included). Use Normalize() first to
  // compare profiles for equal meaning.
  bool operator==(const Profile& other) const = default;
};

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_PROFILE_H_
