// Folded ("collapsed") stacks, the text format of flamegraph.pl:
//   root;caller;leaf 123
// one stack per line, frames root first, then whitespace and a non-negative
// integer. As in flamegraph.pl the value is whatever follows the last run of
// whitespace, so frames may contain spaces. CRLF line ends, trailing spaces
// and blank lines are tolerated; anything else malformed is an error that
// names the line. The "lines" variant has no value: each line counts 1.
// Thread-safe (pure functions).
#ifndef STACKHOUSE_PROFILE_FOLDED_H_
#define STACKHOUSE_PROFILE_FOLDED_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"
#include "profile/profile.h"

namespace stackhouse::profile {

struct FoldedOptions {
  // The single sample type of the result.
  std::string sample_type = "samples";
  std::string sample_unit = "count";
  // Optional period type and period (e.g. "cpu"/"nanoseconds", 10000000).
  std::string period_type;
  std::string period_unit;
  int64_t period = 0;
  // Limits for untrusted input.
  size_t max_line_bytes = size_t{1} << 20;
  size_t max_frames = 4096;
};

StatusOr<Profile> ParseFolded(std::string_view text, const FoldedOptions& options = {});
// The "lines" format: one stack per line, no value; each line counts 1.
StatusOr<Profile> ParseLines(std::string_view text, const FoldedOptions& options = {});

// Writes sample type `type_index` as folded stacks: equal stacks merged,
// zero-valued stacks left out, lines sorted bytewise.
std::string WriteFolded(const Profile& profile, int type_index);

}  // namespace stackhouse::profile

#endif  // STACKHOUSE_PROFILE_FOLDED_H_
