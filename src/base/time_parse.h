// Parsing of the time formats users and Pyroscope clients send: "now",
// "now-1h" (s, m, h, d, w units), unix timestamps in seconds, milliseconds,
// microseconds or nanoseconds (chosen by the number of digits, as Pyroscope's
// attime does), "YYYYMMDD", and RFC 3339 ("2024-01-02T15:04:05Z", with an
// optional fraction and numeric offset). Thread-safe.
#ifndef STACKHOUSE_BASE_TIME_PARSE_H_
#define STACKHOUSE_BASE_TIME_PARSE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace stackhouse {

// Returns nanoseconds since the epoch. `now_nanos` anchors relative times.
StatusOr<int64_t> ParseTime(std::string_view text, int64_t now_nanos);

// Parses a duration such as "10s", "1h30m", "250ms", "7d" into nanoseconds.
StatusOr<int64_t> ParseDuration(std::string_view text);

// The current wall-clock time in nanoseconds.
int64_t NowNanos();

// "2026-11-26T15:04:05.123Z" (UTC, milliseconds).
std::string FormatRfc3339(int64_t unix_nanos);

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_TIME_PARSE_H_
