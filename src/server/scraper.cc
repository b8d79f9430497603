#include "server/scraper.h"

#include <chrono>

#include "base/clock.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/time_parse.h"
#include "profile/ops.h"
#include "profile/pprof.h"
#include "server/http_client.h"
#include "server/server_internal.h"

namespace stackhouse::server {

struct Scraper::Target {
  std::string job, tenant, instance, url, profile_name;
  bool delta = false;
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  profile::LabelSet labels;
  std::vector<std::pair<std::string, std::string>> label_pairs;  // for /api/v1/targets
  // Health (guarded by mu).
  mutable std::mutex mu;
  std::string health = "unknown";
  std::string last_error;
  int64_t last_scrape_ns = 0;
  double last_duration_s = 0;
  // Metrics.
  Gauge* up = nullptr;
  Gauge* duration = nullptr;
  Counter* scrapes = nullptr;
  Counter* failures = nullptr;
  // The previous profile of a cumulative kind.
  std::unique_ptr<profile::Profile> prev;
};

Scraper::Scraper(ServerContext* ctx) : ctx_(ctx) {
  for (const ScrapeConfig& sc : ctx->config.scrape_configs) {
    for (const ScrapeTargetGroup& g : sc.static_configs) {
      for (const std::string& addr : g.targets) {
        for (const ScrapeProfileConfig& p : sc.profiles) {
          auto t = std::make_unique<Target>();
          t->job = sc.job_name;
          t->tenant = sc.tenant.empty() ? "anonymous" : sc.tenant;
          t->instance = addr;
          t->profile_name = p.name;
          t->delta = p.delta || p.name == "memory";
          t->interval_ns = sc.interval_ns;
          bool cpu = p.name == "process_cpu";
          t->url = StrCat(sc.scheme, "://", addr, p.path);
          if (cpu) t->url += StrCat(p.path.find('?') == std::string::npos ? "?" : "&", "seconds=", sc.cpu_seconds);
          t->timeout_ns = sc.timeout_ns > 0 ? sc.timeout_ns
                                            : (cpu ? (sc.cpu_seconds + 10) * int64_t{1000000000} : sc.interval_ns);
          std::vector<profile::LabelPair> pairs = {{"job", sc.job_name}, {"instance", addr}};
          bool has_service = false;
          for (const auto& [k, v] : g.labels) {
            pairs.push_back({k, v});
            has_service |= k == "service_name";
          }
          if (!has_service) pairs.push_back({"service_name", sc.job_name});
          for (const auto& lp : pairs) t->label_pairs.push_back({lp.name, lp.value});
          auto labels = profile::LabelSet::FromPairs(std::move(pairs));
          if (!labels.ok()) {
            LogWarn("scrape target skipped", {{"job", sc.job_name}, {"error", labels.status().message()}});
            continue;
          }
          t->labels = std::move(*labels);
          MetricLabels ml = {{"job", t->job}, {"instance", t->instance}, {"profile", t->profile_name}};
          t->up = ctx->metrics.GetGauge("stackhouse_scrape_up", "1 if the last scrape of a target succeeded.", ml);
          t->duration = ctx->metrics.GetGauge("stackhouse_scrape_duration_seconds",
                                               "How long the last scrape of a target took.", ml);
          t->scrapes = ctx->metrics.GetCounter("stackhouse_scrapes_total", "Scrapes attempted.", ml);
          t->failures = ctx->metrics.GetCounter("stackhouse_scrape_failures_total", "Scrapes that failed.", ml);
          targets_.push_back(std::move(t));
        }
      }
    }
  }
}

Scraper::~Scraper() { Stop(); }

void Scraper::Start() {
  for (size_t i = 0; i < targets_.size(); ++i) {
    threads_.emplace_back([this, i] { Loop(targets_[i].get(), static_cast<int>(i)); });
  }
  if (!targets_.empty()) LogInfo("scraping", {{"targets", static_cast<int64_t>(targets_.size())}});
}

void Scraper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void Scraper::Loop(Target* t, int index) {
  // Spread the targets' first scrapes a little.
  auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(50 * (index % 20));
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_until(lock, next, [this] { return stop_; })) return;
    }
    ScrapeOnce(t);
    next += std::chrono::nanoseconds(t->interval_ns);
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // a scrape longer than the interval: no catching up
  }
}

void Scraper::ScrapeOnce(Target* t) {
  int64_t t0 = MonotonicNanos();
  t->scrapes->Inc();
  auto fail = [&](const std::string& error) {
    t->failures->Inc();
    t->up->Set(0);
    double took = static_cast<double>(MonotonicNanos() - t0) / 1e9;
    t->duration->Set(took);
    std::lock_guard<std::mutex> lock(t->mu);
    t->health = "down";
    t->last_error = error;
    t->last_scrape_ns = NowNanos();
    t->last_duration_s = took;
  };
  HttpClient client(std::chrono::milliseconds(t->timeout_ns / 1000000));
  auto r = client.Get(t->url);
  if (!r.ok()) return fail(r.status().message());
  if (r->status != 200) return fail(StrCat("HTTP ", r->status, ": ", r->body.substr(0, 200)));
  profile::PprofDecodeOptions o;
  o.max_decompressed_bytes = static_cast<size_t>(ctx_->config.max_decompressed_bytes);
  auto p = profile::DecodePprof(r->body, o);
  if (!p.ok()) return fail(StrCat("not a pprof profile: ", p.status().message()));
  profile::Profile to_store;
  bool store = true;
  if (t->delta) {
    std::vector<int> columns;
    for (size_t i = 0; i < p->num_types(); ++i) {
      std::string_view type = p->str(p->sample_types[i].type);
      // Heap profiles: only the alloc_* columns add up; inuse_* are current.
      if (t->profile_name != "memory" || type.starts_with("alloc_")) columns.push_back(static_cast<int>(i));
    }
    if (t->prev == nullptr) {
      store = false;  // the first scrape is the baseline
    } else {
      auto d = profile::DeltaProfile(*t->prev, *p, columns);
      if (!d.ok()) {
        store = false;  // the sample types changed: start again from this one
      } else {
        to_store = std::move(*d);
        if (t->prev->time_nanos != 0 && p->time_nanos > t->prev->time_nanos) {
          to_store.duration_nanos = p->time_nanos - t->prev->time_nanos;
        }
      }
    }
    t->prev = std::make_unique<profile::Profile>(std::move(*p));
  } else {
    to_store = std::move(*p);
  }
  if (store && !to_store.samples.empty()) {
    if (to_store.time_nanos == 0) to_store.time_nanos = NowNanos();
    Status s = ctx_->store->Append(t->tenant, t->labels, to_store);
    if (!s.ok()) return fail(StrCat("storing: ", s.message()));
    ctx_->profiles_ingested->Inc();
    ctx_->samples_ingested->Inc(static_cast<double>(to_store.samples.size()));
  }
  double took = static_cast<double>(MonotonicNanos() - t0) / 1e9;
  t->up->Set(1);
  t->duration->Set(took);
  std::lock_guard<std::mutex> lock(t->mu);
  t->health = "up";
  t->last_error.clear();
  t->last_scrape_ns = NowNanos();
  t->last_duration_s = took;
}

std::string Scraper::TargetsJson() const {
  std::string out = "{\"status\":\"success\",\"data\":{\"activeTargets\":[";
  bool first = true;
  for (const auto& t : targets_) {
    std::lock_guard<std::mutex> lock(t->mu);
    if (!first) out += ',';
    first = false;
    out += "{\"labels\":{";
    bool lf = true;
    for (const auto& [k, v] : t->label_pairs) {
      if (!lf) out += ',';
      lf = false;
      out += '"';
      AppendJsonEscaped(&out, k);
      out += "\":\"";
      AppendJsonEscaped(&out, v);
      out += '"';
    }
    out += "},\"scrapePool\":\"";
    AppendJsonEscaped(&out, t->job);
    out += "\",\"profile\":\"";
    AppendJsonEscaped(&out, t->profile_name);
    out += "\",\"scrapeUrl\":\"";
    AppendJsonEscaped(&out, t->url);
    out += "\",\"health\":\"" + t->health + "\",\"lastError\":\"";
    AppendJsonEscaped(&out, t->last_error);
    out += "\",\"lastScrape\":\"";
    out += t->last_scrape_ns == 0 ? std::string("0001-01-01T00:00:00Z") : FormatRfc3339(t->last_scrape_ns);
    out += "\",\"lastScrapeDuration\":" + StrCat(t->last_duration_s);
    out += ",\"scrapeInterval\":\"" + StrCat(t->interval_ns / 1000000000, "s") + "\"}";
  }
  out += "]}}";
  return out;
}

}  // namespace stackhouse::server
