// HttpServer: the HTTP/1.1 server of `stackhouse server`, on libmicrohttpd.
//
// Model: a few libmicrohttpd epoll threads (io_threads) own the sockets,
// parse requests and accumulate bodies; a complete request is handed to a
// pool of worker threads where its handler runs: the general pool
// (worker_threads), where handlers may block (a query, a call out), or the
// CPU pool (cpu_worker_threads, about one per core) for handlers that never
// block -- one whose answer waits (for an fsync) defers it
// (HttpResponse::defer) and frees its thread. The connection is suspended
// meanwhile, so an idle or waiting connection costs no thread. Keep-alive and
// chunked request bodies are supported; malformed requests are answered (or
// dropped) by libmicrohttpd itself.
//
// Limits: bodies above max_body_bytes get 413 with "Connection: close" --
// before they are read when Content-Length announces them, otherwise the
// moment they cross the limit; nothing more is buffered, and what the client
// still sends is drained (up to max(max_body_bytes, 4 MiB)) so that closing
// does not reset the connection under the 413. A request arriving when every
// worker is busy and max_queued_requests are already waiting gets 503 with
// Retry-After. A client that stays silent for idle_timeout_s in the middle of
// a request (or between keep-alive requests) is disconnected.
//
// Thread-safety: register handlers with Handle/HandlePrefix before Start.
// Start, Stop and the destructor are called by the owner (one thread);
// port() and stats() may be called from any thread. Handlers run
// concurrently on the worker threads and must be thread-safe.
#ifndef STACKHOUSE_SERVER_HTTP_H_
#define STACKHOUSE_SERVER_HTTP_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace stackhouse::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string, percent-decoded
  // Decoded ("+" is a space), in the order sent; "?flag" gives {"flag", ""}.
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;                                          // de-chunked
  std::string remote_addr;                                   // "127.0.0.1", "::1"

  // The first value of query parameter `name`, "" if absent.
  std::string_view Query(std::string_view name) const;
  bool HasQuery(std::string_view name) const;
  // The first value of header `lowercase_name`, "" if absent.
  std::string_view Header(std::string_view lowercase_name) const;
};

class HttpResponder;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set by a handler whose answer must wait for something (an fsync) that
  // it should not wait for on its worker thread: called once the handler
  // has returned, with the responder that sends this response (edited or
  // not) when its Send is called, from any thread. The worker goes on to
  // the next request meanwhile.
  std::function<void(HttpResponder)> defer;
};

// Sends a deferred response (HttpResponse::defer). Copies share it: the
// first Send sends; if every copy is dropped unsent, the client gets 500.
class HttpResponder {
 public:
  struct State;  // http.cc
  explicit HttpResponder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  // The response the handler left, to edit before Send (by one thread).
  HttpResponse* response();
  void Send();

 private:
  std::shared_ptr<State> state_;
};

// Writes `status` with the JSON error body {"code":..,"message":..}.
void SetJsonError(HttpResponse* response, int status, std::string_view code,
                  std::string_view message);

// True for the method `allowed` ("GET" also admits HEAD). Otherwise writes
// 405 with Allow and a JSON error, and returns false.
bool AllowMethod(const HttpRequest& req, std::string_view allowed, HttpResponse* response);

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse*)>;

// The workers that run a handler. kGeneral: the worker_threads pool, for
// handlers that may block (queries, calls to other services). kCpu: the
// cpu_worker_threads pool, for handlers that only compute and never sleep
// (one whose answer waits on an fsync defers it, HttpResponse::defer): about
// as many threads as cores, so that each keeps its memory in cache and jobs
// do not take turns on a core.
enum class HandlerPool { kGeneral = 0, kCpu = 1 };

struct HttpServerOptions {
  std::string address = "0.0.0.0";  // an IPv4 or IPv6 literal
  int port = 4040;                  // 0 = an ephemeral port (tests)
  int io_threads = 2;               // libmicrohttpd epoll threads
  int worker_threads = 64;          // handlers run here and may block
  int cpu_worker_threads = 0;       // the kCpu pool; 0: twice the cores
  size_t max_connections = 4096;
  // Keep-alive idle time, and the longest silence while a request's header
  // or body is being read (a slow client is cut off).
  int idle_timeout_s = 60;
  size_t max_body_bytes = 16 << 20;
  // Requests waiting for a worker; beyond that (every worker busy): 503.
  size_t max_queued_requests = 4096;
  // libmicrohttpd's per-connection buffer. It bounds the request line plus
  // headers (a request whose head does not fit is dropped), and it is zeroed
  // on every request, so it is both the resident cost of a connection and a
  // per-request cost: 16 KiB holds 16 KB of headers at ~17 KiB per connection.
  size_t connection_memory_bytes = 16 << 10;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // An exact path ("/ingest"). Registering a path again replaces its handler.
  void Handle(std::string path, HttpHandler h, HandlerPool pool = HandlerPool::kGeneral);
  // Every path starting with `prefix` ("/api/"). The longest matching prefix
  // wins; exact paths are tried first. Unknown paths get 404 with
  // {"code":"not_found","message":...}. Methods are the handler's business
  // (405 is up to it).
  void HandlePrefix(std::string prefix, HttpHandler h, HandlerPool pool = HandlerPool::kGeneral);

  // Binds and serves. The error names the address when it cannot bind.
  Status Start();
  // The bound port (useful with port 0); 0 before Start.
  int port() const;

  // Graceful: stops accepting, lets requests in flight finish (up to
  // `grace`; responses sent meanwhile carry "Connection: close"), then
  // closes every connection. Requests still waiting after `grace` get 503;
  // Stop returns once the handlers already running have returned. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  struct Stats {
    uint64_t requests = 0;            // requests whose header was received
    uint64_t active_connections = 0;  // open TCP connections now
    uint64_t rejected_too_large = 0;  // 413s
    uint64_t rejected_busy = 0;       // 503s for a full queue
    uint64_t timeouts = 0;            // requests cut off half-received
    uint64_t total_connections = 0;   // connections accepted since Start
  };
  Stats stats() const;

  struct Impl;  // http.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_HTTP_H_
