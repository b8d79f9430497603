// EarlyQueries: a web page's first query, started when the page is served.
//
// A flame-graph link (/?type=..&query={..}..) loads index.html, whose inline
// script then asks for one render query (static_files.h names it in a Link
// preload header). The browser sends that request 20-30 ms after the page,
// and while its own start-up keeps both CPUs busy. The server, which knows
// the query when it serves the page, starts it right then on a thread of its
// own; the browser's request, if identical (path, parameters in order, the
// tenant header), takes that response instead of computing it again.
//
// A response is taken once, within a few seconds; at most a few run at
// once (more pages than that start nothing early). A relative range ("now")
// is resolved when the query starts: the answer is the one the request would
// have had a moment earlier.
#ifndef STACKHOUSE_SERVER_EARLY_QUERIES_H_
#define STACKHOUSE_SERVER_EARLY_QUERIES_H_

#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "server/http.h"

namespace stackhouse::server {

class EarlyQueries {
 public:
  explicit EarlyQueries(HttpHandler handler, size_t max_pending = 4,
                        std::chrono::milliseconds ttl = std::chrono::seconds(5));
  ~EarlyQueries();  // waits for the queries still running
  EarlyQueries(const EarlyQueries&) = delete;
  EarlyQueries& operator=(const EarlyQueries&) = delete;

  // Starts handler(req) in the background (unless as many are pending).
  void Start(HttpRequest req);
  // If an identical request was started and not yet taken, waits for its
  // response, moves it into *resp and returns true.
  bool Take(const HttpRequest& req, HttpResponse* resp);

  uint64_t started() const;
  uint64_t taken() const;

 private:
  struct Entry {
    std::string key;
    std::chrono::steady_clock::time_point started;
    std::future<HttpResponse> response;
  };
  static std::string Key(const HttpRequest& req);
  // Moves out entries older than the ttl (destroyed by the caller, outside
  // the lock: a future of a running query waits for it).
  std::vector<Entry> ExpireLocked(std::chrono::steady_clock::time_point now);

  const HttpHandler handler_;
  const size_t max_pending_;
  const std::chrono::milliseconds ttl_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
  uint64_t started_ = 0, taken_ = 0;
};

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_EARLY_QUERIES_H_
