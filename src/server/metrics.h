// MetricsRegistry: Prometheus metrics of the server, rendered at /metrics in
// the text exposition format 0.0.4.
//
// Counter, Gauge and Histogram are lock-free on the hot path (atomics); the
// registry's Get* calls look the series up under a mutex, so callers keep the
// returned pointer (valid for the registry's lifetime) instead of looking it
// up per event. A name belongs to one type: asking for it as another type is
// a programming error and aborts with a message. Label sets are matched
// regardless of order. Everything here is thread-safe.
#ifndef STACKHOUSE_SERVER_METRICS_H_
#define STACKHOUSE_SERVER_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace stackhouse::server {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Inc(double v = 1);  // negative or NaN increments are ignored
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `upper_bounds`: sorted, finite; the +Inf bucket is implicit.
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);

  const std::vector<double>& upper_bounds() const { return bounds_; }
  // Cumulative counts per bucket (le = upper_bounds()[i]), then +Inf.
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, +Inf last
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter* GetCounter(const std::string& name, const std::string& help,
                      const MetricLabels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help,
                  const MetricLabels& labels = {});
  // A label-less gauge whose value is fn() at scrape time (fn runs under the
  // registry's lock: it must not call back into the registry). Registering
  // the name again replaces the function.
  void AddGaugeCallback(const std::string& name, const std::string& help,
                        std::function<double()> fn);
  // The family's buckets are those of its first registration.
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          std::vector<double> buckets, const MetricLabels& labels = {});

  // Text exposition format 0.0.4: "# HELP", "# TYPE", escaped label values,
  // families sorted by name, series sorted by labels.
  std::string Render() const;

 private:
  struct Family;
  Family* GetFamily(const std::string& name, const std::string& help, int type);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>> families_;
};

// {start, start*factor, ..., start*factor^(count-1)}.
std::vector<double> ExponentialBuckets(double start, double factor, int count);

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_METRICS_H_
