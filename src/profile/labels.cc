#include "profile/labels.h"

#include <re2/re2.h>

#include <algorithm>
#include <cstdio>

#include "base/hash.h"
#include "base/strings.h"

namespace stackhouse::profile {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameStart(char c) { return IsAlpha(c) || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || IsDigit(c) || c == '.'; }
bool IsProfileTypeChar(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '_' || c == '.' || c == ':' || c == '-';
}
bool IsAppNameChar(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '.' || c == '/' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsQuote(char c) { return c == '"' || c == '\'' || c == '`'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Label names print bare when they are identifiers, quoted otherwise.
void AppendLabelName(std::string* out, std::string_view name) {
  if (IsValidLabelName(name, SIZE_MAX)) {
    out->append(name);
  } else {
    out->append(QuoteLabelValue(name));
  }
}

std::vector<LabelPair>::const_iterator FindName(const std::vector<LabelPair>& pairs,
                                                std::string_view name) {
  return std::lower_bound(pairs.begin(), pairs.end(), name,
                          [](const LabelPair& p, std::string_view n) { return p.name < n; });
}

// A position in untrusted text, with errors that name the byte offset.
class Cursor {
 public:
  Cursor(std::string_view text, std::string_view what) : text_(text), what_(what) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }
  size_t pos() const { return pos_; }
  void Advance(size_t n = 1) { pos_ += n; }
  bool StartsWith(std::string_view s) const { return text_.substr(pos_).starts_with(s); }
  std::string_view Slice(size_t from, size_t to) const { return text_.substr(from, to - from); }
  void SkipSpace() {
    while (!AtEnd() && IsSpace(Peek())) ++pos_;
  }

  Status Error(size_t offset, std::string_view msg) const {
    return InvalidArgumentError(StrCat(what_, ": offset ", offset, ": ", msg));
  }

  // Reads a "double", 'single' (Go/PromQL escapes) or `raw` string; the
  // cursor is on the opening quote.
  StatusOr<std::string> ReadQuoted() {
    size_t start = pos_;
    char quote = text_[pos_++];
    std::string out;
    if (quote == '`') {
      size_t end = text_.find('`', pos_);
      if (end == std::string_view::npos) return Error(start, "unterminated string");
      out.assign(text_.substr(pos_, end - pos_));
      pos_ = end + 1;
      return out;
    }
    while (true) {
      if (AtEnd()) return Error(start, "unterminated string");
      char c = text_[pos_];
      if (c == quote) {
        ++pos_;
        return out;
      }
      if (c == '\n') return Error(pos_, "newline in string");
      if (c != '\\') {
        out.push_back(c);
        ++pos_;
        continue;
      }
      size_t esc = pos_++;
      if (AtEnd()) return Error(start, "unterminated string");
      c = text_[pos_++];
      switch (c) {
        case 'a':
          out.push_back('\a');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'v':
          out.push_back('\v');
          break;
        case '\\':
        case '"':
        case '\'':
          out.push_back(c);
          break;
        case 'x': {
          uint32_t v;
          if (!ReadDigits(2, 16, &v)) return Error(esc, "invalid \\x escape");
          out.push_back(static_cast<char>(v));
          break;
        }
        case 'u':
        case 'U': {
          uint32_t cp;
          if (!ReadDigits(c == 'u' ? 4 : 8, 16, &cp)) {
            return Error(esc, StrCat("invalid \\", c, " escape"));
          }
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return Error(esc, "invalid Unicode code point");
          }
          AppendUtf8(&out, cp);
          break;
        }
        default: {
          if (c < '0' || c > '7') return Error(esc, "unknown escape sequence");
          --pos_;
          uint32_t v;
          if (!ReadDigits(3, 8, &v) || v > 255) return Error(esc, "invalid octal escape");
          out.push_back(static_cast<char>(v));
          break;
        }
      }
    }
  }

 private:
  bool ReadDigits(int n, int base, uint32_t* v) {
    *v = 0;
    for (int i = 0; i < n; ++i) {
      if (AtEnd()) return false;
      int d = HexValue(text_[pos_]);
      if (d < 0 || d >= base) return false;
      *v = *v * base + d;
      ++pos_;
    }
    return true;
  }

  std::string_view text_;
  std::string_view what_;
  size_t pos_ = 0;
};

constexpr std::string_view kTypeSuffixes[] = {
    "cpu",
    "itimer",
    "wall",
    "alloc_objects",
    "alloc_space",
    "inuse_objects",
    "inuse_space",
    "goroutines",
    "mutex_count",
    "mutex_duration",
    "block_count",
    "block_duration",
    "lock_count",
    "lock_duration",
    "alloc_in_new_tlab_objects",
    "alloc_in_new_tlab_bytes",
    "alloc_outside_tlab_objects",
    "alloc_outside_tlab_bytes",
    "live",
    "exceptions",
};

}  // namespace

// ---- LabelSet ---------------------------------------------------------------

StatusOr<LabelSet> LabelSet::FromPairs(std::vector<LabelPair> pairs) {
  for (const LabelPair& p : pairs) {
    if (p.name.empty()) return InvalidArgumentError("labels: empty label name");
  }
  std::erase_if(pairs, [](const LabelPair& p) { return p.value.empty(); });
  std::sort(pairs.begin(), pairs.end());
  size_t out = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (out > 0 && pairs[out - 1].name == pairs[i].name) {
      if (pairs[out - 1].value == pairs[i].value) continue;
      return InvalidArgumentError(StrCat("labels: label ", Quote(pairs[i].name),
                                         " has two values, ", Quote(pairs[out - 1].value), " and ",
                                         Quote(pairs[i].value)));
    }
    if (out != i) pairs[out] = std::move(pairs[i]);
    ++out;
  }
  pairs.resize(out);
  LabelSet set;
  set.pairs_ = std::move(pairs);
  return set;
}

std::string_view LabelSet::Get(std::string_view name) const {
  auto it = FindName(pairs_, name);
  if (it != pairs_.end() && it->name == name) return it->value;
  return {};
}

bool LabelSet::Has(std::string_view name) const {
  auto it = FindName(pairs_, name);
  return it != pairs_.end() && it->name == name;
}

LabelSet LabelSet::With(std::string_view name, std::string_view value) const {
  if (name.empty()) return *this;
  if (value.empty()) return Without(name);
  LabelSet out = *this;
  auto it = FindName(out.pairs_, name);
  if (it != out.pairs_.end() && it->name == name) {
    out.pairs_[it - out.pairs_.begin()].value = std::string(value);
  } else {
    out.pairs_.insert(out.pairs_.begin() + (it - out.pairs_.cbegin()),
                      LabelPair{std::string(name), std::string(value)});
  }
  return out;
}

LabelSet LabelSet::Without(std::string_view name) const {
  LabelSet out = *this;
  auto it = FindName(out.pairs_, name);
  if (it != out.pairs_.end() && it->name == name) out.pairs_.erase(it);
  return out;
}

uint64_t LabelSet::Hash() const {
  std::string buf;
  for (const LabelPair& p : pairs_) {
    AppendVarint(&buf, p.name.size());
    buf += p.name;
    AppendVarint(&buf, p.value.size());
    buf += p.value;
  }
  return HashString(buf);
}

std::string LabelSet::ToString() const {
  std::string out = "{";
  for (size_t i = 0; i < pairs_.size(); ++i) {
    if (i > 0) out += ", ";
    AppendLabelName(&out, pairs_[i].name);
    out += '=';
    out += QuoteLabelValue(pairs_[i].value);
  }
  out += '}';
  return out;
}

bool IsValidLabelName(std::string_view name, size_t max_length) {
  if (name.empty() || name.size() > max_length || !IsNameStart(name[0])) return false;
  return std::all_of(name.begin(), name.end(), IsNameChar);
}

std::string QuoteLabelValue(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out += '"';
  return out;
}

// ---- Matcher ----------------------------------------------------------------

std::string_view MatchOpString(MatchOp op) {
  switch (op) {
    case MatchOp::kEqual:
      return "=";
    case MatchOp::kNotEqual:
      return "!=";
    case MatchOp::kRegexMatch:
      return "=~";
    case MatchOp::kRegexNoMatch:
      return "!~";
  }
  return "?";
}

StatusOr<Matcher> Matcher::Create(std::string name, MatchOp op, std::string value) {
  if (name.empty()) return InvalidArgumentError("label matcher: empty label name");
  Matcher m;
  if (op == MatchOp::kRegexMatch || op == MatchOp::kRegexNoMatch) {
    if (value.size() > kMaxRegexLength) {
      return InvalidArgumentError(StrCat("label ", Quote(name), ": regex of ", value.size(),
                                         " bytes, the limit is ", kMaxRegexLength));
    }
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(kRegexMaxMem);
    options.set_dot_nl(true);  // '.' matches '\n', as in Prometheus 3
    options.set_never_capture(true);
    // Compiled as written and matched with both ends anchored (RE2::FullMatch),
    // which is ^(?:value)$ without letting "a)|(b" escape the group.
    auto re = std::make_shared<const re2::RE2>(value, options);
    if (!re->ok()) {
      return InvalidArgumentError(
          StrCat("label ", Quote(name), ": invalid regex ", Quote(value), ": ", re->error()));
    }
    m.re_ = std::move(re);
  }
  m.name_ = std::move(name);
  m.op_ = op;
  m.value_ = std::move(value);
  return m;
}

bool Matcher::Matches(std::string_view value) const {
  switch (op_) {
    case MatchOp::kEqual:
      return value == value_;
    case MatchOp::kNotEqual:
      return value != value_;
    case MatchOp::kRegexMatch:
      return re2::RE2::FullMatch(value, *re_);
    case MatchOp::kRegexNoMatch:
      return !re2::RE2::FullMatch(value, *re_);
  }
  return false;
}

std::string Matcher::ToString() const {
  std::string out;
  AppendLabelName(&out, name_);
  out += MatchOpString(op_);
  out += QuoteLabelValue(value_);
  return out;
}

bool MatchesAll(const std::vector<Matcher>& matchers, const LabelSet& labels) {
  return std::all_of(matchers.begin(), matchers.end(),
                     [&](const Matcher& m) { return m.Matches(labels); });
}

// ---- Selector ---------------------------------------------------------------

std::string Selector::ToString() const {
  std::string out = profile_type;
  if (matchers.empty() && !profile_type.empty()) return out;
  out += '{';
  for (size_t i = 0; i < matchers.size(); ++i) {
    if (i > 0) out += ", ";
    out += matchers[i].ToString();
  }
  out += '}';
  return out;
}

StatusOr<Selector> ParseSelector(std::string_view text) {
  Cursor cur(text, "selector");
  if (text.size() > kMaxSelectorLength) {
    return cur.Error(kMaxSelectorLength, StrCat("longer than ", kMaxSelectorLength, " bytes"));
  }
  Selector sel;
  cur.SkipSpace();
  if (cur.AtEnd()) return cur.Error(cur.pos(), "empty selector");
  size_t type_start = cur.pos();
  while (!cur.AtEnd() && IsProfileTypeChar(cur.Peek())) cur.Advance();
  sel.profile_type = std::string(cur.Slice(type_start, cur.pos()));
  cur.SkipSpace();
  if (cur.AtEnd()) return sel;
  if (cur.Peek() != '{') {
    return cur.Error(cur.pos(), sel.profile_type.empty() ? "expected a profile type or '{'"
                                                         : "expected '{' or the end");
  }
  cur.Advance();
  while (true) {
    cur.SkipSpace();
    if (!cur.AtEnd() && cur.Peek() == '}') {
      cur.Advance();
      break;
    }
    // A label name: an identifier or a quoted string.
    size_t name_start = cur.pos();
    std::string name;
    if (!cur.AtEnd() && IsQuote(cur.Peek())) {
      SH_ASSIGN_OR_RETURN(name, cur.ReadQuoted());
      if (name.empty()) return cur.Error(name_start, "empty label name");
    } else if (!cur.AtEnd() && IsNameStart(cur.Peek())) {
      while (!cur.AtEnd() && IsNameChar(cur.Peek())) cur.Advance();
      name = std::string(cur.Slice(name_start, cur.pos()));
    } else {
      return cur.Error(cur.pos(), "expected a label name or '}'");
    }
    if (name.size() > kMaxLabelNameLength) {
      return cur.Error(name_start,
                       StrCat("label name longer than ", kMaxLabelNameLength, " bytes"));
    }
    if (sel.matchers.size() == kMaxSelectorMatchers) {
      return cur.Error(name_start, StrCat("more than ", kMaxSelectorMatchers, " matchers"));
    }
    cur.SkipSpace();
    MatchOp op;
    if (cur.StartsWith("=~")) {
      op = MatchOp::kRegexMatch;
    } else if (cur.StartsWith("!~")) {
      op = MatchOp::kRegexNoMatch;
    } else if (cur.StartsWith("!=")) {
      op = MatchOp::kNotEqual;
    } else if (cur.StartsWith("=")) {
      op = MatchOp::kEqual;
    } else {
      return cur.Error(cur.pos(), "expected '=', '!=', '=~' or '!~'");
    }
    cur.Advance(MatchOpString(op).size());
    cur.SkipSpace();
    size_t value_start = cur.pos();
    if (cur.AtEnd() || !IsQuote(cur.Peek())) {
      return cur.Error(cur.pos(), "expected a quoted string");
    }
    SH_ASSIGN_OR_RETURN(std::string value, cur.ReadQuoted());
    auto m = Matcher::Create(std::move(name), op, std::move(value));
    if (!m.ok()) return cur.Error(value_start, m.status().message());
    sel.matchers.push_back(std::move(m).value());
    cur.SkipSpace();
    if (!cur.AtEnd() && cur.Peek() == ',') {
      cur.Advance();
      continue;
    }
    if (!cur.AtEnd() && cur.Peek() == '}') {
      cur.Advance();
      break;
    }
    return cur.Error(cur.pos(), "expected ',' or '}'");
  }
  cur.SkipSpace();
  if (!cur.AtEnd()) return cur.Error(cur.pos(), "unexpected text after '}'");
  return sel;
}

// ---- Ingest names -----------------------------------------------------------

StatusOr<IngestName> ParseIngestName(std::string_view text) {
  Cursor cur(text, "ingest name");
  if (text.size() > kMaxSelectorLength) {
    return cur.Error(kMaxSelectorLength, StrCat("longer than ", kMaxSelectorLength, " bytes"));
  }
  IngestName out;
  size_t brace = std::min(text.find('{'), text.size());
  size_t begin = 0, end = brace;
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  if (begin == end) return cur.Error(begin, "empty application name");
  for (size_t i = begin; i < end; ++i) {
    if (!IsAppNameChar(text[i])) {
      return cur.Error(
          i, StrCat("invalid character ", Quote(text.substr(i, 1)), " in the application name"));
    }
  }
  out.app_name = std::string(text.substr(begin, end - begin));
  if (brace == text.size()) return out;

  cur.Advance(brace + 1);
  while (true) {
    cur.SkipSpace();
    if (cur.AtEnd()) return cur.Error(cur.pos(), "missing '}'");
    if (cur.Peek() == '}') {
      cur.Advance();
      break;
    }
    size_t key_start = cur.pos();
    while (!cur.AtEnd() && cur.Peek() != '=' && cur.Peek() != ',' && cur.Peek() != '}') {
      cur.Advance();
    }
    std::string_view key = cur.Slice(key_start, cur.pos());
    while (!key.empty() && IsSpace(key.back())) key.remove_suffix(1);
    if (cur.AtEnd() || cur.Peek() != '=') return cur.Error(cur.pos(), "expected '='");
    if (!IsValidLabelName(key)) {
      return cur.Error(key_start, StrCat("invalid label name ", Quote(key)));
    }
    if (out.labels.size() == kMaxSelectorMatchers) {
      return cur.Error(key_start, StrCat("more than ", kMaxSelectorMatchers, " labels"));
    }
    cur.Advance();  // '='
    cur.SkipSpace();
    std::string value;
    if (!cur.AtEnd() && IsQuote(cur.Peek())) {
      SH_ASSIGN_OR_RETURN(value, cur.ReadQuoted());
      cur.SkipSpace();
    } else {
      size_t value_start = cur.pos();
      while (!cur.AtEnd() && cur.Peek() != ',' && cur.Peek() != '}') cur.Advance();
      std::string_view v = cur.Slice(value_start, cur.pos());
      while (!v.empty() && IsSpace(v.back())) v.remove_suffix(1);
      value = std::string(v);
    }
    if (cur.AtEnd()) return cur.Error(cur.pos(), "missing '}'");
    if (cur.Peek() != ',' && cur.Peek() != '}') return cur.Error(cur.pos(), "expected ',' or '}'");
    bool duplicate = false;
    for (const LabelPair& p : out.labels) {
      if (p.name != key) continue;
      if (p.value != value) {
        return cur.Error(key_start, StrCat("label ", Quote(key), " has two values, ",
                                           Quote(p.value), " and ", Quote(value)));
      }
      duplicate = true;
    }
    if (!duplicate) out.labels.push_back(LabelPair{std::string(key), std::move(value)});
    bool done = cur.Peek() == '}';
    cur.Advance();
    if (done) break;
  }
  cur.SkipSpace();
  if (!cur.AtEnd()) return cur.Error(cur.pos(), "unexpected text after '}'");
  return out;
}

std::pair<std::string, std::string> SplitAppType(std::string_view app_name) {
  size_t dot = app_name.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    std::string_view suffix = app_name.substr(dot + 1);
    for (std::string_view known : kTypeSuffixes) {
      if (suffix == known) return {std::string(app_name.substr(0, dot)), std::string(suffix)};
    }
  }
  return {std::string(app_name), ""};
}

}  // namespace stackhouse::profile
