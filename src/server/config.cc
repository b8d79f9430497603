#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <functional>
#include <optional>

#include "base/strings.h"
#include "base/time_parse.h"

namespace stackhouse::server {

namespace {

enum class Kind { kString, kInt, kBytes, kDuration, kDouble, kBool };

struct Option {
  const char* yaml;  // dotted path in the YAML file
  const char* flag;  // without the leading "--"
  const char* env;
  Kind kind;
  const char* help;
  std::function<void*(ServerConfig&)> field;
};

#define FIELD(member) [](ServerConfig& c) -> void* { return &c.member; }

const Option kOptions[] = {
    {"http_addr", "http-addr", "STACKHOUSE_HTTP_ADDR", Kind::kString,
     "Address to serve HTTP on (host:port or :port)", FIELD(http_addr)},
    {"otlp.http_addr", "otlp-http-addr", "STACKHOUSE_OTLP_HTTP_ADDR", Kind::kString,
     "Also serve OTLP/HTTP profiles (POST /v1development/profiles) here; \"\" = only on http_addr",
     FIELD(otlp_http_addr)},
    {"otlp.grpc_addr", "otlp-grpc-addr", "STACKHOUSE_OTLP_GRPC_ADDR", Kind::kString,
     "Serve OTLP/gRPC profiles (ProfilesService/Export) here; \"\" = off", FIELD(otlp_grpc_addr)},
    {"data_dir", "data-dir", "STACKHOUSE_DATA_DIR", Kind::kString,
     "Directory of the embedded store", FIELD(data_dir)},
    {"ui_dir", "ui-dir", "STACKHOUSE_UI_DIR", Kind::kString,
     "Directory of the built web UI (default: ui/dist found next to the binary)", FIELD(ui_dir)},
    {"log.level", "log-level", "STACKHOUSE_LOG_LEVEL", Kind::kString,
     "Log level: debug, info, warn, error", FIELD(log_level)},
    {"log.format", "log-format", "STACKHOUSE_LOG_FORMAT", Kind::kString,
     "Log format: json or logfmt", FIELD(log_format)},
    {"storage.retention", "retention", "STACKHOUSE_RETENTION", Kind::kDuration,
     "Delete data older than this (0 keeps everything)", FIELD(retention_ns)},
    {"storage.head_block_duration", "head-block-duration", "STACKHOUSE_HEAD_BLOCK_DURATION",
     Kind::kDuration, "Cut the in-memory head into a block after this long", FIELD(head_block_duration_ns)},
    {"storage.head_max_bytes", "head-max-bytes", "STACKHOUSE_HEAD_MAX_BYTES", Kind::kBytes,
     "... or when it uses this much memory", FIELD(head_max_bytes)},
    {"limits.max_body_bytes", "max-body-bytes", "STACKHOUSE_MAX_BODY_BYTES", Kind::kBytes,
     "Largest request body (as sent, compressed): larger gets 413", FIELD(max_body_bytes)},
    {"limits.max_decompressed_bytes", "max-decompressed-bytes", "STACKHOUSE_MAX_DECOMPRESSED_BYTES",
     Kind::kBytes, "Largest body after decompression (gzip bombs get 413)", FIELD(max_decompressed_bytes)},
    {"limits.read_timeout", "read-timeout", "STACKHOUSE_READ_TIMEOUT", Kind::kDuration,
     "Time a client may take to send headers and body, and keep-alive idle time",
     [](ServerConfig& c) -> void* { return &c.read_timeout_s; }},
    {"limits.max_connections", "max-connections", "STACKHOUSE_MAX_CONNECTIONS", Kind::kInt,
     "Most concurrent connections", FIELD(max_connections)},
    {"limits.ingestion_rate_mb", "ingestion-rate-mb", "STACKHOUSE_INGESTION_RATE_MB", Kind::kDouble,
     "Per-tenant ingestion rate in MB/s of request bodies (0 = unlimited); over it: 429",
     FIELD(ingestion_rate_mb)},
    {"limits.ingestion_burst_mb", "ingestion-burst-mb", "STACKHOUSE_INGESTION_BURST_MB", Kind::kDouble,
     "Per-tenant ingestion burst in MB", FIELD(ingestion_burst_mb)},
    {"limits.max_query_range", "max-query-range", "STACKHOUSE_MAX_QUERY_RANGE", Kind::kDuration,
     "Longest time range one query may cover", FIELD(max_query_range_ns)},
    {"limits.max_nodes_default", "max-nodes-default", "STACKHOUSE_MAX_NODES_DEFAULT", Kind::kInt,
     "Flame graph nodes when a query does not say", FIELD(max_nodes_default)},
    {"limits.max_nodes", "max-nodes", "STACKHOUSE_MAX_NODES", Kind::kInt,
     "Most flame graph nodes a query may ask for", FIELD(max_nodes_limit)},
    {"limits.max_labels_per_series", "max-labels-per-series", "STACKHOUSE_MAX_LABELS_PER_SERIES",
     Kind::kInt, "Most labels per series", FIELD(max_labels_per_series)},
    {"limits.max_label_name_length", "max-label-name-length", "STACKHOUSE_MAX_LABEL_NAME_LENGTH",
     Kind::kInt, "Longest label name", FIELD(max_label_name_length)},
    {"limits.max_label_value_length", "max-label-value-length",
     "STACKHOUSE_MAX_LABEL_VALUE_LENGTH", Kind::kInt, "Longest label value",
     FIELD(max_label_value_length)},
    {"limits.max_samples_per_profile", "max-samples-per-profile",
     "STACKHOUSE_MAX_SAMPLES_PER_PROFILE", Kind::kInt, "Most samples in one profile (else 413)",
     FIELD(max_samples_per_profile)},
    {"limits.max_series_per_tenant", "max-series-per-tenant", "STACKHOUSE_MAX_SERIES_PER_TENANT",
     Kind::kInt, "Most series per tenant (else 429)", FIELD(max_series_per_tenant)},
    {"server.http_threads", "http-threads", "STACKHOUSE_HTTP_THREADS", Kind::kInt,
     "Threads that read and write connections", FIELD(http_threads)},
    {"server.worker_threads", "worker-threads", "STACKHOUSE_WORKER_THREADS", Kind::kInt,
     "Threads that handle requests", FIELD(worker_threads)},
    {"server.ingest_threads", "ingest-threads", "STACKHOUSE_INGEST_THREADS", Kind::kInt,
     "Threads that decode and store pushed profiles (0: twice the cores)", FIELD(ingest_threads)},
    {"server.multitenancy", "multitenancy", "STACKHOUSE_MULTITENANCY", Kind::kBool,
     "Take the tenant from X-Scope-OrgID (default anonymous)", FIELD(multitenancy)},
    {"server.self_profiling", "self-profiling", "STACKHOUSE_SELF_PROFILING", Kind::kBool,
     "Profile the server itself with libstackhouse (service stackhouse-server)", FIELD(self_profiling)},
};

#undef FIELD

StatusOr<int64_t> ParseBytes(std::string_view s) {
  std::string_view t = TrimSpace(s);
  int64_t mult = 1;
  auto strip = [&](std::string_view suffix, int64_t m) {
    if (t.size() > suffix.size() && t.ends_with(suffix)) {
      t.remove_suffix(suffix.size());
      mult = m;
      return true;
    }
    return false;
  };
  strip("KiB", 1 << 10) || strip("MiB", 1 << 20) || strip("GiB", int64_t{1} << 30) ||
      strip("KB", 1000) || strip("MB", 1000000) || strip("GB", 1000000000) || strip("B", 1);
  auto v = ParseInt64(TrimSpace(t));
  if (!v || *v < 0) return InvalidArgumentError(StrCat("bad size ", Quote(s)));
  return *v * mult;
}

Status Set(const Option& o, std::string_view value, ServerConfig* c, const std::string& source) {
  void* f = o.field(*c);
  auto bad = [&](const Status& s) {
    return InvalidArgumentError(StrCat(source, ": ", s.message()));
  };
  switch (o.kind) {
    case Kind::kString:
      *static_cast<std::string*>(f) = std::string(value);
      return OkStatus();
    case Kind::kInt: {
      auto v = ParseInt64(TrimSpace(value));
      if (!v || *v < 0) return bad(InvalidArgumentError(StrCat("bad number ", Quote(value))));
      *static_cast<int64_t*>(f) = *v;
      return OkStatus();
    }
    case Kind::kBytes: {
      auto v = ParseBytes(value);
      if (!v.ok()) return bad(v.status());
      *static_cast<int64_t*>(f) = *v;
      return OkStatus();
    }
    case Kind::kDuration: {
      int64_t ns;
      if (TrimSpace(value) == "0") {
        ns = 0;
      } else {
        auto v = ParseDuration(value);
        if (!v.ok()) return bad(v.status());
        ns = *v;
      }
      // read_timeout is kept in seconds.
      if (std::string_view(o.flag) == "read-timeout") ns /= 1000000000;
      *static_cast<int64_t*>(f) = ns;
      return OkStatus();
    }
    case Kind::kDouble: {
      auto v = ParseDouble(TrimSpace(value));
      if (!v || *v < 0) return bad(InvalidArgumentError(StrCat("bad number ", Quote(value))));
      *static_cast<double*>(f) = *v;
      return OkStatus();
    }
    case Kind::kBool: {
      std::string_view t = TrimSpace(value);
      if (t == "true" || t == "1" || t == "yes") {
        *static_cast<bool*>(f) = true;
      } else if (t == "false" || t == "0" || t == "no") {
        *static_cast<bool*>(f) = false;
      } else {
        return bad(InvalidArgumentError(StrCat("bad boolean ", Quote(value))));
      }
      return OkStatus();
    }
  }
  return OkStatus();
}

// Finds a YAML node by a dotted path. (Only const access: yaml-cpp's
// non-const operator[] inserts, and Node assignment rebinds content.)
std::optional<YAML::Node> Lookup(const YAML::Node& node, const std::vector<std::string_view>& parts,
                                 size_t i = 0) {
  if (i == parts.size()) return node;
  if (!node.IsMap()) return std::nullopt;
  const YAML::Node child = node[std::string(parts[i])];
  if (!child.IsDefined()) return std::nullopt;
  return Lookup(child, parts, i + 1);
}

// Every key path of the file must be an option (or a section of options):
// a typo is an error, not a silently ignored setting.
Status CheckKeys(const YAML::Node& node, const std::string& prefix, const std::string& file) {
  if (!node.IsMap()) return OkStatus();
  for (const auto& kv : node) {
    std::string key = prefix.empty() ? kv.first.as<std::string>()
                                     : prefix + "." + kv.first.as<std::string>();
    if (key == "scrape_configs") continue;  // checked by ParseScrapeConfigs
    bool known = false, section = false;
    for (const Option& o : kOptions) {
      if (key == o.yaml) known = true;
      if (std::string_view(o.yaml).starts_with(key + ".")) section = true;
    }
    if (section && kv.second.IsMap()) {
      SH_RETURN_IF_ERROR(CheckKeys(kv.second, key, file));
    } else if (!known) {
      return InvalidArgumentError(StrCat(file, ": unknown key ", key, " (see --help)"));
    }
  }
  return OkStatus();
}

}  // namespace

Status SplitHostPort(const std::string& addr, std::string* host, int* port) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return InvalidArgumentError(StrCat("address ", Quote(addr), " has no :port"));
  auto p = ParseInt64(addr.substr(colon + 1));
  if (!p || *p < 0 || *p > 65535) return InvalidArgumentError(StrCat("bad port in ", Quote(addr)));
  *host = addr.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  *port = static_cast<int>(*p);
  return OkStatus();
}

StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv, int first, bool* help) {
  ServerConfig c;
  *help = false;
  // Flags first (collected, applied last), to find --config.
  std::vector<std::pair<const Option*, std::string>> flag_values;
  std::string config_path;
  if (const char* e = std::getenv("STACKHOUSE_CONFIG")) config_path = e;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return c;
    }
    if (!arg.starts_with("--")) return InvalidArgumentError(StrCat("unexpected argument ", Quote(arg)));
    std::string name = arg.substr(2), value;
    size_t eq = name.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Option* opt = nullptr;
    for (const Option& o : kOptions) {
      if (name == o.flag) opt = &o;
    }
    if (name == "config") {
      if (!has_value) {
        if (i + 1 >= argc) return InvalidArgumentError("--config needs a file");
        value = argv[++i];
      }
      config_path = value;
      continue;
    }
    if (opt == nullptr) return InvalidArgumentError(StrCat("unknown flag --", name, " (see --help)"));
    if (!has_value) {
      if (opt->kind == Kind::kBool) {
        value = "true";
      } else {
        if (i + 1 >= argc) return InvalidArgumentError(StrCat("--", name, " needs a value"));
        value = argv[++i];
      }
    }
    flag_values.push_back({opt, value});
  }
  if (!config_path.empty()) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(config_path);
    } catch (const std::exception& e) {
      return InvalidArgumentError(StrCat(config_path, ": ", e.what()));
    }
    if (root && !root.IsNull() && !root.IsMap()) {
      return InvalidArgumentError(StrCat(config_path, ": the top level must be a mapping"));
    }
    SH_RETURN_IF_ERROR(CheckKeys(root, "", config_path));
    if (root && root.IsMap() && root["scrape_configs"]) {
      const YAML::Node scrape = root["scrape_configs"];
      SH_ASSIGN_OR_RETURN(c.scrape_configs, ParseScrapeConfigs(&scrape, config_path));
    }
    for (const Option& o : kOptions) {
      std::optional<YAML::Node> n = Lookup(root, Split(o.yaml, '.'));
      if (!n || n->IsNull()) continue;
      if (!n->IsScalar()) {
        return InvalidArgumentError(StrCat(config_path, ": ", o.yaml, " must be a scalar"));
      }
      SH_RETURN_IF_ERROR(Set(o, n->Scalar(), &c, StrCat(config_path, ": ", o.yaml)));
    }
  }
  for (const Option& o : kOptions) {
    if (const char* e = std::getenv(o.env)) SH_RETURN_IF_ERROR(Set(o, e, &c, o.env));
  }
  for (const auto& [o, v] : flag_values) SH_RETURN_IF_ERROR(Set(*o, v, &c, StrCat("--", o->flag)));
  if (c.log_format != "json" && c.log_format != "logfmt") {
    return InvalidArgumentError("log format must be json or logfmt");
  }
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error") {
    return InvalidArgumentError("log level must be debug, info, warn or error");
  }
  std::string host;
  int port;
  SH_RETURN_IF_ERROR(SplitHostPort(c.http_addr, &host, &port).WithPrefix("http_addr"));
  if (!c.otlp_http_addr.empty()) {
    SH_RETURN_IF_ERROR(SplitHostPort(c.otlp_http_addr, &host, &port).WithPrefix("otlp.http_addr"));
  }
  if (!c.otlp_grpc_addr.empty()) {
    SH_RETURN_IF_ERROR(SplitHostPort(c.otlp_grpc_addr, &host, &port).WithPrefix("otlp.grpc_addr"));
  }
  if (c.worker_threads < 1 || c.http_threads < 1) return InvalidArgumentError("threads must be >= 1");
  if (c.ingest_threads < 0 || c.ingest_threads > 4096) {
    return InvalidArgumentError("ingest-threads must be between 0 (twice the cores) and 4096");
  }
  return c;
}

std::string ServerConfigHelp() {
  ServerConfig defaults;
  std::string out =
      "usage: stackhouse server [--config FILE] [--option value ...]\n\n"
      "Runs the Stackhouse server: Pyroscope-compatible ingest and query APIs over the\n"
      "embedded store. Every option can be set in the YAML file (key in brackets), by\n"
      "an environment variable or by a flag; flags win over variables, variables over\n"
      "the file.\n\n"
      "  --config FILE (STACKHOUSE_CONFIG)\n      YAML configuration file\n";
  for (const Option& o : kOptions) {
    void* f = o.field(defaults);
    std::string def;
    switch (o.kind) {
      case Kind::kString: def = *static_cast<std::string*>(f); break;
      case Kind::kInt: case Kind::kBytes: def = std::to_string(*static_cast<int64_t*>(f)); break;
      case Kind::kDuration: {
        int64_t v = *static_cast<int64_t*>(f);
        def = std::string_view(o.flag) == "read-timeout" ? StrCat(v, "s") : StrCat(v / 1000000000, "s");
        break;
      }
      case Kind::kDouble: def = StrCat(*static_cast<double*>(f)); break;
      case Kind::kBool: def = *static_cast<bool*>(f) ? "true" : "false"; break;
    }
    out += StrCat("  --", o.flag, " (", o.env, ") [", o.yaml, "]\n      ", o.help, " (default ",
                  def, ")\n");
  }
  return out;
}

}  // namespace stackhouse::server
