// Demangling: Itanium C++ names through libstdc++'s abi::__cxa_demangle, and
// legacy Rust names ("_ZN" + length-prefixed parts + "17h<16 hex>E") by hand
// so that the hash is dropped and the $..$ escapes are decoded.
#include <cxxabi.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "symbolize/symbolizer.h"

namespace stackhouse::symbolize {
namespace {

// Longer names are returned as they are (bounds the demangler's work).
constexpr size_t kMaxMangledSize = 64 * 1024;

bool IsHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Decodes one legacy Rust path component ("$LT$", "$u7b$", ".." ...) into
// `out`; false when it uses an escape Rust does not produce.
bool AppendRustComponent(std::string_view part, std::string* out) {
  if (part.size() >= 2 && part[0] == '_' && part[1] == '$') part.remove_prefix(1);
  while (!part.empty()) {
    if (part[0] == '$') {
      size_t close = part.find('$', 1);
      if (close == std::string_view::npos) return false;
      std::string_view code = part.substr(1, close - 1);
      part.remove_prefix(close + 1);
      if (code == "SP") {
        out->push_back('@');
      } else if (code == "BP") {
        out->push_back('*');
      } else if (code == "RF") {
        out->push_back('&');
      } else if (code == "LT") {
        out->push_back('<');
      } else if (code == "GT") {
        out->push_back('>');
      } else if (code == "LP") {
        out->push_back('(');
      } else if (code == "RP") {
        out->push_back(')');
      } else if (code == "C") {
        out->push_back(',');
      } else if (code.size() >= 2 && code.size() <= 7 && code[0] == 'u') {
        uint32_t cp = 0;
        for (char c : code.substr(1)) {
          if (!IsHexDigit(c)) return false;
          cp = cp * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        AppendUtf8(cp, out);
      } else {
        return false;
      }
    } else if (part.size() >= 2 && part[0] == '.' && part[1] == '.') {
      out->append("::");
      part.remove_prefix(2);
    } else {
      out->push_back(part[0]);
      part.remove_prefix(1);
    }
  }
  return true;
}

// "_ZN4core3fmt5write17h0123456789abcdefE[.suffix]" -> "core::fmt::write".
std::optional<std::string> DemangleRustLegacy(std::string_view s) {
  if (s.size() < 4 || s.substr(0, 3) != "_ZN") return std::nullopt;
  std::vector<std::string_view> parts;
  size_t i = 3;
  while (i < s.size() && s[i] != 'E') {
    size_t len = 0;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 10) {
      len = len * 10 + static_cast<size_t>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || len == 0 || len > s.size() - i) return std::nullopt;
    parts.push_back(s.substr(i, len));
    i += len;
  }
  if (i >= s.size() || parts.size() < 2) return std::nullopt;
  std::string_view rest = s.substr(i + 1);  // after 'E': nothing or a ".llvm.123"-like suffix
  if (!rest.empty() && rest[0] != '.') return std::nullopt;
  std::string_view hash = parts.back();
  if (hash.size() != 17 || hash[0] != 'h') return std::nullopt;
  for (char c : hash.substr(1)) {
    if (!IsHexDigit(c)) return std::nullopt;
  }
  parts.pop_back();
  std::string out;
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k > 0) out.append("::");
    if (!AppendRustComponent(parts[k], &out)) return std::nullopt;
  }
  return out;
}

}  // namespace

std::string Demangle(std::string_view mangled) {
  if (mangled.size() < 3 || mangled.size() > kMaxMangledSize || mangled[0] != '_' ||
      mangled[1] != 'Z') {
    return std::string(mangled);
  }
  if (auto rust = DemangleRustLegacy(mangled)) return *std::move(rust);
  std::string input(mangled);  // NUL-terminated for the demangler
  int status = 0;
  char* out = abi::__cxa_demangle(input.c_str(), nullptr, nullptr, &status);
  if (out == nullptr) return input;
  std::string result = status == 0 ? std::string(out) : input;
  std::free(out);
  return result;
}

}  // namespace stackhouse::symbolize
