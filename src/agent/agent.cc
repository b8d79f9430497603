#include "agent/agent.h"

#include <re2/re2.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "agent/bpf_sampler.h"
#include "agent/perf_sampler.h"
#include "base/clock.h"
#include "base/gzip.h"
#include "otlp/otlp.h"
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
  return static_cast<size_t>(HashMix(h, (uint64_t(k.pid) << 9) ^ (uint64_t(k.off_cpu) << 8) ^ k.kernel_frames));
}

Agent::Agent(const AgentOptions& options) : options_(options) {}

Agent::~Agent() = default;

StatusOr<std::unique_ptr<Agent>> Agent::Create(const AgentOptions& options) {
  std::unique_ptr<Agent> a(new Agent(options));
  // One descriptor per ELF file in use is kept open (see ProcessTable).
  rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
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
  // The BPF engine first; plain perf events when it cannot be loaded.
  Status bpf_status = OkStatus();
  if (options.engine == "auto" || options.engine == "bpf") {
    if (options.simulate_no_bpf) {
      bpf_status = UnavailableError("BPF disabled by --simulate-no-bpf");
    } else {
      BpfOptions bo;
      bo.hz = options.sample_rate_hz;
      bo.off_cpu = options.off_cpu;
      bo.off_cpu_min_ns = options.off_cpu_min_ns;
      auto bpf = BpfSampler::Open(bo);
      if (bpf.ok()) {
        a->engine_ = std::move(*bpf);
      } else {
        bpf_status = bpf.status();
      }
    }
    if (a->engine_ == nullptr) {
      if (options.engine == "bpf") return bpf_status.WithPrefix("the BPF engine");
      LogWarn("BPF engine unavailable; falling back to perf_event ring buffers", {{"reason", bpf_status.message()}});
    }
  } else if (options.engine != "perf") {
    return InvalidArgumentError(StrCat("unknown engine ", Quote(options.engine), " (auto, bpf or perf)"));
  }
  if (a->engine_ == nullptr) {
    if (options.off_cpu) LogWarn("off-CPU profiling needs the BPF engine; profiling CPU time only");
    auto perf = std::make_unique<PerfSampler>();
    Status opened = perf->Open(options.sample_rate_hz, options.dwarf_unwind ? options.stack_copy_bytes : 0);
    if (!opened.ok()) {
      // Both lacked permission: say everything that is missing.
      if (opened.code() == StatusCode::kPermissionDenied && bpf_status.code() == StatusCode::kPermissionDenied) {
        return bpf_status;
      }
      return opened;
    }
    a->engine_ = std::move(perf);
  }
  Agent* self = a.get();
  a->engine_->SetExecCallback([self](int pid) {
    // Read it afresh (a sample between fork and exec saw the parent).
    self->processes_.Forget(pid);
    self->skipped_.erase(pid);
    self->execs_++;
  });
  a->engine_->SetLeafResolver([self](int pid, uint64_t pc) -> int {
    ProcessInfo* p = self->processes_.Get(pid, MonotonicNanos());
    if (p == nullptr) return -1;
    const sampler::unwind::UnwindRow* row = self->processes_.FindRow(p, pc);
    if (row == nullptr) return -1;
    if (row->cfa == sampler::unwind::CfaRule::kRbpOffset) return 0;  // it has a frame
    if (row->cfa != sampler::unwind::CfaRule::kRspOffset || row->cfa_offset < 8) return -1;
    return row->cfa_offset - 8;  // the return address is just below the frame's address
  });
  auto k = Kallsyms::Load();
  if (k.ok()) {
    a->kallsyms_ = std::move(*k);
  } else {
    LogWarn("kernel frames stay unnamed", {{"error", k.status().message()}});
  }
  if (!options.server.empty() || !options.otlp_endpoint.empty()) {
    sampler::UploaderOptions uo;
    uo.tenant = options.tenant;
    uo.max_queued = 64;  // one profile per service per interval
    a->uploader_ = std::make_unique<sampler::Uploader>(uo);
  }
  LogInfo("agent started", {{"engine", a->engine_->name()},
                            {"unwind", options.dwarf_unwind ? "eh_frame+fp" : "fp"},
                            {"off_cpu", options.off_cpu && std::string_view(a->engine_->name()) == "bpf" ? "on" : "off"},
                            {"cpus", a->engine_->cpus()},
                            {"hz", options.sample_rate_hz},
                            {"kernel_symbols", static_cast<int64_t>(a->kallsyms_ ? a->kallsyms_->size() : 0)}});
  return a;
}

void Agent::OnSample(const RawSample& s, int64_t now_ns) {
  if (s.pid <= 0) return;  // the idle task
  if (!options_.pids.empty() && !options_.pids.count(s.pid)) {
    if (s.classify) engine_->SetMode(s.pid, ProcessMode::kSkip);
    return;
  }
  if (skipped_.count(s.pid)) return;
  ProcessInfo* p = processes_.Get(s.pid, now_ns);  // captured while it lives
  if (p == nullptr) return;
  if ((!options_.comm_regex.empty() && !RE2::PartialMatch(p->comm, options_.comm_regex)) ||
      (!options_.cgroup_regex.empty() && !RE2::PartialMatch(p->cgroup, options_.cgroup_regex))) {
    skipped_.insert(s.pid);
    engine_->SetMode(s.pid, ProcessMode::kSkip);
    return;
  }
  if (s.classify) {
    // Frame pointers are walked in the kernel; code without them needs
    // stack copies.
    bool fp = !options_.dwarf_unwind || processes_.HasFramePointers(p);
    engine_->SetMode(s.pid, fp ? ProcessMode::kFramePointers : ProcessMode::kStackCopy);
  }
  if (s.off_cpu) {
    OnOffCpu(s, p);
    return;
  }
  Key key;
  key.pid = s.pid;
  key.off_cpu = s.off_cpu;
  key.kernel_frames = static_cast<uint32_t>(s.kernel.size());
  key.pcs.reserve(s.kernel.size() + s.user.size());
  key.pcs.insert(key.pcs.end(), s.kernel.begin(), s.kernel.end());
  // User frames: unwind the copied stack with .eh_frame (code without frame
  // pointers); keep a frame-pointer walk when it went further.
  size_t dwarf_frames = 0;
  std::vector<uint64_t> fp_in_copy;
  const std::vector<uint64_t>* fp = &s.user;  // the kernel's walk, if any
  if (s.has_user_regs && s.stack != nullptr && s.stack_size >= 8) {
    const uint64_t lo = s.sp, hi = s.sp + s.stack_size;
    auto load = [&](uintptr_t addr, uintptr_t* out) {
      if (addr < lo || addr + 8 > hi) return false;
      memcpy(out, s.stack + (addr - lo), 8);
      return true;
    };
    auto find = [&](uintptr_t pc) { return processes_.FindRow(p, pc); };
    int64_t t0 = MonotonicNanos() - processes_.table_build_ns();
    dwarf_frames = static_cast<size_t>(sampler::unwind::WalkStackWith(
        sampler::unwind::Regs{s.ip, s.sp, s.bp}, hi, load, find, unwound_, kMaxUserFrames));
    dwarf_unwound_++;
    dwarf_unwind_ns_ += MonotonicNanos() - processes_.table_build_ns() - t0;  // tables excluded
    if (s.user.empty()) {
      // The frame-pointer walk the kernel would have made, in the copy.
      fp_in_copy.push_back(s.ip);
      uintptr_t frame = s.bp, next = 0, ret = 0;
      while (fp_in_copy.size() < kMaxUserFrames && frame % 8 == 0 && load(frame, &next) && load(frame + 8, &ret) &&
             ret != 0) {
        fp_in_copy.push_back(ret);
        if (next <= frame) break;
        frame = next;
      }
      fp = &fp_in_copy;
    }
  }
  if (dwarf_frames > fp->size()) {
    key.pcs.insert(key.pcs.end(), unwound_, unwound_ + dwarf_frames);
    if (!fp->empty() && p->roots.size() < 64) {
      // Remember how the stack goes on where frame-pointer walks stop.
      uint64_t outer = fp->back();
      for (size_t i = 0; i + 1 < dwarf_frames; ++i) {
        if (unwound_[i] == outer) {
          p->roots.try_emplace(outer, unwound_ + i + 1, unwound_ + dwarf_frames);
          break;
        }
      }
    }
  } else {
    key.pcs.insert(key.pcs.end(), fp->begin(), fp->end());
    if (!fp->empty()) {
      // A frame-pointer walk: complete its root as an .eh_frame walk did.
      auto it = p->roots.find(fp->back());
      if (it != p->roots.end()) key.pcs.insert(key.pcs.end(), it->second.begin(), it->second.end());
    }
  }
  Value& v = counts_[std::move(key)];
  v.count += s.count;
  v.off_cpu_ns += s.off_cpu_ns;
}

void Agent::OnOffCpu(const RawSample& s, ProcessInfo* p) {
  Key key;
  key.pid = s.pid;
  key.off_cpu = true;
  // The kernel stack, without the frames of the BPF program that took it.
  size_t skip = 0;
  while (kallsyms_ && skip < s.kernel.size() && kallsyms_->Lookup(s.kernel[skip]).starts_with("bpf_")) ++skip;
  key.pcs.assign(s.kernel.begin() + static_cast<ptrdiff_t>(skip), s.kernel.end());
  key.kernel_frames = static_cast<uint32_t>(key.pcs.size());
  bool fp = !s.user.empty() && (!options_.dwarf_unwind || processes_.HasFramePointers(p));
  if (fp) {
    // A frame-pointer walk, with the caller it skips when the function that
    // blocked has no frame, and the root an .eh_frame walk found.
    key.pcs.push_back(s.user[0]);
    if (s.blocked_caller != 0) key.pcs.push_back(s.blocked_caller);
    key.pcs.insert(key.pcs.end(), s.user.begin() + 1, s.user.end());
    auto it = p->roots.find(s.user.back());
    if (it != p->roots.end()) key.pcs.insert(key.pcs.end(), it->second.begin(), it->second.end());
  } else if (s.blocked_pc != 0) {
    // Without frame pointers only these two are sure.
    key.pcs.push_back(s.blocked_pc);
    if (s.blocked_caller != 0) key.pcs.push_back(s.blocked_caller);
  }
  Value& v = counts_[std::move(key)];
  v.count += s.count;
  v.off_cpu_ns += s.off_cpu_ns;
}

std::vector<std::pair<std::string, profile::Profile>> Agent::Export(int64_t start_ns, int64_t end_ns) {
  struct PerService {
    profile::ProfileBuilder b;
    std::map<std::pair<int, uint64_t>, uint32_t> locations;  // (pid or -1 for kernel, addr) -> location
    std::map<std::string, uint32_t> mappings;                // path -> mapping
  };
  // By (service, off-CPU): CPU and off-CPU time are separate profiles.
  std::map<std::pair<std::string, bool>, PerService> services;
  const int64_t period = 1000000000LL / options_.sample_rate_hz;
  for (const auto& [key, value] : counts_) {
    ProcessInfo* p = processes_.Get(key.pid, MonotonicNanos());
    if (p == nullptr) continue;
    PerService& ps = services[{p->service, key.off_cpu}];
    profile::ProfileBuilder& b = ps.b;
    if (b.profile().sample_types.empty()) {
      profile::Profile& pr = b.profile();
      if (key.off_cpu) {
        pr.sample_types = {{b.String("events"), b.String("count")}, {b.String("off_cpu"), b.String("nanoseconds")}};
        pr.period_type = {b.String("off_cpu"), b.String("nanoseconds")};
        pr.period = 1;
      } else {
        pr.sample_types = {{b.String("samples"), b.String("count")}, {b.String("cpu"), b.String("nanoseconds")}};
        pr.period_type = {b.String("cpu"), b.String("nanoseconds")};
        pr.period = period;
      }
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
    int64_t cpu_values[2] = {value.count, value.count * period};
    int64_t off_values[2] = {value.count, value.off_cpu_ns};
    b.AddSample(stack, key.off_cpu ? off_values : cpu_values, labels);
  }
  std::vector<std::pair<std::string, profile::Profile>> out;
  for (auto& [service, ps] : services) out.emplace_back(service.first, ps.b.Finish());
  return out;
}

void Agent::Ship(int64_t start_ns, int64_t end_ns) {
  auto profiles = Export(start_ns, end_ns);
  counts_.clear();
  skipped_.clear();
  processes_.Expire(MonotonicNanos() - 3 * options_.upload_interval_ms * 1000000);
  if (uploader_ && !options_.otlp_endpoint.empty() && !profiles.empty()) {
    // One OTLP export per interval: a resource per service.
    otlp::ExportRequest req;
    for (auto& [service, p] : profiles) {
      otlp::AppendProfile(p, {{"service.name", service}, {"host.name", options_.host}}, &req);
    }
    sampler::Upload u;
    u.url = options_.otlp_endpoint;
    u.body = Gzip(req.SerializeAsString());
    u.content_type = "application/x-protobuf";
    uploader_->Enqueue(std::move(u));
  }
  for (auto& [service, p] : profiles) {
    profiles_++;
    std::string gz = profile::EncodePprofGzip(p);
    if (!options_.output_dir.empty()) {
      bool off_cpu = p.sample_types.size() == 2 && p.str(p.sample_types[1].type) == "off_cpu";
      std::string path = StrCat(options_.output_dir, "/", service, off_cpu ? ".off_cpu." : ".", end_ns, ".pb.gz");
      if (FILE* f = fopen(path.c_str(), "wb")) {
        fwrite(gz.data(), 1, gz.size(), f);
        fclose(f);
      }
    }
    if (uploader_ && !options_.server.empty()) {
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
  const SampleFn on_sample = [this](const RawSample& s) { OnSample(s, MonotonicNanos()); };
  while (!stop->load()) {
    int64_t now = MonotonicNanos();
    bool want = interval_selected;
    if (want && options_.duty_period_ms > 0) {
      want = ((now - started) / 1000000) % options_.duty_period_ms < options_.duty_on_ms;
    }
    if (want != sampling) {
      engine_->SetEnabled(want);
      sampling = want;
    }
    engine_->Poll(100, on_sample);
    {
      AgentStats snapshot = Collect();
      std::lock_guard<std::mutex> lock(stats_mu_);
      stats_snapshot_ = snapshot;
    }
    if (MonotonicNanos() >= next) {
      engine_->Drain(on_sample);
      int64_t end_real = RealtimeNanos();
      Ship(start_real, end_real);
      start_real = end_real;
      next += interval_ns;
      decide();
    }
  }
  engine_->Poll(0, on_sample);
  engine_->Drain(on_sample);
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
  s.samples = engine_->samples();
  s.lost = engine_->lost();
  s.engine = engine_->name();
  s.profiles = profiles_;
  if (uploader_) {
    auto u = uploader_->stats();
    s.uploads_sent = u.sent;
    s.upload_failures = u.failed_attempts;
  }
  s.processes = processes_.processes();
  s.execs = execs_;
  s.unwound = dwarf_unwound_;
  s.unwind_ns = dwarf_unwind_ns_;
  s.table_build_ns = processes_.table_build_ns();
  return s;
}

}  // namespace stackhouse::agent
