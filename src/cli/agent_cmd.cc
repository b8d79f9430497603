// stackhouse agent: profiles every process of the host until SIGTERM/SIGINT.
#include <signal.h>

#include <atomic>
#include <functional>
#include <memory>
#include <cstdio>

#include "agent/agent.h"
#include "base/log.h"
#include "base/time_parse.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "sampler/config.h"
#include "server/config.h"
#include "server/http.h"
#include "server/metrics.h"

namespace stackhouse::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnStop(int) { g_stop = true; }

}  // namespace

int AgentMain(int argc, char** argv, int first) {
  Flags flags;
  flags.Value("server", "", "Server URL to send profiles to (http://host:4040)");
  flags.Value("tenant", "", "Tenant (X-Scope-OrgID)");
  flags.Value("otlp-endpoint", "",
              "Also send OTLP/HTTP profiles here, e.g. an OpenTelemetry Collector: http://host:4318 "
              "(/v1development/profiles is added when the URL has no path)");
  flags.Value("sample-rate", "19", "Samples per second per CPU");
  flags.Value("upload-interval", "10s", "How often profiles are sent (10s, 1m, 500ms)");
  flags.Value("comm", "", "Only processes whose name matches this regular expression");
  flags.Value("cgroup", "", "Only processes whose cgroup path matches this regular expression");
  flags.Value("pid", "", "Only these process ids (comma-separated)");
  flags.Value("service-rules", "",
              "How to name services: FIELD:REGEX=NAME;... with FIELD comm, exe or cgroup and \\1.. "
              "for groups (default: the executable's name)");
  flags.Value("host", "", "The host label (default: the host name)");
  flags.Value("output-dir", "", "Also write each profile to this folder as .pb.gz");
  flags.Value("log-level", "info", "debug, info, warn or error");
  flags.Value("duty-cycle", "", "Sample only part of the time: ON/PERIOD, e.g. 10s/60s");
  flags.Value("host-fraction", "1", "Sample in each interval with this probability (fleets)");
  flags.Value("metrics-addr", "127.0.0.1:4041", "Serve the agent's /metrics here (\"\" = off)");
  flags.Value("engine", "auto", "auto (BPF, else perf events), bpf or perf");
  flags.Switch("simulate-no-bpf", "Behave as if BPF could not be loaded (to test the fallback)");
  flags.Value("unwind", "auto",
              "auto (frame pointers, or .eh_frame from stack copies for programs built without them) "
              "or fp (frame pointers only: cheaper, shorter stacks for such programs)");
  flags.Switch("off-cpu", "Also profile time spent blocked, on the stack that blocked (BPF engine)");
  flags.Value("off-cpu-min", "0", "With --off-cpu: ignore blocked periods shorter than this (e.g. 100us)");
  Status s = flags.Parse(argc, argv, first);
  if (flags.help()) {
    std::printf(
        "usage: stackhouse agent --server URL [options]\n\n"
        "Samples the CPU time of every process on this host (a BPF program on a CPU\n"
        "clock on every CPU, or plain perf events without BPF; kernel and user\n"
        "stacks, with or without frame pointers), symbolizes the stacks (kernel symbols, ELF and\n"
        "DWARF of each process's files) and sends one CPU profile per service every\n"
        "upload interval, labelled with pid, comm, exe, container_id and host. The\n"
        "service is the executable's name. Needs root (or CAP_BPF and CAP_PERFMON).\n"
        "Stops on\n"
        "SIGTERM or SIGINT after sending what it has. With --off-cpu it also sends\n"
        "an off_cpu profile: where threads block, and for how long. See docs/agent.md.\n\n"
        "Options:\n%s",
        flags.Usage().c_str());
    return 0;
  }
  if (!s.ok()) return Fail("agent", s.message() + " (see --help)", 2);
  agent::AgentOptions o;
  o.server = flags.Get("server");
  while (o.server.ends_with('/')) o.server.pop_back();
  o.otlp_endpoint = flags.Get("otlp-endpoint");
  if (!o.otlp_endpoint.empty()) {
    if (!o.otlp_endpoint.starts_with("http://") && !o.otlp_endpoint.starts_with("https://")) {
      return Fail("agent", StrCat("--otlp-endpoint ", Quote(o.otlp_endpoint), " must start with http:// or https://"), 2);
    }
    size_t scheme_end = o.otlp_endpoint.find("//") + 2;
    if (o.otlp_endpoint.find('/', scheme_end) == std::string::npos) o.otlp_endpoint += "/v1development/profiles";
  }
  if (o.server.empty() && flags.Get("output-dir").empty() && o.otlp_endpoint.empty()) {
    return Fail("agent", "give --server URL (or --otlp-endpoint URL, or --output-dir DIR)", 2);
  }
  if (!o.server.empty() && !o.server.starts_with("http://") && !o.server.starts_with("https://")) {
    return Fail("agent", StrCat("--server ", Quote(o.server), " must start with http:// or https://"), 2);
  }
  o.tenant = flags.Get("tenant");
  auto hz = ParseInt64(flags.Get("sample-rate"));
  if (!hz || *hz < 1 || *hz > 10000) return Fail("agent", "--sample-rate must be 1..10000", 2);
  o.sample_rate_hz = static_cast<int>(*hz);
  auto interval = sampler::ParseDurationMs(flags.Get("upload-interval"));
  if (!interval.ok()) return Fail("agent", "--upload-interval: " + interval.status().message(), 2);
  o.upload_interval_ms = *interval;
  o.comm_regex = flags.Get("comm");
  o.cgroup_regex = flags.Get("cgroup");
  o.service_rules = flags.Get("service-rules");
  for (std::string_view p : Split(flags.Get("pid"), ',')) {
    if (TrimSpace(p).empty()) continue;
    auto pid = ParseInt64(TrimSpace(p));
    if (!pid || *pid <= 0) return Fail("agent", StrCat("--pid: bad process id ", Quote(p)), 2);
    o.pids.insert(static_cast<int>(*pid));
  }
  o.host = flags.Get("host");
  if (!flags.Get("duty-cycle").empty()) {
    std::string_view d = flags.Get("duty-cycle");
    size_t slash = d.find('/');
    auto on = sampler::ParseDurationMs(d.substr(0, slash));
    auto period = slash == std::string_view::npos ? on : sampler::ParseDurationMs(d.substr(slash + 1));
    if (slash == std::string_view::npos || !on.ok() || !period.ok() || *on == 0 || *on > *period) {
      return Fail("agent", StrCat("--duty-cycle: want ON/PERIOD with ON <= PERIOD, like 10s/60s, got ", Quote(d)), 2);
    }
    o.duty_on_ms = *on;
    o.duty_period_ms = *period;
  }
  auto fraction = ParseDouble(flags.Get("host-fraction"));
  if (!fraction || !(*fraction > 0 && *fraction <= 1)) return Fail("agent", "--host-fraction must be in (0, 1]", 2);
  o.host_fraction = *fraction;
  o.output_dir = flags.Get("output-dir");
  o.engine = flags.Get("engine");
  if (o.engine != "auto" && o.engine != "bpf" && o.engine != "perf") {
    return Fail("agent", StrCat("--engine must be auto, bpf or perf, not ", Quote(o.engine)), 2);
  }
  o.simulate_no_bpf = flags.On("simulate-no-bpf");
  if (flags.Get("unwind") != "auto" && flags.Get("unwind") != "fp") {
    return Fail("agent", StrCat("--unwind must be auto or fp, not ", Quote(flags.Get("unwind"))), 2);
  }
  o.dwarf_unwind = flags.Get("unwind") == "auto";
  o.off_cpu = flags.On("off-cpu");
  if (flags.Get("off-cpu-min") != "0") {
    auto off_min = ParseDuration(flags.Get("off-cpu-min"));
    if (!off_min.ok() || *off_min < 0) return Fail("agent", "--off-cpu-min: want a duration like 100us or 1ms", 2);
    o.off_cpu_min_ns = *off_min;
  }
  LogLevel level = LogLevel::kInfo;
  if (!ParseLogLevel(flags.Get("log-level"), &level)) return Fail("agent", "unknown --log-level", 2);
  SetLogLevel(level);

  auto a = agent::Agent::Create(o);
  if (!a.ok()) return Fail("agent", a.status().message());
  // The agent's own metrics, read from its stats snapshot.
  server::MetricsRegistry metrics;
  std::unique_ptr<server::HttpServer> http;
  if (!flags.Get("metrics-addr").empty()) {
    agent::Agent* ag = a->get();
    auto gauge = [&](const char* name, const char* help, std::function<double(const agent::AgentStats&)> f) {
      metrics.AddGaugeCallback(name, help, [ag, f] { return f(ag->stats()); });
    };
    gauge("stackhouse_agent_samples_total", "CPU samples read", [](const auto& s) { return s.samples; });
    gauge("stackhouse_agent_lost_samples_total", "Samples the kernel dropped (full ring)",
          [](const auto& s) { return s.lost; });
    gauge("stackhouse_agent_profiles_total", "Profiles made (one per service per interval)",
          [](const auto& s) { return s.profiles; });
    gauge("stackhouse_agent_uploads_sent_total", "Profiles the server accepted", [](const auto& s) { return s.uploads_sent; });
    gauge("stackhouse_agent_upload_failures_total", "Failed upload attempts (retried)",
          [](const auto& s) { return s.upload_failures; });
    gauge("stackhouse_agent_processes", "Processes tracked", [](const auto& s) { return s.processes; });
    gauge("stackhouse_agent_unwound_samples_total", "Samples unwound from stack copies",
          [](const auto& s) { return s.unwound; });
    std::string host;
    int port = 0;
    Status hp = server::SplitHostPort(flags.Get("metrics-addr"), &host, &port);
    if (!hp.ok()) return Fail("agent", "--metrics-addr: " + hp.message(), 2);
    server::HttpServerOptions ho;
    ho.address = host.empty() ? "0.0.0.0" : host;
    ho.port = port;
    ho.io_threads = 1;
    ho.worker_threads = 1;
    ho.max_connections = 16;
    http = std::make_unique<server::HttpServer>(ho);
    http->Handle("/metrics", [&metrics](const server::HttpRequest&, server::HttpResponse* r) {
      r->content_type = "text/plain; version=0.0.4; charset=utf-8";
      r->body = metrics.Render();
    });
    Status started = http->Start();
    if (!started.ok()) {
      // Profiling matters more than its metrics: go on without them.
      LogWarn("no /metrics", {{"addr", flags.Get("metrics-addr")}, {"error", started.message()}});
      http.reset();
    } else {
      LogInfo("metrics", {{"addr", StrCat(ho.address, ":", http->port())}});
    }
  }
  struct sigaction sa = {};
  sa.sa_handler = OnStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  (*a)->Run(&g_stop);
  if (http) http->Stop(std::chrono::milliseconds(100));
  agent::AgentStats st = (*a)->stats();
  LogInfo("agent stopped", {{"samples", st.samples}, {"lost", st.lost}, {"profiles", st.profiles},
                            {"uploads_sent", st.uploads_sent}, {"upload_failures", st.upload_failures},
                            {"unwound", st.unwound},
                            {"unwind_us_per_sample", st.unwound ? st.unwind_ns / 1000.0 / st.unwound : 0.0},
                            {"unwind_table_build_ms", st.table_build_ns / 1000000.0},
                            {"processes_tracked", static_cast<int64_t>(st.processes)}, {"execs", st.execs}});
  return 0;
}

}  // namespace stackhouse::cli
