#include "profile/gperftools.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "base/strings.h"
#include "profile/builder.h"

namespace stackhouse::profile {
namespace {

constexpr size_t kHeaderWords = 5;
constexpr char kProfilerFrames[] =
    "ProfileData::Add|ProfileData::prof_handler|CpuProfiler::prof_handler|"
    "__pthread_sighandler|__restore";

struct WordFormat {
  size_t width;  // bytes per word: 4 or 8
  bool big_endian;
};

// The order `go tool pprof` tries them in. The header 0, 3, 0, period, 0
// matches only one of them: read with the wrong width or byte order, the
// word 3 lands elsewhere.
constexpr WordFormat kFormats[] = {{4, false}, {4, true}, {8, false}, {8, true}};

uint64_t ReadWord(std::string_view data, size_t offset, WordFormat f) {
  uint64_t v = 0;
  for (size_t i = 0; i < f.width; ++i) {
    size_t at = offset + (f.big_endian ? i : f.width - 1 - i);
    v = (v << 8) | static_cast<uint8_t>(data[at]);
  }
  return v;
}

struct Header {
  WordFormat format;
  uint64_t version;  // 0: C++; 1: Java (not supported)
  uint64_t period_us;
};

std::optional<Header> DetectHeader(std::string_view data) {
  for (const WordFormat& f : kFormats) {
    if (data.size() < kHeaderWords * f.width) continue;
    uint64_t w[kHeaderWords];
    for (size_t i = 0; i < kHeaderWords; ++i) w[i] = ReadWord(data, i * f.width, f);
    if (w[0] == 0 && w[1] == 3 && w[4] == 0 && (w[2] == 0 || w[2] == 1)) {
      return Header{f, w[2], w[3]};
    }
  }
  return std::nullopt;
}

// True if `data` is too short for a header but begins like one (0, 3, 0 in
// some word format), so that the error can say "truncated".
bool IsTruncatedHeader(std::string_view data) {
  for (const WordFormat& f : kFormats) {
    if (data.size() >= kHeaderWords * f.width) continue;
    bool prefix = true;
    for (size_t i = 0; i < data.size() && i < 3 * f.width && prefix; ++i) {
      size_t word = i / f.width, byte = i % f.width;
      size_t low_byte = f.big_endian ? f.width - 1 : 0;
      uint8_t want = (word == 1 && byte == low_byte) ? 3 : 0;
      prefix = static_cast<uint8_t>(data[i]) == want;
    }
    if (prefix) return true;
  }
  return false;
}

template <typename... Args>
Status OffsetError(size_t offset, const Args&... args) {
  return InvalidArgumentError(StrCat("gperftools CPU profile: offset ", offset, ": ", args...));
}

struct MapRange {
  uint64_t start;
  uint64_t limit;
  uint32_t mapping;  // 1-based builder mapping index
};

// Splits off the next run of non-space characters of *s.
std::string_view NextField(std::string_view* s) {
  size_t b = s->find_first_not_of(" \t");
  if (b == std::string_view::npos) {
    *s = {};
    return {};
  }
  size_t e = s->find_first_of(" \t", b);
  if (e == std::string_view::npos) e = s->size();
  std::string_view field = s->substr(b, e - b);
  s->remove_prefix(e);
  return field;
}

bool IsHex(std::string_view s) {
  return !s.empty() && s.size() <= 16 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c));
  });
}

// Parses one /proc/self/maps line "start-end perms offset dev inode [path]".
// Returns false if the line has another shape.
bool ParseMapsLine(std::string_view line, uint64_t* start, uint64_t* limit, std::string_view* perms,
                   uint64_t* offset, std::string_view* path) {
  std::string_view rest = line;
  std::string_view range = NextField(&rest);
  *perms = NextField(&rest);
  std::string_view off = NextField(&rest);
  std::string_view dev = NextField(&rest);
  std::string_view inode = NextField(&rest);
  *path = TrimSpace(rest);
  size_t dash = range.find('-');
  size_t colon = dev.find(':');
  if (dash == std::string_view::npos || colon == std::string_view::npos || perms->empty() ||
      !IsHex(range.substr(0, dash)) || !IsHex(range.substr(dash + 1)) || !IsHex(off) ||
      !IsHex(dev.substr(0, colon)) || !IsHex(dev.substr(colon + 1)) || !ParseUint64(inode)) {
    return false;
  }
  *start = *ParseUint64(range.substr(0, dash), 16);
  *limit = *ParseUint64(range.substr(dash + 1), 16);
  *offset = *ParseUint64(off, 16);
  return true;
}

// Adds a mapping for every executable line of the maps text that starts at
// byte `base` of the file, and returns their ranges sorted by start.
StatusOr<std::vector<MapRange>> ParseMaps(std::string_view text, size_t base, ProfileBuilder* b) {
  std::vector<MapRange> ranges;
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = TrimRight(text.substr(pos, nl - pos));
    size_t line_offset = base + pos;
    pos = nl + 1;
    ++line_no;
    if (TrimSpace(line).empty()) continue;
    uint64_t start = 0, limit = 0, offset = 0;
    std::string_view perms, path;
    if (!ParseMapsLine(line, &start, &limit, &perms, &offset, &path)) {
      return OffsetError(line_offset, "maps line ", line_no,
                         ": want \"start-end perms offset dev inode [path]\": ", Quote(line));
    }
    if (start >= limit) {
      return OffsetError(line_offset, "maps line ", line_no,
                         ": empty address range: ", Quote(line));
    }
    if (perms.find('x') == std::string_view::npos) continue;
    Mapping m;
    m.memory_start = start;
    m.memory_limit = limit;
    m.file_offset = offset;
    m.filename = b->String(path);
    ranges.push_back({start, limit, b->Mapping(m)});
  }
  std::stable_sort(ranges.begin(), ranges.end(),
                   [](const MapRange& x, const MapRange& y) { return x.start < y.start; });
  return ranges;
}

// The 1-based mapping containing `address`, or 0.
uint32_t FindMapping(const std::vector<MapRange>& ranges, uint64_t address) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), address,
                             [](uint64_t a, const MapRange& r) { return a < r.start; });
  if (it == ranges.begin()) return 0;
  --it;
  return address < it->limit ? it->mapping : 0;
}

}  // namespace

bool LooksLikeGperftoolsCpu(std::string_view data) { return DetectHeader(data).has_value(); }

StatusOr<Profile> ParseGperftoolsCpu(std::string_view data) {
  std::optional<Header> header = DetectHeader(data);
  if (!header) {
    if (IsTruncatedHeader(data)) {
      return OffsetError(data.size(), "truncated header: the data ends after ", data.size(),
                         " bytes, inside the 5-word header");
    }
    return OffsetError(0, "bad header: want the words 0, 3, 0, period, 0 (32- or 64-bit)");
  }
  const WordFormat f = header->format;
  const size_t w = f.width;
  auto word = [&](size_t offset) { return ReadWord(data, offset, f); };
  if (header->version != 0) {
    return OffsetError(2 * w, "unsupported header version ", header->version,
                       " (1 is a Java profile)");
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (header->period_us == 0) return OffsetError(3 * w, "bad header: sampling period is 0");
  if (header->period_us > static_cast<uint64_t>(kMax / 1000)) {
    return OffsetError(3 * w, "bad header: sampling period of ", header->period_us,
                       " us is too large");
  }
  const int64_t period_ns = static_cast<int64_t>(header->period_us) * 1000;

  // Pass 1: check the record structure and find the trailer, without
  // allocating; the maps text after it is needed before building locations.
  const size_t records_begin = kHeaderWords * w;
  size_t pos = records_begin;
  size_t records = 0;
  int64_t total_count = 0;
  for (;;) {
    if (data.size() - pos < 2 * w) {
      return OffsetError(pos, "missing trailer (0, 1, 0): the data ends after ", records,
                         " records");
    }
    uint64_t count = word(pos);
    uint64_t depth = word(pos + w);
    if (depth > kGperftoolsMaxDepth) {
      return OffsetError(pos + w, "record depth ", depth, " exceeds the limit of ",
                         kGperftoolsMaxDepth);
    }
    if (data.size() - pos - 2 * w < depth * w) {
      return OffsetError(pos, "record of depth ", depth, " runs past the end of the data at ",
                         data.size());
    }
    size_t next = pos + (2 + depth) * w;
    if (count == 0 && depth == 1 && word(pos + 2 * w) == 0) {
      pos = next;
      break;
    }
    // total_count * period_ns (the cpu total) must fit; merged values are
    // bounded by the totals.
    if (count > static_cast<uint64_t>(kMax / period_ns - total_count)) {
      return OffsetError(pos, "sample count ", count, " makes the total overflow");
    }
    total_count += static_cast<int64_t>(count);
    ++records;
    pos = next;
  }

  ProfileBuilder b;
  Profile& p = b.profile();
  p.sample_types.push_back({b.String("samples"), b.String("count")});
  p.sample_types.push_back({b.String("cpu"), b.String("nanoseconds")});
  p.period_type = {b.String("cpu"), b.String("nanoseconds")};
  p.period = period_ns;
  // As `go tool pprof` does: frames of libprofiler's signal handler, for
  // tools that apply drop_frames once the profile is symbolized.
  p.drop_frames = b.String(kProfilerFrames);
  SH_ASSIGN_OR_RETURN(std::vector<MapRange> ranges, ParseMaps(data.substr(pos), pos, &b));

  // Pass 2: build the samples.
  std::vector<uint32_t> stack;
  for (size_t at = records_begin; records > 0; --records) {
    const int64_t count = static_cast<int64_t>(word(at));
    const size_t depth = static_cast<size_t>(word(at + w));
    stack.clear();
    for (size_t i = 0; i < depth; ++i) {
      uint64_t pc = word(at + (2 + i) * w);
      // The unwinder may repeat the signal context's pc as pc[1].
      if (i == 1 && pc == word(at + 2 * w)) continue;
      // Callers' pcs are return addresses: step back into the call.
      uint64_t address = i == 0 ? pc : pc - 1;
      stack.push_back(b.Location(FindMapping(ranges, address), address, {}));
    }
    const int64_t values[2] = {count, count * period_ns};
    b.AddSample(stack, values);
    at += (2 + depth) * w;
  }
  return b.Finish();
}

}  // namespace stackhouse::profile
