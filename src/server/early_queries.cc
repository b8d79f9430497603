#include "server/early_queries.h"

#include <utility>

namespace stackhouse::server {

EarlyQueries::EarlyQueries(HttpHandler handler, size_t max_pending, std::chrono::milliseconds ttl)
    : handler_(std::move(handler)), max_pending_(max_pending), ttl_(ttl) {}

EarlyQueries::~EarlyQueries() {
  std::vector<Entry> entries;
  {
    std::lock_guard lock(mu_);
    entries.swap(entries_);
  }
  for (Entry& e : entries) e.response.wait();
}

std::string EarlyQueries::Key(const HttpRequest& req) {
  std::string key = req.method;
  key.push_back('\0');
  key += req.path;
  for (const auto& [name, value] : req.query) {
    key.push_back('\0');
    key += name;
    key.push_back('=');
    key += value;
  }
  // The only header a query's answer depends on.
  key.push_back('\0');
  key += "tenant=";
  key += req.Header("x-scope-orgid");
  return key;
}

std::vector<EarlyQueries::Entry> EarlyQueries::ExpireLocked(std::chrono::steady_clock::time_point now) {
  std::vector<Entry> expired;
  for (size_t i = 0; i < entries_.size();) {
    if (now - entries_[i].started > ttl_) {
      expired.push_back(std::move(entries_[i]));
      entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return expired;
}

void EarlyQueries::Start(HttpRequest req) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<Entry> expired;
  {
    std::lock_guard lock(mu_);
    expired = ExpireLocked(now);
    if (entries_.size() >= max_pending_) return;
    std::string key = Key(req);
    for (const Entry& e : entries_) {
      if (e.key == key) return;  // the same page twice: one is enough
    }
    HttpHandler handler = handler_;
    entries_.push_back({std::move(key), now,
                        std::async(std::launch::async, [handler, req = std::move(req)] {
                          HttpResponse resp;
                          handler(req, &resp);
                          return resp;
                        })});
    ++started_;
  }
}

bool EarlyQueries::Take(const HttpRequest& req, HttpResponse* resp) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<Entry> expired;
  std::future<HttpResponse> response;
  {
    std::lock_guard lock(mu_);
    expired = ExpireLocked(now);
    if (entries_.empty()) return false;
    const std::string key = Key(req);
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].key != key) continue;
      response = std::move(entries_[i].response);
      entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(i));
      ++taken_;
      break;
    }
  }
  if (!response.valid()) return false;
  *resp = response.get();
  return true;
}

uint64_t EarlyQueries::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

uint64_t EarlyQueries::taken() const {
  std::lock_guard lock(mu_);
  return taken_;
}

}  // namespace stackhouse::server
