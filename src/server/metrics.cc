#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace stackhouse::server {

namespace {

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2 };
constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};

void AtomicAdd(std::atomic<double>* a, double v) {
  double old = a->load(std::memory_order_relaxed);
  while (!a->compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
  }
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "MetricsRegistry: %s\n", msg.c_str());
  std::abort();
}

bool ValidName(const std::string& s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Shortest representation that reads back exactly; Prometheus spellings for
// the infinities and NaN.
void AppendNumber(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, res.ptr);
  }
}

void AppendEscaped(std::string* out, const std::string& s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (quote && c == '"') {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

// {a="x",b="y"} with an optional extra label (le) last; nothing when empty.
void AppendLabels(std::string* out, const MetricLabels& labels, const char* extra_name = nullptr,
                  const std::string& extra_value = "") {
  if (labels.empty() && extra_name == nullptr) return;
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out->push_back(',');
    first = false;
    out->append(k);
    out->append("=\"");
    AppendEscaped(out, v, true);
    out->push_back('"');
  }
  if (extra_name != nullptr) {
    if (!first) out->push_back(',');
    out->append(extra_name);
    out->append("=\"");
    out->append(extra_value);
    out->push_back('"');
  }
  out->push_back('}');
}

MetricLabels Normalize(const std::string& family, const MetricLabels& labels) {
  MetricLabels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!ValidName(sorted[i].first, false) || sorted[i].first.starts_with("__")) {
      Die("invalid label name \"" + sorted[i].first + "\" for " + family);
    }
    if (i > 0 && sorted[i].first == sorted[i - 1].first) {
      Die("duplicate label \"" + sorted[i].first + "\" for " + family);
    }
  }
  return sorted;
}

}  // namespace

void Counter::Inc(double v) {
  if (!(v >= 0)) return;
  AtomicAdd(&value_, v);
}

void Gauge::Add(double v) { AtomicAdd(&value_, v); }

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  while (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  // The first bucket whose upper bound is >= v (NaN lands in +Inf).
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  if (std::isnan(v)) i = bounds_.size();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

struct MetricsRegistry::Family {
  int type = kCounter;
  std::string help;
  std::vector<double> buckets;  // histograms
  std::map<MetricLabels, std::unique_ptr<Counter>> counters;
  std::map<MetricLabels, std::unique_ptr<Gauge>> gauges;
  std::map<MetricLabels, std::unique_ptr<Histogram>> histograms;
  std::function<double()> callback;  // a callback gauge
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family* MetricsRegistry::GetFamily(const std::string& name,
                                                    const std::string& help, int type) {
  if (!ValidName(name, true)) Die("invalid metric name \"" + name + "\"");
  auto& family = families_[name];
  if (family == nullptr) {
    family = std::make_unique<Family>();
    family->type = type;
    family->help = help;
  } else if (family->type != type) {
    Die("metric " + name + " is a " + kTypeNames[family->type] + ", not a " + kTypeNames[type]);
  }
  return family.get();
}

Counter* MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const MetricLabels& labels) {
  MetricLabels key = Normalize(name, labels);
  std::lock_guard<std::mutex> lock(mu_);
  auto& c = GetFamily(name, help, kCounter)->counters[std::move(key)];
  if (c == nullptr) c = std::make_unique<Counter>();
  return c.get();
}

Gauge* MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const MetricLabels& labels) {
  MetricLabels key = Normalize(name, labels);
  std::lock_guard<std::mutex> lock(mu_);
  Family* family = GetFamily(name, help, kGauge);
  if (family->callback) Die("gauge " + name + " is a callback gauge");
  auto& g = family->gauges[std::move(key)];
  if (g == nullptr) g = std::make_unique<Gauge>();
  return g.get();
}

void MetricsRegistry::AddGaugeCallback(const std::string& name, const std::string& help,
                                       std::function<double()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  Family* family = GetFamily(name, help, kGauge);
  if (!family->gauges.empty()) Die("gauge " + name + " already has plain series");
  family->callback = std::move(fn);
}

Histogram* MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         std::vector<double> buckets, const MetricLabels& labels) {
  MetricLabels key = Normalize(name, labels);
  for (const auto& [k, v] : key) {
    if (k == "le") Die("histogram " + name + " cannot have a label named le");
  }
  std::lock_guard<std::mutex> lock(mu_);
  Family* family = GetFamily(name, help, kHistogram);
  if (family->histograms.empty() && family->buckets.empty()) family->buckets = std::move(buckets);
  auto& h = family->histograms[std::move(key)];
  if (h == nullptr) h = std::make_unique<Histogram>(family->buckets);
  return h.get();
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, family] : families_) {
    out.append("# HELP ").append(name).push_back(' ');
    AppendEscaped(&out, family->help, false);
    out.append("\n# TYPE ").append(name).push_back(' ');
    out.append(kTypeNames[family->type]).push_back('\n');
    auto sample = [&](const std::string& suffix, const MetricLabels& labels, double v,
                      const char* extra = nullptr, const std::string& extra_value = "") {
      out.append(name).append(suffix);
      AppendLabels(&out, labels, extra, extra_value);
      out.push_back(' ');
      AppendNumber(&out, v);
      out.push_back('\n');
    };
    for (const auto& [labels, c] : family->counters) sample("", labels, c->value());
    for (const auto& [labels, g] : family->gauges) sample("", labels, g->value());
    if (family->callback) sample("", {}, family->callback());
    for (const auto& [labels, h] : family->histograms) {
      std::vector<uint64_t> counts = h->CumulativeCounts();
      const std::vector<double>& bounds = h->upper_bounds();
      for (size_t i = 0; i < counts.size(); ++i) {
        std::string le;
        AppendNumber(&le, i < bounds.size() ? bounds[i] : INFINITY);
        sample("_bucket", labels, static_cast<double>(counts[i]), "le", le);
      }
      sample("_sum", labels, h->sum());
      // _count equals the +Inf bucket of the same snapshot.
      sample("_count", labels, static_cast<double>(counts.back()));
    }
  }
  return out;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i) {
    out.push_back(v);
    v *= factor;
  }
  return out;
}

}  // namespace stackhouse::server
