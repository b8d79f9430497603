#include "sampler/config.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <errno.h>

#include "base/log.h"
#include "base/strings.h"

namespace stackhouse::sampler {
namespace {

bool ValidLabelName(std::string_view k) {
  if (k.empty()) return false;
  for (size_t i = 0; i < k.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(k[i]);
    bool ok = isalpha(c) || c == '_' || c == '.' || (i > 0 && isdigit(c));
    if (!ok) return false;
  }
  return true;
}

std::string ProgramName() {
  const char* name = program_invocation_short_name;
  return name != nullptr && *name != '\0' ? name : "unknown_service";
}

}  // namespace

StatusOr<uint32_t> ParseProfileList(std::string_view s) {
  uint32_t bits = 0;
  for (std::string_view part : Split(s, ',')) {
    part = TrimSpace(part);
    if (part.empty()) continue;
    if (part == "cpu" || part == "itimer" || part == "process_cpu") {
      bits |= STACKHOUSE_PROFILE_CPU;
    } else if (part == "wall") {
      bits |= STACKHOUSE_PROFILE_WALL;
    } else if (part == "heap" || part == "alloc" || part == "memory") {
      bits |= STACKHOUSE_PROFILE_HEAP;
    } else if (part == "lock" || part == "mutex" || part == "block") {
      bits |= STACKHOUSE_PROFILE_LOCK;
    } else {
      return InvalidArgumentError(
          StrCat("unknown profile type ", Quote(part), " (want cpu, wall, heap or lock)"));
    }
  }
  if (bits == 0) return InvalidArgumentError("no profile types given");
  return bits;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> ParseTags(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view part : Split(s, ',')) {
    part = TrimSpace(part);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgumentError(StrCat("tag ", Quote(part), " is not key=value"));
    }
    std::string_view k = TrimSpace(part.substr(0, eq));
    std::string_view v = TrimSpace(part.substr(eq + 1));
    if (!ValidLabelName(k)) return InvalidArgumentError(StrCat("invalid tag name ", Quote(k)));
    if (k.starts_with("__")) return InvalidArgumentError(StrCat("tag name ", Quote(k), " is reserved"));
    out.emplace_back(std::string(k), std::string(v));
  }
  return out;
}

StatusOr<uint32_t> ParseDurationMs(std::string_view s) {
  s = TrimSpace(s);
  size_t i = 0;
  while (i < s.size() && (isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  auto number = ParseDouble(s.substr(0, i));
  std::string_view unit = s.substr(i);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m") scale = 60000;
  else if (unit == "h") scale = 3600000;
  if (!number || scale == 0 || *number < 0) {
    return InvalidArgumentError(StrCat("invalid duration ", Quote(s), " (want e.g. 10s, 500ms, 1m)"));
  }
  double ms = *number * scale;
  if (ms > 86400000.0) return InvalidArgumentError(StrCat("duration ", Quote(s), " is over a day"));
  return static_cast<uint32_t>(ms);
}

Status Config::Validate() {
  if (application_name.empty()) application_name = ProgramName();
  if (!server_address.empty() && !server_address.starts_with("http://") &&
      !server_address.starts_with("https://")) {
    return InvalidArgumentError(
        StrCat("server address ", Quote(server_address), " must start with http:// or https://"));
  }
  while (server_address.ends_with('/')) server_address.pop_back();
  if (profiles == 0 || (profiles & ~uint32_t{15}) != 0) {
    return InvalidArgumentError(StrCat("invalid profile bits ", profiles));
  }
  if (sample_rate_hz < 1 || sample_rate_hz > 1000) {
    return InvalidArgumentError(StrCat("sample rate ", sample_rate_hz, " Hz is outside 1..1000"));
  }
  if (upload_interval_ms < 100) {
    return InvalidArgumentError(StrCat("upload interval ", upload_interval_ms, " ms is under 100 ms"));
  }
  if (heap_sample_bytes < 1) return InvalidArgumentError("heap sample bytes must be positive");
  if (lock_sample_rate < 1) return InvalidArgumentError("lock sample rate must be at least 1");
  if (wall_threads_per_tick < 1) return InvalidArgumentError("wall threads per tick must be positive");
  if (duty_period_ms != 0 && (duty_on_ms == 0 || duty_on_ms > duty_period_ms)) {
    return InvalidArgumentError(
        StrCat("duty cycle on-time ", duty_on_ms, " ms must be within the period ", duty_period_ms, " ms"));
  }
  if (!(process_fraction > 0 && process_fraction <= 1)) {
    return InvalidArgumentError(StrCat("process fraction ", process_fraction, " is outside (0, 1]"));
  }
  if (max_queued_uploads < 1) return InvalidArgumentError("the upload queue needs room for one upload");
  if (log_level != "debug" && log_level != "info" && log_level != "warn" && log_level != "error") {
    return InvalidArgumentError(StrCat("unknown log level ", Quote(log_level)));
  }
  return OkStatus();
}

StatusOr<Config> ConfigFromC(const stackhouse_config& c) {
  Config out;
  if (c.server_address) out.server_address = c.server_address;
  if (c.application_name) out.application_name = c.application_name;
  if (c.tags) {
    SH_ASSIGN_OR_RETURN(out.tags, ParseTags(c.tags));
  }
  if (c.tenant) out.tenant = c.tenant;
  if (c.auth_token) out.auth_token = c.auth_token;
  if (c.profiles) out.profiles = c.profiles;
  if (c.sample_rate_hz) out.sample_rate_hz = c.sample_rate_hz;
  if (c.upload_interval_ms) out.upload_interval_ms = c.upload_interval_ms;
  switch (c.engine) {
    case STACKHOUSE_ENGINE_AUTO: out.engine = Engine::kAuto; break;
    case STACKHOUSE_ENGINE_PERF: out.engine = Engine::kPerf; break;
    case STACKHOUSE_ENGINE_CTIMER: out.engine = Engine::kCtimer; break;
    case STACKHOUSE_ENGINE_ITIMER: out.engine = Engine::kItimer; break;
    default: return InvalidArgumentError(StrCat("unknown engine ", c.engine));
  }
  switch (c.unwind) {
    case STACKHOUSE_UNWIND_AUTO: out.unwind = UnwindMode::kAuto; break;
    case STACKHOUSE_UNWIND_FP: out.unwind = UnwindMode::kFramePointer; break;
    default: return InvalidArgumentError(StrCat("unknown unwind mode ", c.unwind));
  }
  if (c.heap_sample_bytes) out.heap_sample_bytes = c.heap_sample_bytes;
  if (c.lock_sample_rate) out.lock_sample_rate = c.lock_sample_rate;
  if (c.wall_threads_per_tick) out.wall_threads_per_tick = c.wall_threads_per_tick;
  out.duty_on_ms = c.duty_on_ms;
  out.duty_period_ms = c.duty_period_ms;
  if (c.process_fraction != 0) out.process_fraction = c.process_fraction;
  if (c.max_queued_uploads) out.max_queued_uploads = c.max_queued_uploads;
  if (c.log_level) out.log_level = c.log_level;
  if (c.output_dir) out.output_dir = c.output_dir;
  SH_RETURN_IF_ERROR(out.Validate());
  return out;
}

StatusOr<Config> ConfigFromEnv(const std::function<const char*(const char*)>& getenv) {
  // Returns the first set variable of `names` and its name.
  auto get = [&](std::initializer_list<const char*> names, const char** which) -> const char* {
    for (const char* n : names) {
      const char* v = getenv(n);
      if (v != nullptr && *v != '\0') {
        *which = n;
        return v;
      }
    }
    return nullptr;
  };
  auto named = [](const char* var, const Status& s) {
    return Status(s.code(), StrCat(var, ": ", s.message()));
  };
  Config out;
  const char* var = nullptr;
  if (const char* v = get({"STACKHOUSE_SERVER_ADDRESS", "PYROSCOPE_SERVER_ADDRESS"}, &var)) {
    out.server_address = v;
  }
  if (const char* v = get({"STACKHOUSE_APPLICATION_NAME", "PYROSCOPE_APPLICATION_NAME"}, &var)) {
    out.application_name = v;
  }
  if (const char* v = get({"STACKHOUSE_TAGS", "PYROSCOPE_TAGS", "PYROSCOPE_LABELS"}, &var)) {
    auto tags = ParseTags(v);
    if (!tags.ok()) return named(var, tags.status());
    out.tags = std::move(*tags);
  }
  if (const char* v = get({"STACKHOUSE_PROFILES", "PYROSCOPE_PROFILES"}, &var)) {
    auto bits = ParseProfileList(v);
    if (!bits.ok()) return named(var, bits.status());
    out.profiles = *bits;
  }
  if (const char* v = get({"STACKHOUSE_SAMPLE_RATE", "PYROSCOPE_SAMPLE_RATE"}, &var)) {
    auto hz = ParseUint64(TrimSpace(v));
    if (!hz || *hz > 100000) return named(var, InvalidArgumentError(StrCat("invalid rate ", Quote(v))));
    out.sample_rate_hz = static_cast<uint32_t>(*hz);
  }
  if (const char* v = get({"STACKHOUSE_UPLOAD_INTERVAL", "PYROSCOPE_UPLOAD_INTERVAL", "PYROSCOPE_UPLOAD_RATE"},
                          &var)) {
    auto ms = ParseDurationMs(v);
    if (!ms.ok()) return named(var, ms.status());
    out.upload_interval_ms = *ms;
  }
  if (const char* v = get({"STACKHOUSE_TENANT", "PYROSCOPE_TENANT_ID", "PYROSCOPE_TENANT"}, &var)) {
    out.tenant = v;
  }
  if (const char* v = get({"STACKHOUSE_AUTH_TOKEN", "PYROSCOPE_AUTH_TOKEN"}, &var)) out.auth_token = v;
  if (const char* v = get({"STACKHOUSE_LOG_LEVEL", "PYROSCOPE_LOG_LEVEL"}, &var)) {
    out.log_level = v;
    if (out.log_level == "trace") out.log_level = "debug";
  }
  if (const char* v = get({"STACKHOUSE_OUTPUT_DIR"}, &var)) out.output_dir = v;
  if (const char* v = get({"STACKHOUSE_ENGINE"}, &var)) {
    std::string_view e = v;
    if (e == "auto") out.engine = Engine::kAuto;
    else if (e == "perf") out.engine = Engine::kPerf;
    else if (e == "ctimer") out.engine = Engine::kCtimer;
    else if (e == "itimer") out.engine = Engine::kItimer;
    else return named(var, InvalidArgumentError(StrCat("unknown engine ", Quote(e), " (auto, perf, ctimer, itimer)")));
  }
  if (const char* v = get({"STACKHOUSE_UNWIND"}, &var)) {
    std::string_view u = v;
    if (u == "auto" || u == "dwarf") out.unwind = UnwindMode::kAuto;
    else if (u == "fp") out.unwind = UnwindMode::kFramePointer;
    else return named(var, InvalidArgumentError(StrCat("unknown unwind mode ", Quote(u), " (auto, fp)")));
  }
  if (const char* v = get({"STACKHOUSE_HEAP_SAMPLE_BYTES"}, &var)) {
    auto n = ParseUint64(TrimSpace(v));
    if (!n || *n == 0) return named(var, InvalidArgumentError(StrCat("invalid byte count ", Quote(v))));
    out.heap_sample_bytes = *n;
  }
  if (const char* v = get({"STACKHOUSE_LOCK_SAMPLE_RATE"}, &var)) {
    auto n = ParseUint64(TrimSpace(v));
    if (!n || *n == 0 || *n > 1000000) return named(var, InvalidArgumentError(StrCat("invalid rate ", Quote(v))));
    out.lock_sample_rate = static_cast<uint32_t>(*n);
  }
  if (const char* v = get({"STACKHOUSE_DUTY_CYCLE"}, &var)) {
    // "10s/60s": profile 10 s of every 60 s.
    std::string_view d = v;
    size_t slash = d.find('/');
    if (slash == std::string_view::npos) {
      return named(var, InvalidArgumentError(StrCat("want on/period like 10s/60s, got ", Quote(d))));
    }
    auto on = ParseDurationMs(d.substr(0, slash));
    if (!on.ok()) return named(var, on.status());
    auto period = ParseDurationMs(d.substr(slash + 1));
    if (!period.ok()) return named(var, period.status());
    out.duty_on_ms = *on;
    out.duty_period_ms = *period;
  }
  if (const char* v = get({"STACKHOUSE_PROCESS_FRACTION"}, &var)) {
    auto f = ParseDouble(TrimSpace(v));
    if (!f) return named(var, InvalidArgumentError(StrCat("invalid fraction ", Quote(v))));
    out.process_fraction = *f;
  }
  Status s = out.Validate();
  if (!s.ok()) return Status(s.code(), StrCat("environment: ", s.message()));
  return out;
}

}  // namespace stackhouse::sampler
