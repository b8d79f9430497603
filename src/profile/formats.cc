#include "profile/formats.h"

#include "profile/jfr.h"

#include <algorithm>

#include "base/gzip.h"
#include "base/strings.h"
#include "profile/flame_tree.h"
#include "profile/flamebearer.h"
#include "profile/folded.h"
#include "profile/gperftools.h"
#include "profile/perf_script.h"
#include "profile/pprof.h"
#include "profile/speedscope.h"
#include "profile/svg.h"

namespace stackhouse::profile {

namespace {

struct FormatInfo {
  Format format;
  std::string_view name;
  bool read;
  bool write;
};

constexpr FormatInfo kFormats[] = {
    {Format::kPprof, "pprof", true, true},
    {Format::kGperftools, "gperftools", true, false},
    {Format::kFolded, "folded", true, true},
    {Format::kLines, "lines", true, false},
    {Format::kPerfScript, "perf-script", true, false},
    {Format::kSpeedscope, "speedscope", true, true},
    {Format::kFlamebearer, "flamebearer", false, true},
    {Format::kSvg, "svg", false, true},
    {Format::kJfr, "jfr", true, false},
};

const FormatInfo& Info(Format f) {
  for (const FormatInfo& i : kFormats) {
    if (i.format == f) return i;
  }
  return kFormats[0];
}

bool LooksLikeText(std::string_view data) {
  size_t n = std::min<size_t>(data.size(), 4096);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) return false;
  }
  return true;
}

}  // namespace

std::string_view FormatName(Format format) { return Info(format).name; }

std::optional<Format> ParseFormatName(std::string_view name) {
  for (const FormatInfo& i : kFormats) {
    if (i.name == name) return i.format;
  }
  if (name == "proto" || name == "pb") return Format::kPprof;
  if (name == "collapsed" || name == "groups") return Format::kFolded;
  if (name == "perf" || name == "perf_script") return Format::kPerfScript;
  if (name == "legacy" || name == "gperftools-cpu") return Format::kGperftools;
  if (name == "json") return Format::kFlamebearer;
  return std::nullopt;
}

std::optional<Format> FormatFromFileName(std::string_view path) {
  auto ends = [&](std::string_view s) { return path.ends_with(s); };
  if (ends(".pb.gz") || ends(".pb") || ends(".pprof") || ends(".prof.gz")) return Format::kPprof;
  if (ends(".svg")) return Format::kSvg;
  if (ends(".jfr")) return Format::kJfr;
  if (ends(".speedscope.json")) return Format::kSpeedscope;
  if (ends(".flamebearer.json") || ends(".json")) return Format::kFlamebearer;
  if (ends(".folded") || ends(".collapsed") || ends(".folded.txt")) return Format::kFolded;
  return std::nullopt;
}

bool CanRead(Format format) { return Info(format).read; }
bool CanWrite(Format format) { return Info(format).write; }

StatusOr<Format> DetectFormat(std::string_view data) {
  std::string inflated;
  if (IsGzip(data)) {
    SH_ASSIGN_OR_RETURN(inflated, Gunzip(data, size_t{1} << 30));
    data = inflated;
  }
  if (data.empty()) return InvalidArgumentError("empty input");
  if (LooksLikeJfr(data)) return Format::kJfr;
  if (LooksLikeGperftoolsCpu(data)) return Format::kGperftools;
  if (LooksLikeText(data)) {
    std::string_view t = TrimSpace(data.substr(0, 4096));
    if (t.starts_with("{")) return Format::kSpeedscope;
    if (LooksLikePerfScript(data)) return Format::kPerfScript;
    return Format::kFolded;
  }
  return Format::kPprof;
}

StatusOr<Profile> ReadProfile(std::string_view data, std::optional<Format> format,
                              const ReadOptions& options) {
  std::string inflated;
  if (IsGzip(data)) {
    SH_ASSIGN_OR_RETURN(inflated, Gunzip(data, options.max_decompressed_bytes));
    data = inflated;
  }
  Format f;
  if (format) {
    f = *format;
  } else {
    SH_ASSIGN_OR_RETURN(f, DetectFormat(data));
  }
  switch (f) {
    case Format::kPprof: {
      PprofDecodeOptions o;
      o.max_decompressed_bytes = options.max_decompressed_bytes;
      o.threads = options.threads;
      return DecodePprof(data, o);
    }
    case Format::kGperftools: return ParseGperftoolsCpu(data);
    case Format::kFolded: return ParseFolded(data);
    case Format::kLines: return ParseLines(data);
    case Format::kPerfScript: {
      PerfScriptOptions o;
      o.comm_as_root = options.perf_comm_as_root;
      return ParsePerfScript(data, o);
    }
    case Format::kSpeedscope: return ParseSpeedscope(data);
    case Format::kJfr: return JfrToProfile(data);
    case Format::kFlamebearer:
    case Format::kSvg: break;
  }
  return UnimplementedError(StrCat("reading ", FormatName(f), " is not supported"));
}

Status WriteProfileTo(const Profile& p, Format format, const WriteOptions& options,
                      const std::function<Status(std::string_view)>& sink) {
  if (format == Format::kPprof && options.gzip_level != 0) {
    return EncodePprofGzipTo(p, options.gzip_level, options.gzip_threads, sink);
  }
  SH_ASSIGN_OR_RETURN(std::string bytes, WriteProfile(p, format, options));
  return sink(bytes);
}

StatusOr<std::string> WriteProfile(const Profile& p, Format format, const WriteOptions& options) {
  int type = options.type_index >= 0 ? options.type_index : p.DefaultSampleTypeIndex();
  bool single = format == Format::kFolded || format == Format::kFlamebearer || format == Format::kSvg;
  if (single && (type < 0 || static_cast<size_t>(type) >= p.num_types())) {
    return InvalidArgumentError("the profile has no sample type to write");
  }
  switch (format) {
    case Format::kPprof:
      return options.gzip_level == 0 ? EncodePprof(p) : EncodePprofGzip(p, options.gzip_level, options.gzip_threads);
    case Format::kFolded: return WriteFolded(p, type);
    case Format::kSpeedscope: return WriteSpeedscope(p);
    case Format::kFlamebearer:
      return WriteFlamebearer(FlameTree::FromProfile(p, type), FlamebearerMetadataFor(p, type));
    case Format::kSvg: {
      SvgOptions o;
      o.title = options.title;
      o.unit = std::string(p.str(p.sample_types[type].unit));
      return WriteFlameGraphSvg(FlameTree::FromProfile(p, type), o);
    }
    case Format::kGperftools:
    case Format::kJfr:
    case Format::kLines:
    case Format::kPerfScript: break;
  }
  return UnimplementedError(StrCat("writing ", FormatName(format), " is not supported"));
}

}  // namespace stackhouse::profile
