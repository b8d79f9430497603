// Configuration of `stackhouse server`: every option can come from the YAML
// file (--config FILE), an environment variable or a flag; flags win over
// the environment, which wins over the file, which wins over the defaults.
// One table (kOptions in config.cc) lists each option once with its YAML
// key, flag, variable, type and help, so --help documents every option.
#ifndef STACKHOUSE_SERVER_CONFIG_H_
#define STACKHOUSE_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace stackhouse::server {

// Pull mode: profiles scraped from pprof endpoints (scrape_configs in the
// YAML file, in the shape of Prometheus's).
struct ScrapeProfileConfig {
  std::string name;   // process_cpu, memory, mutex, block, goroutine, or a custom name
  std::string path;   // e.g. /debug/pprof/heap; CPU gets ?seconds=N added
  bool delta = false;  // cumulative: store the change between scrapes
};

struct ScrapeTargetGroup {
  std::vector<std::string> targets;                         // host:port
  std::vector<std::pair<std::string, std::string>> labels;  // extra labels
};

struct ScrapeConfig {
  std::string job_name;
  int64_t interval_ns = int64_t{15} * 1000000000;
  int64_t timeout_ns = 0;       // 0 = the interval (CPU: its seconds + 10 s)
  int64_t cpu_seconds = 0;      // 0 = the interval minus one second, at least 1
  std::string scheme = "http";  // http or https
  std::string tenant;           // "" = anonymous
  std::vector<ScrapeTargetGroup> static_configs;
  std::vector<ScrapeProfileConfig> profiles;  // enabled ones
};

struct ServerConfig {
  // Listening and storage.
  std::string http_addr = ":4040";
  // OTLP/HTTP's own port (the main port serves it too); a busy port there
  // is logged, not fatal.
  std::string otlp_http_addr = ":4318";
  // OTLP/gRPC (ProfilesService/Export); "" = off. A busy port is logged.
  std::string otlp_grpc_addr = ":4317";
  std::string data_dir = "./data";
  std::string ui_dir;  // the built web UI; "" = found next to the binary
  std::string log_level = "info";
  std::string log_format = "json";  // json or logfmt
  // Storage.
  int64_t retention_ns = int64_t{30} * 24 * 3600 * 1000000000;
  int64_t head_block_duration_ns = int64_t{15} * 60 * 1000000000;
  int64_t head_max_bytes = int64_t{512} << 20;
  // Protection.
  int64_t max_body_bytes = int64_t{16} << 20;           // compressed request body
  int64_t max_decompressed_bytes = int64_t{64} << 20;   // after gunzip
  int64_t read_timeout_s = 30;                          // header/body read and keep-alive idle
  int64_t max_connections = 4096;
  int64_t http_threads = 2;
  int64_t worker_threads = 64;
  int64_t ingest_threads = 0;  // 0: twice the cores
  double ingestion_rate_mb = 4;                         // per tenant, MB/s; 0 = unlimited
  double ingestion_burst_mb = 8;
  int64_t max_query_range_ns = int64_t{32} * 24 * 3600 * 1000000000;
  int64_t max_nodes_default = 8192;
  int64_t max_nodes_limit = 1 << 20;
  // Store limits.
  int64_t max_labels_per_series = 30;
  int64_t max_label_name_length = 1024;
  int64_t max_label_value_length = 2048;
  int64_t max_samples_per_profile = 1 << 20;
  int64_t max_series_per_tenant = 100000;
  // Tenancy.
  bool multitenancy = true;  // honour X-Scope-OrgID (else every request is "anonymous")
  // Self-profiling: CPU profiles of the server, sent to itself.
  bool self_profiling = true;
  // Pull mode (YAML only).
  std::vector<ScrapeConfig> scrape_configs;
};

// Parses the configuration from flags (argv[first..]), the environment and
// the YAML file named by --config / STACKHOUSE_CONFIG. `help` is set when
// --help was given. Errors name the option and the source.
StatusOr<ServerConfig> LoadServerConfig(int argc, char** argv, int first, bool* help);

// The --help text: every option with its flag, variable, YAML key, default.
std::string ServerConfigHelp();

// Parses the scrape_configs list of the YAML file (`yaml` is a YAML::Node;
// void* keeps yaml-cpp out of this header). Errors name the job and key.
StatusOr<std::vector<ScrapeConfig>> ParseScrapeConfigs(const void* yaml, const std::string& file);

// "host:port" or ":port" -> (host, port); host "" means all interfaces.
Status SplitHostPort(const std::string& addr, std::string* host, int* port);

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_CONFIG_H_
