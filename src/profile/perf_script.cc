#include "profile/perf_script.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/strings.h"
#include "profile/builder.h"

namespace stackhouse::profile {
namespace {

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsHex(std::string_view s) {
  return !s.empty() && s.size() <= 16 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
}

// "923.496127:" (seconds, optionally with a fraction).
bool IsTime(std::string_view t) {
  if (t.size() < 2 || t.back() != ':') return false;
  t.remove_suffix(1);
  size_t dot = t.find('.');
  if (dot == std::string_view::npos) return IsDigits(t);
  return IsDigits(t.substr(0, dot)) && IsDigits(t.substr(dot + 1));
}

// "[003]".
bool IsCpu(std::string_view t) {
  return t.size() >= 3 && t.front() == '[' && t.back() == ']' &&
         IsDigits(t.substr(1, t.size() - 2));
}

bool ParseId(std::string_view s, int64_t* out) {
  std::string_view digits = !s.empty() && s[0] == '-' ? s.substr(1) : s;
  if (!IsDigits(digits)) return false;
  auto v = ParseInt64(s);
  if (!v) return false;
  *out = *v;
  return true;
}

// "tid" or "pid/tid".
bool ParsePidTid(std::string_view t, std::optional<int64_t>* pid, int64_t* tid) {
  size_t slash = t.find('/');
  if (slash == std::string_view::npos) {
    pid->reset();
    return ParseId(t, tid);
  }
  int64_t p = 0;
  if (!ParseId(t.substr(0, slash), &p) || !ParseId(t.substr(slash + 1), tid)) return false;
  *pid = p;
  return true;
}

// The next whitespace-separated token of `s` at or after *pos.
std::optional<std::string_view> NextToken(std::string_view s, size_t* pos) {
  size_t b = s.find_first_not_of(" \t", *pos);
  if (b == std::string_view::npos) return std::nullopt;
  size_t e = s.find_first_of(" \t", b);
  if (e == std::string_view::npos) e = s.size();
  *pos = e;
  return s.substr(b, e - b);
}

// Offset of token `t` (a substring of s) in s.
size_t OffsetIn(std::string_view s, std::string_view t) {
  return static_cast<size_t>(t.data() - s.data());
}

struct Header {
  std::string_view comm;
  std::optional<int64_t> pid;
  int64_t tid = 0;
  std::optional<int64_t> period;
  std::string_view event;  // as printed, without the final ':'
  std::string_view rest;   // after the event: a frame, in output without call chains
};

// Parses "comm pid[/tid] [cpu] time: [period] event:". On failure sets
// *why and returns false.
bool ParseHeader(std::string_view line, Header* h, std::string* why) {
  line = TrimSpace(line);
  // Find the time token; the comm (which may contain spaces) is everything
  // before the pid[/tid] and optional [cpu] tokens in front of it.
  std::string_view prev1, prev2;
  size_t ntok = 0, pos = 0;
  std::optional<std::string_view> pid_token;
  while (auto t = NextToken(line, &pos)) {
    ++ntok;
    if (IsTime(*t)) {
      if (ntok >= 3 && ParsePidTid(prev1, &h->pid, &h->tid)) {
        pid_token = prev1;
      } else if (ntok >= 4 && IsCpu(prev1) && ParsePidTid(prev2, &h->pid, &h->tid)) {
        pid_token = prev2;
      }
      if (pid_token) break;
    }
    prev2 = prev1;
    prev1 = *t;
  }
  if (!pid_token) {
    *why = "want a sample header \"comm pid[/tid] [cpu] time: [period] event:\"";
    return false;
  }
  h->comm = TrimSpace(line.substr(0, OffsetIn(line, *pid_token)));
  auto t1 = NextToken(line, &pos);
  if (t1 && IsDigits(*t1)) {
    auto period = ParseInt64(*t1);
    if (!period) {
      *why = StrCat("period ", *t1, " is out of range");
      return false;
    }
    h->period = *period;
    t1 = NextToken(line, &pos);
  } else {
    h->period.reset();
  }
  if (!t1 || t1->size() < 2 || t1->back() != ':') {
    *why = "want \"[period] event:\" after the time";
    return false;
  }
  h->event = t1->substr(0, t1->size() - 1);
  h->rest = TrimSpace(line.substr(pos));
  return true;
}

// The event name without perf's modifiers: "cpu-clock:ppp" -> "cpu-clock",
// "cycles:u" -> "cycles"; "sched:sched_switch" stays.
std::string_view EventName(std::string_view event) {
  size_t colon = event.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return event;
  std::string_view mods = event.substr(colon + 1);
  bool all_mods = std::all_of(mods.begin(), mods.end(), [](char c) {
    return std::string_view("ukhIGHpPSDWeb").find(c) != std::string_view::npos;
  });
  return all_mods ? event.substr(0, colon) : event;
}

struct Frame {
  uint64_t address = 0;
  std::string_view sym;  // "+0x..." stripped; may be empty or "[unknown]"
  std::string_view dso;
};

// Parses "<hex addr> <sym>[+0x<off>] (<dso>)"; the dso may itself hold
// parentheses ("(/lib/x.so (deleted))") and so may the symbol.
bool ParseFrame(std::string_view s, Frame* f, std::string* why) {
  s = TrimSpace(s);
  size_t pos = 0;
  std::string_view addr = NextToken(s, &pos).value_or(std::string_view());
  if (!IsHex(addr)) {
    *why = "want a frame \"<hex address> <symbol> (<dso>)\"";
    return false;
  }
  f->address = *ParseUint64(addr, 16);
  std::string_view rest = TrimSpace(s.substr(pos));
  if (rest.empty() || rest.back() != ')') {
    *why = "frame does not end with \"(<dso>)\"";
    return false;
  }
  size_t open = std::string_view::npos;
  int depth = 0;
  for (size_t i = rest.size(); i-- > 0;) {
    if (rest[i] == ')') ++depth;
    if (rest[i] == '(' && --depth == 0) {
      open = i;
      break;
    }
  }
  if (open == std::string_view::npos) {
    *why = "unbalanced parentheses around the dso";
    return false;
  }
  f->dso = rest.substr(open + 1, rest.size() - open - 2);
  std::string_view sym = TrimSpace(rest.substr(0, open));
  size_t plus = sym.rfind("+0x");
  if (plus != std::string_view::npos && IsHex(sym.substr(plus + 3))) sym = sym.substr(0, plus);
  f->sym = sym;
  return true;
}

Status LineError(size_t line_no, std::string_view what, std::string_view line) {
  return InvalidArgumentError(StrCat("perf script: line ", line_no, ": ", what, ": ", Quote(line)));
}

class PerfScriptParser {
 public:
  explicit PerfScriptParser(const PerfScriptOptions& options) : opt_(options) {}

  StatusOr<Profile> Run(std::string_view text) {
    size_t line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      std::string_view raw = text.substr(pos, nl - pos);
      pos = nl + 1;
      ++line_no;
      if (raw.size() > opt_.max_line_bytes) {
        return LineError(line_no, StrCat("longer than ", opt_.max_line_bytes, " bytes"), raw);
      }
      SH_RETURN_IF_ERROR(HandleLine(line_no, TrimRight(raw)));
    }
    SH_RETURN_IF_ERROR(FinishSample());
    return Finish();
  }

 private:
  Status HandleLine(size_t line_no, std::string_view line) {
    if (line.empty()) return FinishSample();
    if (line[0] == '\t') {
      if (!in_sample_) return LineError(line_no, "frame line before any sample header", line);
      return AddFrame(line_no, line, line);
    }
    if (line[0] == '#') return OkStatus();  // perf script --header comments
    SH_RETURN_IF_ERROR(FinishSample());
    std::string why;
    if (!ParseHeader(line, &header_, &why)) return LineError(line_no, why, line);
    SH_RETURN_IF_ERROR(CheckEvent(line_no, line));
    in_sample_ = true;
    header_line_no_ = line_no;
    header_line_ = line;
    stack_.clear();
    // Without a call chain perf prints the sample's one frame after the event.
    if (!header_.rest.empty()) return AddFrame(line_no, header_.rest, line);
    return OkStatus();
  }

  // The first event decides the sample types; all samples must share it.
  Status CheckEvent(size_t line_no, std::string_view line) {
    if (!event_.empty()) {
      if (header_.event == event_) return OkStatus();
      return LineError(line_no,
                       StrCat("event ", Quote(header_.event), " differs from the first sample's ",
                              Quote(event_), "; samples of several events are not supported"),
                       line);
    }
    event_.assign(header_.event);
    std::string_view name = EventName(event_);
    SetTypes(name == "cpu-clock" || name == "task-clock");
    Profile& p = b_.profile();
    p.comments.push_back(b_.String(StrCat("perf event: ", event_)));
    return OkStatus();
  }

  void SetTypes(bool cpu) {
    Profile& p = b_.profile();
    p.sample_types.push_back({b_.String("samples"), b_.String("count")});
    ValueType second = cpu ? ValueType{b_.String("cpu"), b_.String("nanoseconds")}
                           : ValueType{b_.String("events"), b_.String("count")};
    p.sample_types.push_back(second);
    p.period_type = second;
  }

  Status AddFrame(size_t line_no, std::string_view text, std::string_view line) {
    if (stack_.size() >= opt_.max_frames) {
      return LineError(line_no, StrCat("sample has more than ", opt_.max_frames, " frames"), line);
    }
    Frame f;
    std::string why;
    if (!ParseFrame(text, &f, &why)) return LineError(line_no, why, line);
    uint32_t mapping = 0;
    if (!f.dso.empty() && f.dso != "[unknown]") {
      Mapping m;
      m.filename = b_.String(f.dso);
      mapping = b_.Mapping(m);
    }
    if (f.sym.empty() || f.sym == "[unknown]") {
      stack_.push_back(b_.Location(mapping, f.address, {}));
    } else {
      Line l;
      l.function = b_.Function(f.sym);
      stack_.push_back(b_.Location(mapping, f.address, std::span<const Line>(&l, 1)));
    }
    return OkStatus();
  }

  Status FinishSample() {
    if (!in_sample_) return OkStatus();
    in_sample_ = false;
    if (stack_.empty()) {
      return LineError(header_line_no_, "sample has no frames (truncated input?)", header_line_);
    }
    const int64_t period = header_.period.value_or(1);
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    if (period > kMax - total_period_) {
      return LineError(header_line_no_, "the total of the periods overflows", header_line_);
    }
    total_period_ += period;
    ++period_counts_[period];
    if (opt_.comm_as_root) stack_.push_back(b_.FrameLocation(header_.comm));
    labels_.clear();
    Label comm;
    comm.key = b_.String("comm");
    comm.str = b_.String(header_.comm);
    labels_.push_back(comm);
    if (header_.pid) {
      Label pid;
      pid.key = b_.String("pid");
      pid.num = *header_.pid;
      labels_.push_back(pid);
    }
    Label tid;
    tid.key = b_.String("tid");
    tid.num = header_.tid;
    labels_.push_back(tid);
    const int64_t values[2] = {1, period};
    b_.AddSample(stack_, values, labels_);
    return OkStatus();
  }

  Profile Finish() {
    Profile& p = b_.profile();
    if (p.sample_types.empty()) SetTypes(false);
    // The most common period; ties go to the smaller one.
    int64_t best = 0;
    size_t best_count = 0;
    for (const auto& [period, count] : period_counts_) {
      if (count > best_count || (count == best_count && period < best)) {
        best = period;
        best_count = count;
      }
    }
    p.period = best;
    return b_.Finish();
  }

  const PerfScriptOptions& opt_;
  ProfileBuilder b_;
  std::string event_;
  bool in_sample_ = false;
  Header header_;
  size_t header_line_no_ = 0;
  std::string_view header_line_;
  std::vector<uint32_t> stack_;
  std::vector<Label> labels_;
  int64_t total_period_ = 0;
  std::unordered_map<int64_t, size_t> period_counts_;
};

}  // namespace

bool LooksLikePerfScript(std::string_view text) {
  text = text.substr(0, std::min<size_t>(text.size(), 1 << 16));
  size_t pos = 0;
  bool have_header = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = TrimRight(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (!have_header) {
      if (line.empty() || line[0] == '#') continue;
      Header h;
      std::string why;
      if (line[0] == '\t' || !ParseHeader(line, &h, &why) || !h.rest.empty()) return false;
      have_header = true;
      continue;
    }
    Frame f;
    std::string why;
    return !line.empty() && line[0] == '\t' && ParseFrame(line, &f, &why);
  }
  return false;
}

StatusOr<Profile> ParsePerfScript(std::string_view text, const PerfScriptOptions& options) {
  return PerfScriptParser(options).Run(text);
}

}  // namespace stackhouse::profile
