#include "sampler/uploader.h"

#include <curl/curl.h>

#include <pthread.h>

#include <chrono>

#include "base/log.h"
#include "base/strings.h"
#include "sampler/thread_local.h"

namespace stackhouse::sampler {
namespace {

size_t Keep(char* data, size_t size, size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  size_t len = size * n;
  if (s->size() < 300) s->append(data, std::min(len, 300 - s->size()));
  return len;
}

}  // namespace

Uploader::Uploader(UploaderOptions options) : options_(std::move(options)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "stackhouse-up");
}

Uploader::~Uploader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::string Uploader::Escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

void Uploader::Enqueue(Upload upload) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (queue_.size() >= options_.max_queued) {
      queue_.pop_front();  // oldest first
      stats_.dropped++;
    }
    queue_.push_back(std::move(upload));
  }
  cv_.notify_all();
}

bool Uploader::Drain(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  backoff_ms_ = std::min<int64_t>(backoff_ms_, 200);  // retry promptly while draining
  cv_.notify_all();
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [this] { return queue_.empty() && !busy_; });
}

UploaderStats Uploader::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  UploaderStats s = stats_;
  s.queued = queue_.size();
  return s;
}

long Uploader::Send(const Upload& u, std::string* error) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    *error = "curl_easy_init failed";
    return -1;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, StrCat("Content-Type: ", u.content_type).c_str());
  headers = curl_slist_append(headers, "Content-Encoding: gzip");
  headers = curl_slist_append(headers, "Expect:");
  if (!options_.tenant.empty()) {
    headers = curl_slist_append(headers, StrCat("X-Scope-OrgID: ", options_.tenant).c_str());
  }
  if (!options_.auth_token.empty()) {
    headers = curl_slist_append(headers, StrCat("Authorization: Bearer ", options_.auth_token).c_str());
  }
  std::string response;
  curl_easy_setopt(curl, CURLOPT_URL, u.url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, u.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(u.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Keep);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  CURLcode rc = curl_easy_perform(curl);
  long status = -1;
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) *error = StrCat("HTTP ", status, ": ", response);
  } else {
    *error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return status == 200 ? 0 : status;
}

void Uploader::Run() {
  GetThreadLocal().profiler_thread = true;
  InternalScope internal;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    if (backoff_ms_ > 0) {
      // Wait out the backoff (Drain shortens it); new uploads do not cut it.
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms_);
      int64_t waited_for = backoff_ms_;
      cv_.wait_until(lock, until, [&] { return stop_ || backoff_ms_ < waited_for; });
      if (stop_) return;
    }
    if (queue_.empty()) continue;
    Upload u = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    std::string error;
    long status = Send(u, &error);
    lock.lock();
    busy_ = false;
    if (status == 0) {
      stats_.sent++;
      backoff_ms_ = 0;
    } else if (status >= 400 && status < 500 && status != 429 && status != 408) {
      // The server will never take this one: drop it, keep going.
      stats_.rejected++;
      stats_.dropped++;
      stats_.last_error = error;
      LogWarn("stackhouse: upload rejected", {{"error", error}});
    } else {
      stats_.failed_attempts++;
      stats_.last_error = error;
      if (queue_.size() >= options_.max_queued) {
        stats_.dropped++;  // it is the oldest
      } else {
        queue_.push_front(std::move(u));
      }
      if (backoff_ms_ == 0) LogWarn("stackhouse: upload failed, retrying", {{"error", error}});
      backoff_ms_ = backoff_ms_ == 0 ? options_.min_backoff_ms
                                     : std::min(backoff_ms_ * 2, options_.max_backoff_ms);
    }
    cv_.notify_all();
  }
}

}  // namespace stackhouse::sampler
