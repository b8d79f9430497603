#include "base/time_parse.h"

#include <cstdio>

#include <chrono>
#include <ctime>

#include "base/strings.h"

namespace stackhouse {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<int64_t> ParseDuration(std::string_view text) {
  std::string_view s = TrimSpace(text);
  if (s.empty()) return InvalidArgumentError("empty duration");
  __int128 total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    auto num = ParseDouble(s.substr(start, i - start));
    size_t ustart = i;
    while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == 'u')) ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    double mult;
    if (unit == "ns") mult = 1;
    else if (unit == "us") mult = 1e3;
    else if (unit == "ms") mult = 1e6;
    else if (unit == "s") mult = 1e9;
    else if (unit == "m") mult = 60e9;
    else if (unit == "h") mult = 3600e9;
    else if (unit == "d") mult = 86400e9;
    else if (unit == "w") mult = 7 * 86400e9;
    else if (unit == "y") mult = 365 * 86400e9;
    else mult = -1;
    if (!num || mult < 0 || *num < 0) {
      return InvalidArgumentError(StrCat("bad duration ", Quote(text),
                                         ": expected numbers with units ns, us, ms, s, m, h, d, w"));
    }
    total += static_cast<__int128>(*num * mult);
    if (total > INT64_MAX) return InvalidArgumentError(StrCat("duration ", Quote(text), " too large"));
  }
  return static_cast<int64_t>(total);
}

namespace {

// Days since the epoch of a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

StatusOr<int64_t> ParseTime(std::string_view text, int64_t now_nanos) {
  std::string_view s = TrimSpace(text);
  auto bad = [&] {
    return InvalidArgumentError(StrCat(
        "bad time ", Quote(text),
        ": expected now, now-<duration>, unix seconds/ms/us/ns, YYYYMMDD or RFC 3339"));
  };
  if (s.empty()) return bad();
  if (s == "now") return now_nanos;
  if (s.starts_with("now-") || s.starts_with("now+")) {
    auto d = ParseDuration(s.substr(4));
    if (!d.ok()) return bad();
    return s[3] == '-' ? now_nanos - *d : now_nanos + *d;
  }
  bool all_digits = true;
  for (char c : s) all_digits &= c >= '0' && c <= '9';
  if (all_digits) {
    if (s.size() == 8) {  // YYYYMMDD
      int y = 0, m = 0, d = 0;
      Digits(s, 0, 4, &y);
      Digits(s, 4, 2, &m);
      Digits(s, 6, 2, &d);
      if (m < 1 || m > 12 || d < 1 || d > 31) return bad();
      return DaysFromCivil(y, m, d) * 86400 * int64_t{1000000000};
    }
    auto v = ParseInt64(s);
    if (!v) return bad();
    if (s.size() <= 10) return *v * 1000000000;      // seconds
    if (s.size() <= 13) return *v * 1000000;         // milliseconds
    if (s.size() <= 16) return *v * 1000;            // microseconds
    return *v;                                       // nanoseconds
  }
  // RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  int y, mo, d, h, mi, se;
  if (!Digits(s, 0, 4, &y) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &se)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return bad();
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) frac += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || !Digits(s, pos + 4, 2, &om)) return bad();
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
  return secs * 1000000000 + frac;
}

std::string FormatRfc3339(int64_t unix_nanos) {
  std::time_t t = static_cast<std::time_t>(unix_nanos / 1000000000);
  int ms = static_cast<int>((unix_nanos / 1000000) % 1000);
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

}  // namespace stackhouse
