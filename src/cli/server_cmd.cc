// stackhouse server: runs the server until SIGTERM or SIGINT.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <algorithm>

#include <pthread.h>
#include <sys/resource.h>

#include "base/log.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "base/strings.h"
#include "sampler/c_api_internal.h"
#include "sampler/config.h"
#include "server/config.h"
#include "stackhouse/stackhouse.h"
#include "server/server.h"

namespace stackhouse::cli {
namespace {

// The server profiles itself with libstackhouse's core (CPU time only: no
// allocation or lock hooks, those need the interposers of libstackhouse.so,
// and no wall-clock signals, which would mostly show idle worker threads and
// interrupt their waits) and sends the profiles to its own /ingest, so a new
// installation has data to look at. STACKHOUSE_UPLOAD_INTERVAL and
// STACKHOUSE_SAMPLE_RATE are honoured.
bool StartSelfProfiling(const server::ServerConfig& config, int port) {
  std::string host;
  int ignored = 0;
  if (!server::SplitHostPort(config.http_addr, &host, &ignored).ok() || host.empty() ||
      host == "0.0.0.0" || host == "::" || host == "[::]") {
    host = "127.0.0.1";
  }
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  sampler::Config c;
  c.application_name = "stackhouse-server";
  c.server_address = StrCat("http://", host, ":", port);
  c.profiles = STACKHOUSE_PROFILE_CPU;
  c.log_level = "warn";
  if (const char* v = getenv("STACKHOUSE_UPLOAD_INTERVAL")) {
    auto ms = sampler::ParseDurationMs(v);
    if (ms.ok()) c.upload_interval_ms = *ms;
  }
  if (const char* v = getenv("STACKHOUSE_SAMPLE_RATE")) {
    auto hz = ParseUint64(v);
    if (hz) c.sample_rate_hz = static_cast<uint32_t>(*hz);
  }
  Status valid = c.Validate();
  if (!valid.ok() || sampler::StartWithConfig(c) != 0) {
    LogWarn("self-profiling is off", {{"error", valid.ok() ? stackhouse_last_error() : valid.message()}});
    return false;
  }
  LogInfo("self-profiling", {{"service", c.application_name}, {"to", c.server_address}});
  return true;
}

}  // namespace

int ServerMain(int argc, char** argv, int first) {
  bool help = false;
  auto config = server::LoadServerConfig(argc, argv, first, &help);
  if (help) {
    std::fputs(server::ServerConfigHelp().c_str(), stdout);
    return 0;
  }
  if (!config.ok()) return Fail("server", config.status().message() + " (see --help)", 2);
  SetLogFormat(config->log_format == "json");
  LogLevel level = LogLevel::kInfo;
  ParseLogLevel(config->log_level, &level);
  SetLogLevel(level);

  // Room for max_connections sockets plus files: raise the soft limit on
  // descriptors as far as the hard limit allows.
  rlimit nofile = {};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    rlim_t want = static_cast<rlim_t>(config->max_connections) + 1024;
    if (nofile.rlim_cur < want) {
      nofile.rlim_cur = nofile.rlim_max == RLIM_INFINITY ? want : std::min(want, nofile.rlim_max);
      setrlimit(RLIMIT_NOFILE, &nofile);
    }
    if (static_cast<int64_t>(nofile.rlim_cur) < config->max_connections) {
      LogWarn("the descriptor limit is below max_connections",
              {{"limit", static_cast<int64_t>(nofile.rlim_cur)},
               {"max_connections", config->max_connections}});
    }
  }

  // Every thread started from here on inherits the blocked signals; this
  // thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto server = server::Server::Open(*config);
  if (!server.ok()) {
    LogError("cannot open the store", {{"error", server.status().message()}});
    return 1;
  }
  Status s = (*server)->Start();
  if (!s.ok()) {
    LogError("cannot start", {{"error", s.message()}});
    return 1;
  }
  bool self_profiling = config->self_profiling && StartSelfProfiling(*config, (*server)->port());
  int sig = 0;
  sigwait(&signals, &sig);
  LogInfo("shutting down", {{"signal", std::string(strsignal(sig))}});
  if (self_profiling) stackhouse_stop();  // its last upload still finds us up
  s = (*server)->Stop();
  if (!s.ok()) {
    LogError("shutdown failed", {{"error", s.message()}});
    return 1;
  }
  return 0;
}

}  // namespace stackhouse::cli
