// scrape_configs: the YAML of pull mode, in the shape of Prometheus's
// (job_name, scrape_interval, scrape_timeout, scheme, static_configs with
// targets and labels) plus Parca's profiling_config.pprof_config for which
// pprof endpoints to fetch.
#include <yaml-cpp/yaml.h>

#include <set>

#include "base/strings.h"
#include "base/time_parse.h"
#include "server/config.h"

namespace stackhouse::server {
namespace {

struct Defaults {
  const char* name;
  const char* path;
  bool delta;
};
// Go's net/http/pprof endpoints. Mutex and block profiles count from the
// start of the process: their deltas are stored.
const Defaults kDefaults[] = {
    {"process_cpu", "/debug/pprof/profile", false}, {"memory", "/debug/pprof/heap", false},
    {"mutex", "/debug/pprof/mutex", true},          {"block", "/debug/pprof/block", true},
    {"goroutine", "/debug/pprof/goroutine", false},
};

Status CheckMapKeys(const YAML::Node& n, std::initializer_list<const char*> allowed, const std::string& where) {
  if (!n.IsMap()) return InvalidArgumentError(StrCat(where, " must be a mapping"));
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    bool ok = false;
    for (const char* a : allowed) ok |= k == a;
    if (!ok) return InvalidArgumentError(StrCat(where, ": unknown key ", k));
  }
  return OkStatus();
}

StatusOr<int64_t> Duration(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) return InvalidArgumentError(StrCat(where, " must be a duration like 15s"));
  auto d = ParseDuration(n.Scalar());
  if (!d.ok() || *d <= 0) return InvalidArgumentError(StrCat(where, ": bad duration ", Quote(n.Scalar())));
  return *d;
}

bool LabelNameOk(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

StatusOr<std::vector<ScrapeConfig>> ParseScrapeConfigs(const void* yaml, const std::string& file) {
  const YAML::Node& list = *static_cast<const YAML::Node*>(yaml);
  std::vector<ScrapeConfig> out;
  if (list.IsNull()) return out;
  if (!list.IsSequence()) return InvalidArgumentError(StrCat(file, ": scrape_configs must be a list"));
  std::set<std::string> jobs;
  try {
    for (size_t i = 0; i < list.size(); ++i) {
      const YAML::Node j = list[i];
      std::string where = StrCat(file, ": scrape_configs[", i, "]");
      SH_RETURN_IF_ERROR(CheckMapKeys(j,
                                      {"job_name", "scrape_interval", "scrape_timeout", "scheme", "tenant",
                                       "static_configs", "profiling_config"},
                                      where));
      ScrapeConfig sc;
      if (!j["job_name"] || !j["job_name"].IsScalar() || j["job_name"].Scalar().empty()) {
        return InvalidArgumentError(StrCat(where, ": job_name is required"));
      }
      sc.job_name = j["job_name"].Scalar();
      where = StrCat(file, ": job ", Quote(sc.job_name));
      if (!jobs.insert(sc.job_name).second) return InvalidArgumentError(StrCat(where, ": defined twice"));
      if (j["scrape_interval"]) {
        SH_ASSIGN_OR_RETURN(sc.interval_ns, Duration(j["scrape_interval"], where + ": scrape_interval"));
      }
      if (sc.interval_ns < 1000000000) return InvalidArgumentError(StrCat(where, ": scrape_interval must be at least 1s"));
      if (j["scrape_timeout"]) {
        SH_ASSIGN_OR_RETURN(sc.timeout_ns, Duration(j["scrape_timeout"], where + ": scrape_timeout"));
      }
      if (j["scheme"]) {
        sc.scheme = j["scheme"].Scalar();
        if (sc.scheme != "http" && sc.scheme != "https") {
          return InvalidArgumentError(StrCat(where, ": scheme must be http or https"));
        }
      }
      if (j["tenant"]) sc.tenant = j["tenant"].Scalar();
      const YAML::Node groups = j["static_configs"];
      if (!groups || !groups.IsSequence() || groups.size() == 0) {
        return InvalidArgumentError(StrCat(where, ": static_configs must list targets"));
      }
      for (size_t g = 0; g < groups.size(); ++g) {
        std::string gw = StrCat(where, ": static_configs[", g, "]");
        SH_RETURN_IF_ERROR(CheckMapKeys(groups[g], {"targets", "labels"}, gw));
        ScrapeTargetGroup tg;
        const YAML::Node targets = groups[g]["targets"];
        if (!targets || !targets.IsSequence() || targets.size() == 0) {
          return InvalidArgumentError(StrCat(gw, ": targets must be a list of host:port"));
        }
        for (const auto& t : targets) {
          std::string host;
          int port;
          if (!t.IsScalar() || !SplitHostPort(t.Scalar(), &host, &port).ok() || host.empty()) {
            return InvalidArgumentError(StrCat(gw, ": bad target ", Quote(t.IsScalar() ? t.Scalar() : "?"),
                                               " (want host:port)"));
          }
          tg.targets.push_back(t.Scalar());
        }
        if (const YAML::Node labels = groups[g]["labels"]) {
          if (!labels.IsMap()) return InvalidArgumentError(StrCat(gw, ": labels must be a mapping"));
          for (const auto& kv : labels) {
            std::string k = kv.first.as<std::string>();
            if (!LabelNameOk(k) || k.starts_with("__")) return InvalidArgumentError(StrCat(gw, ": bad label name ", Quote(k)));
            tg.labels.push_back({k, kv.second.as<std::string>()});
          }
        }
        sc.static_configs.push_back(std::move(tg));
      }
      // Which endpoints: all five by default.
      std::map<std::string, ScrapeProfileConfig> profiles;
      for (const Defaults& d : kDefaults) profiles[d.name] = {d.name, d.path, d.delta};
      if (const YAML::Node pc = j["profiling_config"]) {
        SH_RETURN_IF_ERROR(CheckMapKeys(pc, {"cpu_seconds", "pprof_config"}, where + ": profiling_config"));
        if (pc["cpu_seconds"]) {
          auto s = ParseInt64(pc["cpu_seconds"].Scalar());
          if (!s || *s < 1) return InvalidArgumentError(StrCat(where, ": cpu_seconds must be a positive number"));
          sc.cpu_seconds = *s;
        }
        if (const YAML::Node pp = pc["pprof_config"]) {
          if (!pp.IsMap()) return InvalidArgumentError(StrCat(where, ": pprof_config must be a mapping"));
          for (const auto& kv : pp) {
            std::string name = kv.first.as<std::string>();
            std::string pw = StrCat(where, ": pprof_config.", name);
            SH_RETURN_IF_ERROR(CheckMapKeys(kv.second, {"enabled", "path", "delta"}, pw));
            if (!LabelNameOk(name)) return InvalidArgumentError(StrCat(pw, ": bad profile name"));
            ScrapeProfileConfig& p = profiles[name];
            p.name = name;
            if (kv.second["path"]) p.path = kv.second["path"].Scalar();
            if (kv.second["delta"]) p.delta = kv.second["delta"].as<bool>();
            if (p.path.empty() || p.path[0] != '/') return InvalidArgumentError(StrCat(pw, ": path must start with /"));
            if (kv.second["enabled"] && !kv.second["enabled"].as<bool>()) p.path.clear();  // disabled
          }
        }
      }
      for (auto& [name, p] : profiles) {
        if (!p.path.empty()) sc.profiles.push_back(p);
      }
      if (sc.cpu_seconds == 0) sc.cpu_seconds = std::max<int64_t>(1, sc.interval_ns / 1000000000 - 1);
      if (sc.cpu_seconds * 1000000000 >= sc.interval_ns + 1000000000) {
        return InvalidArgumentError(StrCat(where, ": cpu_seconds must be shorter than scrape_interval"));
      }
      out.push_back(std::move(sc));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(StrCat(file, ": scrape_configs: ", e.what()));
  }
  return out;
}

}  // namespace stackhouse::server
