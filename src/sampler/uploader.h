// Uploader: a bounded queue of profiles and one thread that POSTs them to
// the server's /ingest, retrying with exponential backoff while the server
// is down or overloaded. When the queue is full the oldest upload is
// dropped, so a long outage costs bounded memory and never blocks the
// program. Thread-safe.
#ifndef STACKHOUSE_SAMPLER_UPLOADER_H_
#define STACKHOUSE_SAMPLER_UPLOADER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace stackhouse::sampler {

struct Upload {
  std::string url;   // full URL with the query string
  std::string body;  // gzip-compressed (sent with Content-Encoding: gzip)
  std::string content_type = "application/octet-stream";  // pprof; OTLP: application/x-protobuf
};

struct UploaderOptions {
  std::string tenant;
  std::string auth_token;
  size_t max_queued = 16;
  int64_t min_backoff_ms = 500;
  int64_t max_backoff_ms = 60000;
  int64_t timeout_ms = 10000;
};

struct UploaderStats {
  uint64_t sent = 0;
  uint64_t failed_attempts = 0;
  uint64_t dropped = 0;   // queue overflow or permanent rejection
  uint64_t rejected = 0;  // 4xx other than 429
  size_t queued = 0;
  std::string last_error;
};

class Uploader {
 public:
  explicit Uploader(UploaderOptions options);
  ~Uploader();  // stops the thread; queued uploads are discarded

  void Enqueue(Upload upload);
  // Waits until the queue is empty and nothing is in flight, or the
  // deadline passes; during this wait retries are not delayed by backoff
  // beyond the deadline. Returns true if everything was sent.
  bool Drain(int64_t timeout_ms);
  UploaderStats stats() const;

  // Percent-encodes a query-string component.
  static std::string Escape(std::string_view s);

 private:
  void Run();
  // Returns 0 on success, the HTTP status, or -1 for a transport error.
  long Send(const Upload& u, std::string* error);

  UploaderOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Upload> queue_;
  bool busy_ = false;
  bool stop_ = false;
  int64_t backoff_ms_ = 0;
  UploaderStats stats_;
  std::thread thread_;
};

}  // namespace stackhouse::sampler

#endif  // STACKHOUSE_SAMPLER_UPLOADER_H_
