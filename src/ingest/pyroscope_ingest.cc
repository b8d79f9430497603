#include "ingest/pyroscope_ingest.h"

#include <nlohmann/json.hpp>

#include "base/gzip.h"
#include "base/strings.h"
#include "base/time_parse.h"
#include "ingest/multipart.h"
#include "base/gzip.h"
#include "profile/folded.h"
#include "profile/jfr.h"
#include "profile/ops.h"
#include "profile/pprof.h"
#include "profile/profile_type.h"
#include "profile/speedscope.h"

namespace stackhouse::ingest {

StatusOr<LegacyType> LegacyTypeForSuffix(std::string_view s) {
  // (suffix, name, sample type, unit, period type, period unit, scale)
  struct Row {
    const char* suffix;
    LegacyType type;
  };
  static const Row kRows[] = {
      {"cpu", {"process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds", true}},
      {"itimer", {"process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds", true}},
      {"wall", {"wall", "wall", "nanoseconds", "wall", "nanoseconds", true}},
      {"inuse_objects", {"memory", "inuse_objects", "count", "space", "bytes", false}},
      {"inuse_space", {"memory", "inuse_space", "bytes", "space", "bytes", false}},
      {"alloc_objects", {"memory", "alloc_objects", "count", "space", "bytes", false}},
      {"alloc_space", {"memory", "alloc_space", "bytes", "space", "bytes", false}},
      {"goroutines", {"goroutines", "goroutine", "count", "goroutine", "count", false}},
      {"mutex_count", {"mutex", "contentions", "count", "contentions", "count", false}},
      {"mutex_duration", {"mutex", "delay", "nanoseconds", "contentions", "count", false}},
      {"block_count", {"block", "contentions", "count", "contentions", "count", false}},
      {"block_duration", {"block", "delay", "nanoseconds", "contentions", "count", false}},
      {"lock_count", {"block", "contentions", "count", "contentions", "count", false}},
      {"lock_duration", {"block", "delay", "nanoseconds", "contentions", "count", false}},
      {"alloc_in_new_tlab_objects", {"memory", "alloc_in_new_tlab_objects", "count", "space", "bytes", false}},
      {"alloc_in_new_tlab_bytes", {"memory", "alloc_in_new_tlab_bytes", "bytes", "space", "bytes", false}},
      {"alloc_outside_tlab_objects", {"memory", "alloc_outside_tlab_objects", "count", "space", "bytes", false}},
      {"alloc_outside_tlab_bytes", {"memory", "alloc_outside_tlab_bytes", "bytes", "space", "bytes", false}},
      {"live", {"memory", "live", "count", "space", "bytes", false}},
      {"exceptions", {"exceptions", "samples", "count", "samples", "count", false}},
  };
  for (const Row& r : kRows) {
    if (s == r.suffix) return r.type;
  }
  return InvalidArgumentError(StrCat("unknown profile type ", Quote(s)));
}

namespace {

enum class Format { kFolded, kLines, kPprof, kSpeedscope, kJfr };

StatusOr<Format> ParseFormat(std::string_view format, std::string_view content_type) {
  if (format.empty()) {
    if (!MultipartBoundary(content_type).empty()) return Format::kPprof;
    if (content_type.find("+trie") != std::string_view::npos ||
        content_type.find("+tree") != std::string_view::npos) {
      return UnimplementedError("the legacy binary trie/tree formats are not supported; send "
                                "folded, lines, pprof or speedscope");
    }
    return Format::kFolded;
  }
  if (format == "folded" || format == "collapsed" || format == "groups") return Format::kFolded;
  if (format == "lines") return Format::kLines;
  if (format == "pprof") return Format::kPprof;
  if (format == "speedscope") return Format::kSpeedscope;
  if (format == "trie" || format == "tree") {
    return UnimplementedError(StrCat("format ", format, " is not supported; send folded, lines, "
                                     "pprof or speedscope"));
  }
  if (format == "jfr") return Format::kJfr;
  return InvalidArgumentError(StrCat("unknown format ", Quote(format)));
}

// Applies Pyroscope's sample_type_config (JSON: sample type -> {"units",
// "aggregation", "display-name", "sampled"}): display-name renames a sample
// type; the rest describes how the old storage aggregated and is validated.
Status ApplySampleTypeConfig(std::string_view json, profile::Profile* p) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("sample_type_config is not a JSON object");
  }
  for (const auto& [type, cfg] : j.items()) {
    if (!cfg.is_object()) {
      return InvalidArgumentError(StrCat("sample_type_config[", Quote(type), "] is not an object"));
    }
    auto dn = cfg.find("display-name");
    if (dn == cfg.end()) continue;
    if (!dn->is_string()) {
      return InvalidArgumentError(StrCat("sample_type_config[", Quote(type), "].display-name is not a string"));
    }
    int i = p->FindSampleType(type);
    if (i < 0 || dn->get<std::string>().empty()) continue;
    p->strings.push_back(dn->get<std::string>());
    p->sample_types[i].type = static_cast<int64_t>(p->strings.size() - 1);
  }
  return OkStatus();
}

}  // namespace

StatusOr<IngestedProfile> ParseIngest(const IngestInput& in, const IngestLimits& limits) {
  if (in.name.empty()) return InvalidArgumentError("the name parameter is required");
  SH_ASSIGN_OR_RETURN(profile::IngestName name, profile::ParseIngestName(in.name));
  auto [app, suffix] = profile::SplitAppType(name.app_name);
  if (app.empty()) return InvalidArgumentError(StrCat("empty application name in ", Quote(in.name)));

  IngestedProfile out;
  int64_t now = in.now_nanos != 0 ? in.now_nanos : NowNanos();
  int64_t from = now, until = now;
  if (!in.from.empty()) {
    auto t = ParseTime(in.from, now);
    if (!t.ok()) return t.status().WithPrefix("from");
    from = *t;
  }
  if (!in.until.empty()) {
    auto t = ParseTime(in.until, now);
    if (!t.ok()) return t.status().WithPrefix("until");
    until = *t;
  } else if (!in.from.empty()) {
    until = from;
  }
  if (until < from) return InvalidArgumentError("until is before from");
  int64_t rate = 100;
  if (!in.sample_rate.empty()) {
    auto r = ParseInt64(in.sample_rate);
    if (!r || *r <= 0 || *r > 1000000000) {
      return InvalidArgumentError(StrCat("bad sampleRate ", Quote(in.sample_rate)));
    }
    rate = *r;
  }
  if (!in.aggregation_type.empty() && in.aggregation_type != "sum" &&
      in.aggregation_type != "average") {
    return InvalidArgumentError(StrCat("bad aggregationType ", Quote(in.aggregation_type),
                                       ": expected sum or average"));
  }
  SH_ASSIGN_OR_RETURN(Format format, ParseFormat(in.format, in.content_type));

  std::string body_storage;
  std::string_view body = in.body;
  std::string profile_name;
  std::vector<profile::JfrProfile> jfr_more;  // a recording's further profiles
  if (format == Format::kJfr) {
    // Raw JFR, or multipart with `jfr` and an optional `labels` LabelsSnapshot.
    std::string_view jfr = body, labels;
    std::vector<FormPart> parts;
    std::string boundary = MultipartBoundary(in.content_type);
    if (!boundary.empty()) {
      SH_ASSIGN_OR_RETURN(parts, ParseMultipart(body, boundary));
      const FormPart* j = FindPart(parts, "jfr");
      if (j == nullptr) return InvalidArgumentError("multipart body without a \"jfr\" part");
      jfr = j->data;
      if (const FormPart* l = FindPart(parts, "labels")) labels = l->data;
    }
    std::string jfr_storage, labels_storage;
    if (IsGzip(jfr)) {
      SH_ASSIGN_OR_RETURN(jfr_storage, Gunzip(jfr, limits.max_decompressed_bytes));
      jfr = jfr_storage;
    } else if (jfr.size() > limits.max_decompressed_bytes) {
      return ResourceExhaustedError("body over the size limit");
    }
    if (IsGzip(labels)) {
      SH_ASSIGN_OR_RETURN(labels_storage, Gunzip(labels, limits.max_decompressed_bytes));
      labels = labels_storage;
    }
    profile::JfrContexts contexts;
    if (!labels.empty()) {
      SH_ASSIGN_OR_RETURN(contexts, profile::ParseLabelsSnapshot(labels));
    }
    profile::JfrOptions jo;
    if (!in.sample_rate.empty()) jo.sample_rate_hz = rate;
    jo.contexts = &contexts;
    SH_ASSIGN_OR_RETURN(profile::JfrRecording rec, profile::ParseJfr(jfr, jo));
    if (rec.profiles.empty()) {
      return InvalidArgumentError("the JFR recording has no execution, allocation or lock events");
    }
    if (in.from.empty()) {
      from = rec.start_nanos;
      until = rec.start_nanos + rec.duration_nanos;
    }
    out.profile = std::move(rec.profiles[0].profile);
    profile_name = rec.profiles[0].name;
    for (size_t i = 1; i < rec.profiles.size(); ++i) jfr_more.push_back(std::move(rec.profiles[i]));
  } else if (format == Format::kPprof) {
    std::string boundary = MultipartBoundary(in.content_type);
    std::string_view sample_type_config;
    if (!boundary.empty()) {
      SH_ASSIGN_OR_RETURN(std::vector<FormPart> parts, ParseMultipart(body, boundary));
      if (FindPart(parts, "prev_profile") != nullptr) {
        return InvalidArgumentError("prev_profile is not supported (client-side deltas): update "
                                    "the client");
      }
      const FormPart* prof = FindPart(parts, "profile");
      if (prof == nullptr) return InvalidArgumentError("multipart body without a \"profile\" part");
      body = prof->data;
      if (const FormPart* cfg = FindPart(parts, "sample_type_config")) sample_type_config = cfg->data;
    }
    profile::PprofDecodeOptions o;
    o.max_decompressed_bytes = limits.max_decompressed_bytes;
    auto p = profile::DecodePprof(body, o);
    if (!p.ok()) return p.status();
    out.profile = std::move(p).value();
    if (!sample_type_config.empty()) {
      SH_RETURN_IF_ERROR(ApplySampleTypeConfig(sample_type_config, &out.profile));
    }
    profile_name = profile::DeriveProfileName(out.profile);
    if (in.from.empty() && out.profile.time_nanos != 0) {
      from = out.profile.time_nanos;
      until = from + out.profile.duration_nanos;
    }
  } else {
    if (IsGzip(body)) {
      SH_ASSIGN_OR_RETURN(body_storage, Gunzip(body, limits.max_decompressed_bytes));
      body = body_storage;
    } else if (body.size() > limits.max_decompressed_bytes) {
      return ResourceExhaustedError("body over the size limit");
    }
    if (format == Format::kSpeedscope) {
      auto p = profile::ParseSpeedscope(body);
      if (!p.ok()) return p.status();
      out.profile = std::move(p).value();
      profile_name = profile::DeriveProfileName(out.profile);
    } else {
      SH_ASSIGN_OR_RETURN(LegacyType type, LegacyTypeForSuffix(suffix.empty() ? "cpu" : suffix));
      profile::FoldedOptions fo;
      fo.sample_type = type.scale_by_rate ? "samples" : type.sample_type;
      fo.sample_unit = type.scale_by_rate ? "count" : type.sample_unit;
      auto p = format == Format::kLines ? profile::ParseLines(body, fo) : profile::ParseFolded(body, fo);
      if (!p.ok()) return p.status();
      out.profile = std::move(p).value();
      profile::Profile& prof = out.profile;
      auto str = [&](const std::string& s) {
        prof.strings.push_back(s);
        return static_cast<int64_t>(prof.strings.size() - 1);
      };
      if (type.scale_by_rate) {
        // Sample counts become nanoseconds at the sample rate, as Pyroscope does.
        int64_t period = 1000000000 / rate;
        profile::Scale(&prof, static_cast<double>(period));
        prof.sample_types[0] = {str(type.sample_type), str(type.sample_unit)};
        prof.period = period;
      }
      prof.period_type = {str(type.period_type), str(type.period_unit)};
      profile_name = type.name;
    }
  }

  const std::string app_name(app);  // (lambdas cannot capture structured bindings before clang 16)
  auto labels_for = [&](const std::string& profile_name) -> StatusOr<profile::LabelSet> {
    std::vector<profile::LabelPair> pairs = name.labels;
    bool has_service = false;
    for (const auto& lp : pairs) has_service |= lp.name == "service_name";
    pairs.push_back({has_service ? "app_name" : "service_name", app_name});
    pairs.push_back({"__name__", profile_name});
    if (!in.spy_name.empty()) pairs.push_back({"pyroscope_spy", in.spy_name});
    // Later duplicates (e.g. a client-sent __name__) are dropped by keeping the first.
    std::vector<profile::LabelPair> unique;
    for (auto& lp : pairs) {
      bool dup = false;
      for (const auto& u : unique) dup |= u.name == lp.name;
      if (!dup) unique.push_back(std::move(lp));
    }
    return profile::LabelSet::FromPairs(std::move(unique));
  };
  SH_ASSIGN_OR_RETURN(out.labels, labels_for(profile_name));
  out.time_nanos = from;
  out.duration_nanos = until - from;
  for (profile::JfrProfile& jp : jfr_more) {
    IngestedProfile more;
    // A client-sent __name__ would name every profile the same: the recording's names win.
    SH_ASSIGN_OR_RETURN(more.labels, labels_for(jp.name));
    more.labels = more.labels.With("__name__", jp.name);
    more.profile = std::move(jp.profile);
    more.time_nanos = from;
    more.duration_nanos = until - from;
    out.more.push_back(std::move(more));
  }
  if (!jfr_more.empty() || format == Format::kJfr) out.labels = out.labels.With("__name__", profile_name);
  return out;
}

}  // namespace stackhouse::ingest
