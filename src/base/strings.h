// Small string helpers shared by every module: concatenation, splitting,
// trimming, strict number parsing and quoting of untrusted text for error
// messages. All functions are pure and thread-safe.
#ifndef STACKHOUSE_BASE_STRINGS_H_
#define STACKHOUSE_BASE_STRINGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/status.h"

namespace stackhouse {

namespace internal {
inline void AppendPiece(std::string* out, std::string_view s) { out->append(s); }
inline void AppendPiece(std::string* out, const char* s) { out->append(s); }
inline void AppendPiece(std::string* out, const std::string& s) { out->append(s); }
inline void AppendPiece(std::string* out, char c) { out->push_back(c); }
void AppendPiece(std::string* out, double v);
template <typename T>
  requires std::is_integral_v<T>
void AppendPiece(std::string* out, T v) {
  out->append(std::to_string(v));
}
}  // namespace internal

// StrCat("offset ", 12, ": ", msg) -> "offset 12: ...".
template <typename... Args>
std::string StrCat(const Args&... args) {
  std::string out;
  (internal::AppendPiece(&out, args), ...);
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep);
std::string_view TrimSpace(std::string_view s);
// Trims trailing ' ', '\t', '\r' only.
std::string_view TrimRight(std::string_view s);

// Strict parsers: the whole input must be a number, no spaces, no overflow.
std::optional<int64_t> ParseInt64(std::string_view s);
std::optional<uint64_t> ParseUint64(std::string_view s, int base = 10);
std::optional<double> ParseDouble(std::string_view s);

// Quotes untrusted text for an error message: at most `max` bytes, with
// non-printable bytes escaped as \xNN.
std::string Quote(std::string_view s, size_t max = 60);

// Escapes `s` for inclusion in a JSON string (without the quotes), replacing
// invalid UTF-8 with U+FFFD, and appends it to out.
void AppendJsonEscaped(std::string* out, std::string_view s);
// Escapes `s` for XML/HTML text and attribute values.
void AppendXmlEscaped(std::string* out, std::string_view s);

// Human-readable value with a unit: "1.50 s", "3.2 MiB", "1,234".
std::string FormatValue(int64_t value, std::string_view unit);

// Lower-case hex of bytes, and back (nullopt for odd lengths or non-hex).
std::string HexEncode(std::string_view bytes);
std::optional<std::string> HexDecode(std::string_view hex);

// ASCII lower case.
std::string AsciiLower(std::string_view s);

// Standard base64 (RFC 4648, with padding). Decoding accepts missing
// padding and the URL-safe alphabet; other input is kInvalidArgument.
std::string Base64Encode(std::string_view bytes);
StatusOr<std::string> Base64Decode(std::string_view text);

}  // namespace stackhouse

#endif  // STACKHOUSE_BASE_STRINGS_H_
