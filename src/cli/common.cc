#include "cli/common.h"

#include "base/gzip.h"
#include "otlp/otlp.h"
#include "profile/ops.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "base/file.h"
#include "base/strings.h"
#include "profile/labels.h"

namespace stackhouse::cli {

bool IsOtlpName(std::string_view format, std::string_view path) {
  if (format == "otlp" || format == "otlp-json") return true;
  if (!format.empty()) return false;
  for (std::string_view ext : {".otlp", ".otlp.pb", ".otlp.json", ".otlp.gz", ".otlp.pb.gz", ".otlp.json.gz"}) {
    if (path.ends_with(ext)) return true;
  }
  return false;
}

namespace {

// An OTLP profiles export (protobuf or JSON, maybe gzip) as one profile:
// its profiles merged when there are several of the same kind.
StatusOr<profile::Profile> LoadOtlp(std::string_view data, size_t max_bytes) {
  std::string inflated;
  if (IsGzip(data)) {
    SH_ASSIGN_OR_RETURN(inflated, Gunzip(data, max_bytes));
    data = inflated;
  }
  std::string_view t = TrimSpace(data);
  bool json = !t.empty() && t[0] == '{';
  SH_ASSIGN_OR_RETURN(otlp::ExportRequest req,
                      otlp::ParseRequest(data, json ? "application/json" : "application/x-protobuf", "", max_bytes));
  otlp::DecodeResult r = otlp::FromOtlp(req);
  if (r.rejected > 0) return InvalidArgumentError(StrCat(r.rejected, " OTLP profile(s) are invalid: ", r.error));
  if (r.profiles.empty()) return InvalidArgumentError("the OTLP export holds no profiles");
  if (r.profiles.size() == 1) return std::move(r.profiles[0].profile);
  std::vector<const profile::Profile*> all;
  for (const auto& d : r.profiles) all.push_back(&d.profile);
  auto merged = profile::Merge(all);
  if (!merged.ok()) {
    return merged.status().WithPrefix(StrCat("the OTLP export holds ", r.profiles.size(), " profiles that do not merge"));
  }
  return merged;
}

}  // namespace

StatusOr<profile::Profile> LoadProfile(const std::string& path, const std::string& from,
                                       const profile::ReadOptions& options) {
  std::optional<profile::Format> format;
  if (IsOtlpName(from, path)) {
    SH_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    auto p = LoadOtlp(data, options.max_decompressed_bytes);
    if (!p.ok()) return p.status().WithPrefix(path == "-" ? "<stdin>" : path);
    return p;
  }
  if (!from.empty()) {
    format = profile::ParseFormatName(from);
    if (!format || !profile::CanRead(*format)) {
      return InvalidArgumentError(StrCat("cannot read format ", Quote(from)));
    }
  }
  std::string name = path == "-" ? "<stdin>" : path;
  SH_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  // A command-line tool has the machine to itself: big inputs are decoded
  // on every core.
  profile::ReadOptions o = options;
  o.threads = std::max<int>(o.threads, static_cast<int>(std::thread::hardware_concurrency()));
  auto p = profile::ReadProfile(data, format, o);
  if (!p.ok()) return p.status().WithPrefix(name);
  return p;
}

StatusOr<int> SampleTypeIndex(const profile::Profile& p, const std::string& name) {
  if (name.empty()) {
    int i = p.DefaultSampleTypeIndex();
    if (i < 0) return InvalidArgumentError("the profile has no sample types");
    return i;
  }
  int i = p.FindSampleType(name);
  if (i >= 0) return i;
  std::string available;
  for (const auto& vt : p.sample_types) {
    if (!available.empty()) available += ", ";
    available += p.str(vt.type);
  }
  return InvalidArgumentError(
      StrCat("no sample type ", Quote(name), " in the profile (it has: ", available, ")"));
}

int Fail(const char* cmd, const std::string& message, int code) {
  std::fprintf(stderr, "stackhouse %s: %s\n", cmd, message.c_str());
  return code;
}

StatusOr<std::vector<profile::LabelPair>> ParseLabelList(const std::string& text) {
  std::vector<profile::LabelPair> out;
  if (TrimSpace(text).empty()) return out;
  for (std::string_view item : Split(text, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError(StrCat("--labels: ", Quote(item), " is not k=v"));
    }
    std::string name(TrimSpace(item.substr(0, eq)));
    if (!profile::IsValidLabelName(name)) {
      return InvalidArgumentError(StrCat("--labels: bad label name ", Quote(name)));
    }
    out.push_back({name, std::string(TrimSpace(item.substr(eq + 1)))});
  }
  return out;
}


}  // namespace stackhouse::cli
