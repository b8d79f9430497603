#include "server/rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace stackhouse::server {

namespace {

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

RateLimiter::RateLimiter(double bytes_per_second, double burst_bytes)
    : rate_(bytes_per_second), burst_(std::max(burst_bytes, 0.0)), clock_(&SteadySeconds) {}

void RateLimiter::SetClock(std::function<double()> seconds_now) {
  std::lock_guard<std::mutex> lock(mu_);
  clock_ = std::move(seconds_now);
}

size_t RateLimiter::tracked_tenants() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

bool RateLimiter::Allow(const std::string& tenant, double bytes, int* retry_after_s) {
  if (!(rate_ > 0)) return true;
  if (!(bytes > 0)) return true;  // nothing to take (and NaN is not a size)
  std::lock_guard<std::mutex> lock(mu_);
  double now = clock_();
  auto [it, inserted] = buckets_.try_emplace(tenant);
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = burst_;
  } else if (now > b.updated) {
    b.tokens = std::min(burst_, b.tokens + (now - b.updated) * rate_);
  }
  b.updated = std::max(b.updated, now);
  // A request larger than the burst needs a full bucket and leaves debt.
  double needed = std::min(bytes, burst_);
  if (b.tokens >= needed) {
    b.tokens -= bytes;
    if (inserted && buckets_.size() >= sweep_at_) SweepLocked(now);
    return true;
  }
  if (retry_after_s != nullptr) {
    double wait = std::ceil((needed - b.tokens) / rate_);
    *retry_after_s = static_cast<int>(
        std::clamp(wait, 1.0, static_cast<double>(std::numeric_limits<int>::max())));
  }
  return false;
}

void RateLimiter::SweepLocked(double now) {
  // A bucket that has refilled completely behaves exactly like a new one.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const Bucket& b = it->second;
    if (b.tokens + (now - b.updated) * rate_ >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  sweep_at_ = std::max<size_t>(1024, buckets_.size() * 2);
}

}  // namespace stackhouse::server
