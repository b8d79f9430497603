// RateLimiter: per-tenant token buckets for ingestion bytes.
//
// Each tenant's bucket holds up to `burst_bytes` and refills at
// `bytes_per_second`; a new tenant starts with a full bucket. Allow takes the
// request's bytes or refuses it with the seconds to wait. A request larger
// than the whole burst could never fit, so it is let through when the bucket
// is full and leaves the bucket in debt (the tenant then waits the debt out).
// Buckets that have refilled completely are forgotten, so idle tenants cost
// nothing. Thread-safe.
#ifndef STACKHOUSE_SERVER_RATE_LIMITER_H_
#define STACKHOUSE_SERVER_RATE_LIMITER_H_

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace stackhouse::server {

class RateLimiter {
 public:
  // bytes_per_second <= 0 disables limiting (Allow is always true).
  RateLimiter(double bytes_per_second, double burst_bytes);

  // Takes `bytes` from the tenant's bucket. Returns false, and sets
  // *retry_after_s (if not null) to the whole seconds to wait before the
  // request would fit (>= 1), when the bucket does not hold enough.
  bool Allow(const std::string& tenant, double bytes, int* retry_after_s);

  // Replaces the clock (seconds on any monotonic scale); for tests.
  void SetClock(std::function<double()> seconds_now);

  // Tenants with a bucket that is not full (for tests and metrics).
  size_t tracked_tenants() const;

 private:
  struct Bucket {
    double tokens = 0;
    double updated = 0;  // clock time of `tokens`
  };
  void SweepLocked(double now);

  const double rate_;
  const double burst_;
  mutable std::mutex mu_;
  std::function<double()> clock_;
  std::unordered_map<std::string, Bucket> buckets_;
  size_t sweep_at_ = 1024;  // sweep full buckets when the map reaches this size
};

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_RATE_LIMITER_H_
