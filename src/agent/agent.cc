#include "agent/agent.h"

#include <re2/re2.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "base/clock.h"
#include "base/gzip.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/strings.h"
#include "profile/builder.h"
#include "profile/pprof.h"
#include "sampler/unwind/stack_walk_core.h"
#include "sampler/uploader.h"

namespace stackhouse::agent {
namespace {

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

size_t Agent::KeyHash::operator()(const Key& k) const {
  uint64_t h = HashBytes(k.pcs.data(), k.pcs.size() * sizeof(uint64_t));
  return static_cast<size_t>(HashMix(h, (uint64_t(k.pid) << 8) ^ k.kernel_frames));
}

Agent::Agent(const AgentOptions& options) : options_(options) {}

Agent::~Agent() = default;

StatusOr<std::unique_ptr<Agent>> Agent::Create(const AgentOptions& options) {
  std::unique_ptr<Agent> a(new Agent(options));
  if (a->options_.host.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    a->options_.host = host;
  }
  for (const auto& [flag, pattern] : {std::pair<const char*, const std::string&>{"--comm", options.comm_regex},
                                       std::pair<const char*, const std::string&>{"--cgroup", options.cgroup_regex}}) {
    if (pattern.empty()) continue;
    RE2 re(pattern);
    if (!re.ok()) return InvalidArgumentError(StrCat(flag, ": ", re.error()));
  }
  auto rules = ParseServiceRules(options.service_rules);
  if (!rules.ok()) return rules.status().WithPrefix("--service-rules");
  a->processes_.SetServiceRules(std::move(*rules));
  if (options.upload_interval_ms < 100) return InvalidArgumentError("the upload interval must be at least 100 ms");
  SH_RETURN_IF_ERROR(a->perf_.Open(options.sample_rate_hz, options.dwarf_unwind ? options.stack_copy_bytes : 0));
  Agent* self = a.get();
  a->perf_.SetExecCallback([self](int pid) {
    // Read it afresh (a sample between fork and exec saw the parent).
    self->processes_.Forget(pid);
    self->skipped_.erase(pid);
    self->execs_++;
  });
  auto k = Kallsyms::Load();
  if (k.ok()) {
    a->kallsyms_ = std::move(*k);
  } else {
    LogWarn("kernel frames stay unnamed", {{"error", k.status().message()}});
  }
  if (!options.server.empty()) {
    sampler::UploaderOptions uo;
    uo.tenant = options.tenant;
    uo.max_queued = 64;  // one profile per service per interval
    a->uploader_ = std::make_unique<sampler::Uploader>(uo);
  }
  LogInfo("agent started", {{"engine", "perf"},
                            {"unwind", options.dwarf_unwind ? "eh_frame+fp" : "fp"},
                            {"cpus", a->perf_.cpus()},
                            {"hz", options.sample_rate_hz},
                            {"kernel_symbols", static_cast<int64_t>(a->kallsyms_ ? a->kallsyms_->size() : 0)}});
  return a;
}

void Agent::OnSample(const RawSample& s, int64_t now_ns) {
  if (s.pid <= 0) return;  // the idle task
  if (!options_.pids.empty() && !options_.pids.count(s.pid)) return;
  if (skipped_.count(s.pid)) return;
  ProcessInfo* p = processes_.Get(s.pid, now_ns);  // captured while it lives
  if (p == nullptr) return;
  if ((!options_.comm_regex.empty() && !RE2::PartialMatch(p->comm, options_.comm_regex)) ||
      (!options_.cgroup_regex.empty() && !RE2::PartialMatch(p->cgroup, options_.cgroup_regex))) {
    skipped_.insert(s.pid);
    return;
  }
  Key key;
  key.pid = s.pid;
  key.kernel_frames = static_cast<uint32_t>(s.kernel.size());
  key.pcs.reserve(s.kernel.size() + s.user.size());
  key.pcs.insert(key.pcs.end(), s.kernel.begin(), s.kernel.end());
  // User frames: unwind the copied stack with .eh_frame (code without frame
  // pointers); keep the kernel's frame-pointer chain when it went further.
  size_t dwarf_frames = 0;
  if (s.has_user_regs && s.stack != nullptr && s.stack_size >= 8) {
    const uint64_t lo = s.sp, hi = s.sp + s.stack_size;
    auto load = [&](uintptr_t addr, uintptr_t* out) {
      if (addr < lo || addr + 8 > hi) return false;
      memcpy(out, s.stack + (addr - lo), 8);
      return true;
    };
    auto find = [&](uintptr_t pc) { return processes_.FindRow(p, pc); };
    int64_t t0 = MonotonicNanos();
    dwarf_frames = static_cast<size_t>(sampler::unwind::WalkStackWith(
        sampler::unwind::Regs{s.ip, s.sp, s.bp}, hi, load, find, unwound_, kMaxUserFrames));
    dwarf_unwound_++;
    dwarf_unwind_ns_ += MonotonicNanos() - t0;
  }
  if (dwarf_frames > s.user.size()) {
    key.pcs.insert(key.pcs.end(), unwound_, unwound_ + dwarf_frames);
  } else {
    key.pcs.insert(key.pcs.end(), s.user.begin(), s.user.end());
  }
  counts_[std::move(key)]++;
}

std::vector<std::pair<std::string, profile::Profile>> Agent::Export(int64_t start_ns, int64_t end_ns) {
  struct PerService {
    profile::ProfileBuilder b;
    std::map<std::pair<int, uint64_t>, uint32_t> locations;  // (pid or -1 for kernel, addr) -> location
    std::map<std::string, uint32_t> mappings;                // path -> mapping
  };
  std::map<std::string, PerService> services;
  const int64_t period = 1000000000LL / options_.sample_rate_hz;
  for (const auto& [key, count] : counts_) {
    ProcessInfo* p = processes_.Get(key.pid, MonotonicNanos());
    if (p == nullptr) continue;
    PerService& ps = services[p->service];
    profile::ProfileBuilder& b = ps.b;
    if (b.profile().sample_types.empty()) {
      profile::Profile& pr = b.profile();
      pr.sample_types = {{b.String("samples"), b.String("count")}, {b.String("cpu"), b.String("nanoseconds")}};
      pr.period_type = {b.String("cpu"), b.String("nanoseconds")};
      pr.period = period;
      pr.time_nanos = start_ns;
      pr.duration_nanos = end_ns - start_ns;
    }
    auto mapping_of = [&](const std::string& path, uint64_t start, uint64_t limit, uint64_t offset,
                          const std::string& build_id) {
      auto it = ps.mappings.find(path);
      if (it != ps.mappings.end()) return it->second;
      profile::Mapping m;
      m.memory_start = start;
      m.memory_limit = limit;
      m.file_offset = offset;
      m.filename = b.String(path);
      m.build_id = b.String(build_id);
      m.has_functions = true;
      uint32_t id = b.Mapping(m);
      ps.mappings.emplace(path, id);
      return id;
    };
    std::vector<uint32_t> stack;
    stack.reserve(key.pcs.size());
    for (size_t i = 0; i < key.pcs.size(); ++i) {
      uint64_t addr = key.pcs[i];
      bool kernel = i < key.kernel_frames;
      auto loc_key = std::make_pair(kernel ? -1 : key.pid, addr);
      auto found = ps.locations.find(loc_key);
      if (found != ps.locations.end()) {
        stack.push_back(found->second);
        continue;
      }
      std::vector<profile::Line> lines;
      uint32_t mapping = 0;
      if (kernel) {
        std::string_view name = kallsyms_ ? kallsyms_->Lookup(addr) : std::string_view();
        lines.push_back({b.Function(name.empty() ? Hex(addr) : std::string(name)), 0, 0});
        mapping = mapping_of("[kernel.kallsyms]", 0, 0, 0, "");
      } else {
        bool exact = i == key.kernel_frames && key.kernel_frames == 0;
        UserFrames f = processes_.Resolve(p, addr, exact);
        if (f.mapping != nullptr) {
          mapping = mapping_of(f.mapping->path, f.mapping->start, f.mapping->limit, f.mapping->file_offset,
                               f.build_id);
        }
        for (const symbolize::Frame& fr : f.frames) {
          uint32_t fn = b.Function(b.String(fr.function), b.String(fr.function), b.String(fr.file), 0);
          lines.push_back({fn, fr.line, 0});
        }
        if (lines.empty()) {
          // Unsymbolized: the address and mapping (with build id) travel on.
          std::string name = Hex(addr);
          if (f.mapping != nullptr) name += " (" + f.mapping->path.substr(f.mapping->path.rfind('/') + 1) + ")";
          lines.push_back({b.Function(name), 0, 0});
        }
      }
      uint32_t loc = b.Location(mapping, addr, lines);
      ps.locations.emplace(loc_key, loc);
      stack.push_back(loc);
    }
    std::vector<profile::Label> labels = {
        {b.String("pid"), b.String(std::to_string(key.pid)), 0, 0},
        {b.String("comm"), b.String(p->comm), 0, 0},
        {b.String("exe"), b.String(p->exe), 0, 0},
    };
    if (!p->container_id.empty()) labels.push_back({b.String("container_id"), b.String(p->container_id), 0, 0});
    int64_t values[2] = {count, count * period};
    b.AddSample(stack, values, labels);
  }
  std::vector<std::pair<std::string, profile::Profile>> out;
  for (auto& [service, ps] : services) out.emplace_back(service, ps.b.Finish());
  return out;
}

void Agent::Ship(int64_t start_ns, int64_t end_ns) {
  auto profiles = Export(start_ns, end_ns);
  counts_.clear();
  skipped_.clear();
  processes_.Expire(MonotonicNanos() - 3 * options_.upload_interval_ms * 1000000);
  for (auto& [service, p] : profiles) {
    profiles_++;
    std::string gz = profile::EncodePprofGzip(p);
    if (!options_.output_dir.empty()) {
      std::string path = StrCat(options_.output_dir, "/", service, ".", end_ns, ".pb.gz");
      if (FILE* f = fopen(path.c_str(), "wb")) {
        fwrite(gz.data(), 1, gz.size(), f);
        fclose(f);
      }
    }
    if (uploader_) {
      sampler::Upload u;
      std::string name = StrCat(service, "{host=", options_.host, "}");
      u.url = StrCat(options_.server, "/ingest?name=", sampler::Uploader::Escape(name), "&from=",
                     start_ns / 1000000000, "&until=", (end_ns + 999999999) / 1000000000,
                     "&format=pprof&spyName=stackhouse-agent&sampleRate=", options_.sample_rate_hz);
      u.body = std::move(gz);
      uploader_->Enqueue(std::move(u));
    }
  }
}

void Agent::Run(const std::atomic<bool>* stop) {
  int64_t interval_ns = options_.upload_interval_ms * 1000000;
  int64_t start_real = RealtimeNanos();
  const int64_t started = MonotonicNanos();
  int64_t next = started + interval_ns;
  std::mt19937_64 rng(std::random_device{}());
  bool interval_selected = true;
  bool sampling = true;
  auto decide = [&] {
    interval_selected = options_.host_fraction >= 1.0 ||
                        std::uniform_real_distribution<double>(0, 1)(rng) < options_.host_fraction;
  };
  decide();
  while (!stop->load()) {
    int64_t now = MonotonicNanos();
    bool want = interval_selected;
    if (want && options_.duty_period_ms > 0) {
      want = ((now - started) / 1000000) % options_.duty_period_ms < options_.duty_on_ms;
    }
    if (want != sampling) {
      perf_.SetEnabled(want);
      sampling = want;
    }
    perf_.Poll(100, [&](const RawSample& s) { OnSample(s, MonotonicNanos()); });
    {
      AgentStats snapshot = Collect();
      std::lock_guard<std::mutex> lock(stats_mu_);
      stats_snapshot_ = snapshot;
    }
    if (MonotonicNanos() >= next) {
      int64_t end_real = RealtimeNanos();
      Ship(start_real, end_real);
      start_real = end_real;
      next += interval_ns;
      decide();
    }
  }
  perf_.Poll(0, [&](const RawSample& s) { OnSample(s, MonotonicNanos()); });
  Ship(start_real, RealtimeNanos());
  if (uploader_ && !uploader_->Drain(5000)) {
    LogWarn("exiting with unsent profiles", {{"error", uploader_->stats().last_error}});
  }
  AgentStats snapshot = Collect();
  std::lock_guard<std::mutex> lock(stats_mu_);
  stats_snapshot_ = snapshot;
}

AgentStats Agent::stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_snapshot_;
}

AgentStats Agent::Collect() const {
  AgentStats s;
  s.samples = perf_.samples();
  s.lost = perf_.lost();
  s.profiles = profiles_;
  if (uploader_) {
    auto u = uploader_->stats();
    s.uploads_sent = u.sent;
    s.upload_failures = u.failed_attempts;
  }
  s.processes = processes_.processes();
  s.execs = execs_;
  s.unwound = dwarf_unwound_;
  s.unwind_ns = dwarf_unwind_ns_ - processes_.table_build_ns();
  s.table_build_ns = processes_.table_build_ns();
  return s;
}

}  // namespace stackhouse::agent
