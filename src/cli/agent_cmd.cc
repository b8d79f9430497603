// stackhouse agent: profiles every process of the host until SIGTERM/SIGINT.
#include <signal.h>

#include <atomic>
#include <cstdio>

#include "agent/agent.h"
#include "base/log.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "sampler/config.h"

namespace stackhouse::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnStop(int) { g_stop = true; }

}  // namespace

int AgentMain(int argc, char** argv, int first) {
  Flags flags;
  flags.Value("server", "", "Server URL to send profiles to (http://host:4040)");
  flags.Value("tenant", "", "Tenant (X-Scope-OrgID)");
  flags.Value("sample-rate", "19", "Samples per second per CPU");
  flags.Value("upload-interval", "10s", "How often profiles are sent (10s, 1m, 500ms)");
  flags.Value("comm", "", "Only processes whose name matches this regular expression");
  flags.Value("cgroup", "", "Only processes whose cgroup path matches this regular expression");
  flags.Value("pid", "", "Only these process ids (comma-separated)");
  flags.Value("host", "", "The host label (default: the host name)");
  flags.Value("output-dir", "", "Also write each profile to this folder as .pb.gz");
  flags.Value("log-level", "info", "debug, info, warn or error");
  Status s = flags.Parse(argc, argv, first);
  if (flags.help()) {
    std::printf(
        "usage: stackhouse agent --server URL [options]\n\n"
        "Samples the CPU time of every process on this host (perf events on every\n"
        "CPU, kernel and user stacks), symbolizes the stacks (kernel symbols, ELF and\n"
        "DWARF of each process's files) and sends one CPU profile per service every\n"
        "upload interval, labelled with pid, comm, exe, container_id and host. The\n"
        "service is the executable's name. Needs root (or CAP_PERFMON). Stops on\n"
        "SIGTERM or SIGINT after sending what it has. See docs/agent.md.\n\n"
        "Options:\n%s",
        flags.Usage().c_str());
    return 0;
  }
  if (!s.ok()) return Fail("agent", s.message() + " (see --help)", 2);
  agent::AgentOptions o;
  o.server = flags.Get("server");
  while (o.server.ends_with('/')) o.server.pop_back();
  if (o.server.empty() && flags.Get("output-dir").empty()) {
    return Fail("agent", "give --server URL (or --output-dir DIR)", 2);
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
  for (std::string_view p : Split(flags.Get("pid"), ',')) {
    if (TrimSpace(p).empty()) continue;
    auto pid = ParseInt64(TrimSpace(p));
    if (!pid || *pid <= 0) return Fail("agent", StrCat("--pid: bad process id ", Quote(p)), 2);
    o.pids.insert(static_cast<int>(*pid));
  }
  o.host = flags.Get("host");
  o.output_dir = flags.Get("output-dir");
  LogLevel level = LogLevel::kInfo;
  if (!ParseLogLevel(flags.Get("log-level"), &level)) return Fail("agent", "unknown --log-level", 2);
  SetLogLevel(level);

  auto a = agent::Agent::Create(o);
  if (!a.ok()) return Fail("agent", a.status().message());
  struct sigaction sa = {};
  sa.sa_handler = OnStop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  (*a)->Run(&g_stop);
  agent::AgentStats st = (*a)->stats();
  LogInfo("agent stopped", {{"samples", st.samples}, {"lost", st.lost}, {"profiles", st.profiles},
                            {"uploads_sent", st.uploads_sent}, {"upload_failures", st.upload_failures},
                            {"unwound", st.unwound},
                            {"unwind_us_per_sample", st.unwound ? st.unwind_ns / 1000.0 / st.unwound : 0.0},
                            {"unwind_table_build_ms", st.table_build_ns / 1000000.0},
                            {"processes_tracked", static_cast<int64_t>(st.processes)}});
  return 0;
}

}  // namespace stackhouse::cli
