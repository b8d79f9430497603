#include "server/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "base/strings.h"

namespace stackhouse::server {

namespace {

bool EqualsLower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

std::string JsonError(std::string_view code, std::string_view message) {
  std::string body = "{\"code\":\"";
  AppendJsonEscaped(&body, code);
  body += "\",\"message\":\"";
  AppendJsonEscaped(&body, message);
  body += "\"}";
  return body;
}

// A complete request handed to the worker pool. Shared by the connection's
// RequestState and the worker running it, so that Stop can answer it (503)
// while its handler is still running.
struct RoutedHandler {
  HttpHandler fn;
  HandlerPool pool = HandlerPool::kGeneral;
};

struct Job {
  const RoutedHandler* handler = nullptr;
  HttpRequest request;  // touched by the worker only once dispatched
  MHD_Connection* connection = nullptr;
  std::mutex mu;
  bool finished = false;  // guarded by mu: response set, connection resumed
  HttpResponse response;  // guarded by mu
};

// Per-request state behind libmicrohttpd's con_cls; lives from the request
// line to the completion callback, touched by the connection's io thread only.
struct RequestState {
  bool started = false;  // the header has been received
  // Answered 413 on the socket: the rest of the body is drained and dropped.
  bool rejected = false;
  uint64_t drained = 0;
  HttpRequest request;
  std::shared_ptr<Job> job;  // set while dispatched
};

enum class DispatchResult { kQueued, kBusy, kStopping };

// Jobs whose handlers returned with a deferred response not yet sent, so
// that Stop can answer them. Shared with their responders, which may outlive
// the server.
struct DeferredJobs {
  std::mutex mu;
  std::unordered_set<std::shared_ptr<Job>> jobs;
};

}  // namespace

std::string_view HttpRequest::Query(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return {};
}

bool HttpRequest::HasQuery(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return true;
  }
  return false;
}

std::string_view HttpRequest::Header(std::string_view lowercase_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lowercase_name) return v;
  }
  return {};
}

void SetJsonError(HttpResponse* response, int status, std::string_view code,
                  std::string_view message) {
  response->status = status;
  response->content_type = "application/json";
  response->body = JsonError(code, message);
}

bool AllowMethod(const HttpRequest& req, std::string_view allowed, HttpResponse* response) {
  if (req.method == allowed || (allowed == "GET" && req.method == "HEAD")) return true;
  SetJsonError(response, 405, "unimplemented",
               StrCat(req.path, " takes ", allowed, ", not ", req.method));
  response->headers.push_back({"Allow", std::string(allowed)});
  return false;
}

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o) : options(std::move(o)) {}

  // libmicrohttpd callbacks (cls is the Impl).
  static void* OnUriLog(void* cls, const char* uri, MHD_Connection* connection);
  static MHD_Result OnAccess(void* cls, MHD_Connection* connection, const char* url,
                             const char* method, const char* version, const char* upload_data,
                             size_t* upload_data_size, void** con_cls);
  static void OnCompleted(void* cls, MHD_Connection* connection, void** con_cls,
                          MHD_RequestTerminationCode code);
  static void OnConnection(void* cls, MHD_Connection* connection, void** socket_context,
                           MHD_ConnectionNotificationCode code);
  // Refuses new connections once Stop() has begun.
  static MHD_Result OnAcceptPolicy(void* cls, const sockaddr* addr, socklen_t addrlen);

  MHD_Result Access(MHD_Connection* connection, const char* url, const char* method,
                    const char* upload_data, size_t* upload_data_size, RequestState* st);
  void ReadRequestHead(MHD_Connection* connection, const char* url, const char* method,
                       HttpRequest* request);
  const RoutedHandler* Route(const std::string& path) const;
  MHD_Result Respond(MHD_Connection* connection, HttpResponse response);
  MHD_Result RespondError(MHD_Connection* connection, int status, std::string_view code,
                          std::string_view message);
  MHD_Result Reject413(MHD_Connection* connection, RequestState* st, std::string_view message);

  DispatchResult Dispatch(std::shared_ptr<Job> job);
  struct Pool;
  void WorkerLoop(size_t index, Pool* pool);
  void RunJob(std::shared_ptr<Job> job);
  static void FinishJob(Job* job, HttpResponse response);
  void AnswerWaitingJobs();
  void StopWorkers();

  const HttpServerOptions options;
  std::unordered_map<std::string, RoutedHandler> exact;
  std::vector<std::pair<std::string, RoutedHandler>> prefixes;  // longest first

  MHD_Daemon* daemon = nullptr;
  std::atomic<int> bound_port{0};
  // Set by Stop(): new connections are refused and responses carry
  // "Connection: close".
  std::atomic<bool> stopping{false};

  // The worker pools (HandlerPool's general and CPU ones). `mu` guards
  // everything down to `running`.
  std::mutex mu;
  struct Pool {
    std::condition_variable cv;
    std::deque<std::shared_ptr<Job>> queue;
    size_t idle = 0;
  };
  Pool pools[2];                              // by HandlerPool
  std::vector<std::shared_ptr<Job>> running;  // per worker
  bool accepting_jobs = false;
  bool shutdown_workers = false;
  std::vector<std::thread> workers;

  const std::shared_ptr<DeferredJobs> deferred = std::make_shared<DeferredJobs>();

  std::atomic<uint64_t> in_flight{0};  // request line seen, not completed
  std::atomic<uint64_t> suspended{0};  // dispatched, response not yet queued

  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> active_connections{0};
  std::atomic<uint64_t> total_connections{0};
  std::atomic<uint64_t> rejected_too_large{0};
  std::atomic<uint64_t> rejected_busy{0};
  std::atomic<uint64_t> timeouts{0};
};

void* HttpServer::Impl::OnUriLog(void* cls, const char* uri, MHD_Connection* connection) {
  auto* impl = static_cast<Impl*>(cls);
  impl->in_flight.fetch_add(1, std::memory_order_relaxed);
  return new RequestState();
}

void HttpServer::Impl::OnCompleted(void* cls, MHD_Connection* connection, void** con_cls,
                                   MHD_RequestTerminationCode code) {
  auto* impl = static_cast<Impl*>(cls);
  auto* st = static_cast<RequestState*>(*con_cls);
  if (st == nullptr) return;
  *con_cls = nullptr;
  if (code == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
    impl->timeouts.fetch_add(1, std::memory_order_relaxed);
  }
  // Resumed but closed before its response was queued.
  if (st->job != nullptr) impl->suspended.fetch_sub(1, std::memory_order_relaxed);
  delete st;
  impl->in_flight.fetch_sub(1, std::memory_order_release);
}

MHD_Result HttpServer::Impl::OnAcceptPolicy(void* cls, const sockaddr*, socklen_t) {
  return static_cast<Impl*>(cls)->stopping.load(std::memory_order_relaxed) ? MHD_NO : MHD_YES;
}

void HttpServer::Impl::OnConnection(void* cls, MHD_Connection* connection, void** socket_context,
                                    MHD_ConnectionNotificationCode code) {
  auto* impl = static_cast<Impl*>(cls);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    impl->active_connections.fetch_add(1, std::memory_order_relaxed);
    impl->total_connections.fetch_add(1, std::memory_order_relaxed);
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    impl->active_connections.fetch_sub(1, std::memory_order_relaxed);
  }
}

MHD_Result HttpServer::Impl::OnAccess(void* cls, MHD_Connection* connection, const char* url,
                                      const char* method, const char* version,
                                      const char* upload_data, size_t* upload_data_size,
                                      void** con_cls) {
  auto* impl = static_cast<Impl*>(cls);
  if (*con_cls == nullptr) *con_cls = OnUriLog(cls, url, connection);  // defensive
  return impl->Access(connection, url, method, upload_data, upload_data_size,
                      static_cast<RequestState*>(*con_cls));
}

MHD_Result HttpServer::Impl::Access(MHD_Connection* connection, const char* url, const char* method,
                                    const char* upload_data, size_t* upload_data_size,
                                    RequestState* st) {
  if (!st->started) {
    // First call: the header is complete, the body (if any) not read yet.
    st->started = true;
    requests.fetch_add(1, std::memory_order_relaxed);
    ReadRequestHead(connection, url, method, &st->request);
    std::string_view length = st->request.Header("content-length");
    if (!length.empty()) {
      std::optional<uint64_t> n = ParseUint64(length);
      if (n.has_value() && *n > options.max_body_bytes) {
        std::string message = StrCat("request body of ", *n, " bytes exceeds the limit of ",
                                     options.max_body_bytes, " bytes");
        if (EqualsLower(st->request.Header("expect"), "100-continue")) {
          // The client waits for "100 Continue" before sending the body: a
          // response queued now is sent instead, and the connection closed.
          rejected_too_large.fetch_add(1, std::memory_order_relaxed);
          return RespondError(connection, 413, "payload_too_large", message);
        }
        return Reject413(connection, st, message);
      }
      // Capped: a client may announce a large body and never send it.
      if (n.has_value()) st->request.body.reserve(std::min<uint64_t>(*n, 1 << 20));
    }
    return MHD_YES;
  }
  if (*upload_data_size != 0) {
    if (st->rejected) {
      st->drained += *upload_data_size;
      *upload_data_size = 0;
      // Enough time for the client to notice the 413; now just hang up.
      return st->drained > std::max<uint64_t>(options.max_body_bytes, 4 << 20) ? MHD_NO : MHD_YES;
    }
    if (st->request.body.size() + *upload_data_size > options.max_body_bytes) {
      *upload_data_size = 0;
      return Reject413(
          connection, st,
          StrCat("request body exceeds the limit of ", options.max_body_bytes, " bytes"));
    }
    st->request.body.append(upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (st->rejected) return MHD_NO;  // the body is over: close
  if (st->job != nullptr) {
    // Resumed: the worker (or Stop) has finished the job.
    HttpResponse response;
    {
      std::lock_guard<std::mutex> lock(st->job->mu);
      response = std::move(st->job->response);
    }
    st->job.reset();
    suspended.fetch_sub(1, std::memory_order_relaxed);
    return Respond(connection, std::move(response));
  }
  const RoutedHandler* handler = Route(st->request.path);
  if (handler == nullptr) {
    return RespondError(connection, 404, "not_found",
                        StrCat("no handler for path ", Quote(st->request.path, 200)));
  }
  auto job = std::make_shared<Job>();
  job->handler = handler;
  job->request = std::move(st->request);
  job->connection = connection;
  st->job = job;
  switch (Dispatch(std::move(job))) {
    case DispatchResult::kQueued:
      return MHD_YES;  // suspended until the worker resumes it
    case DispatchResult::kBusy: {
      st->job.reset();
      rejected_busy.fetch_add(1, std::memory_order_relaxed);
      HttpResponse response;
      SetJsonError(&response, 503, "unavailable", "server busy: too many requests queued");
      response.headers.emplace_back("Retry-After", "1");
      return Respond(connection, std::move(response));
    }
    case DispatchResult::kStopping:
      st->job.reset();
      return RespondError(connection, 503, "unavailable", "server is shutting down");
  }
  return MHD_NO;
}

void HttpServer::Impl::ReadRequestHead(MHD_Connection* connection, const char* url,
                                       const char* method, HttpRequest* request) {
  request->method = method;
  request->path = url;
  MHD_get_connection_values(
      connection, MHD_GET_ARGUMENT_KIND,
      [](void* cls, MHD_ValueKind, const char* key, const char* value) {
        static_cast<HttpRequest*>(cls)->query.emplace_back(key != nullptr ? key : "",
                                                           value != nullptr ? value : "");
        return MHD_YES;
      },
      request);
  MHD_get_connection_values(
      connection, MHD_HEADER_KIND,
      [](void* cls, MHD_ValueKind, const char* key, const char* value) {
        static_cast<HttpRequest*>(cls)->headers.emplace_back(AsciiLower(key != nullptr ? key : ""),
                                                             value != nullptr ? value : "");
        return MHD_YES;
      },
      request);
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info != nullptr && info->client_addr != nullptr) {
    char buf[INET6_ADDRSTRLEN] = {0};
    const sockaddr* addr = info->client_addr;
    if (addr->sa_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, buf, sizeof(buf));
    } else if (addr->sa_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, buf,
                sizeof(buf));
    }
    request->remote_addr = buf;
  }
}

const RoutedHandler* HttpServer::Impl::Route(const std::string& path) const {
  auto it = exact.find(path);
  if (it != exact.end()) return &it->second;
  for (const auto& [prefix, handler] : prefixes) {
    if (path.starts_with(prefix)) return &handler;
  }
  return nullptr;
}

MHD_Result HttpServer::Impl::Respond(MHD_Connection* connection, HttpResponse response) {
  auto* body = new std::string(std::move(response.body));
  MHD_Response* r = MHD_create_response_from_buffer_with_free_callback_cls(
      body->size(), body->data(), [](void* cls) { delete static_cast<std::string*>(cls); }, body);
  if (r == nullptr) {
    delete body;
    return MHD_NO;
  }
  if (!response.content_type.empty()) {
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, response.content_type.c_str());
  }
  for (const auto& [name, value] : response.headers) {
    // libmicrohttpd computes the framing itself.
    if (EqualsLower(name, "content-length") || EqualsLower(name, "transfer-encoding")) continue;
    MHD_add_response_header(r, name.c_str(), value.c_str());  // refuses CR/LF
  }
  if (stopping.load(std::memory_order_relaxed)) {
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  }
  int status = response.status;
  if (status < 100 || status > 599) status = 500;
  MHD_Result result = MHD_queue_response(connection, static_cast<unsigned>(status), r);
  MHD_destroy_response(r);
  return result;
}

MHD_Result HttpServer::Impl::RespondError(MHD_Connection* connection, int status,
                                          std::string_view code, std::string_view message) {
  HttpResponse response;
  SetJsonError(&response, status, code, message);
  return Respond(connection, std::move(response));
}

// libmicrohttpd 0.9.75 cannot queue a response once the body is being
// received, so the 413 is written on the socket directly, followed by a
// half-close. The connection then stays open, draining what the client still
// sends, so that closing it does not reset it (a reset can destroy the 413
// before the client reads it); it ends when the client hangs up, its body
// ends, or after max(max_body_bytes, 4 MiB) more bytes.
MHD_Result HttpServer::Impl::Reject413(MHD_Connection* connection, RequestState* st,
                                       std::string_view message) {
  rejected_too_large.fetch_add(1, std::memory_order_relaxed);
  st->rejected = true;
  std::string().swap(st->request.body);
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (info == nullptr) return MHD_NO;
  std::string body = JsonError("payload_too_large", message);
  std::string msg = StrCat(
      "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n"
      "Content-Type: application/json\r\nContent-Length: ",
      body.size(), "\r\n\r\n", body);
  // Nothing else is being written on this connection, and this small answer
  // fits the socket's send buffer.
  if (send(info->connect_fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
      static_cast<ssize_t>(msg.size())) {
    return MHD_NO;
  }
  shutdown(info->connect_fd, SHUT_WR);
  return MHD_YES;
}

struct HttpResponder::State {
  State(std::shared_ptr<Job> j, HttpResponse r, std::shared_ptr<DeferredJobs> d)
      : job(std::move(j)), response(std::move(r)), deferred(std::move(d)) {
    std::lock_guard<std::mutex> lock(deferred->mu);
    deferred->jobs.insert(job);
  }
  ~State() {
    if (sent.load()) return;
    HttpResponse error;
    SetJsonError(&error, 500, "internal", "the handler dropped its deferred response");
    Finish(std::move(error));
  }
  void Finish(HttpResponse r) {
    {
      std::lock_guard<std::mutex> lock(deferred->mu);
      deferred->jobs.erase(job);
    }
    HttpServer::Impl::FinishJob(job.get(), std::move(r));
  }
  std::shared_ptr<Job> job;
  HttpResponse response;
  std::shared_ptr<DeferredJobs> deferred;
  std::atomic<bool> sent{false};
};

HttpResponse* HttpResponder::response() { return &state_->response; }

void HttpResponder::Send() {
  if (state_->sent.exchange(true)) return;
  state_->Finish(std::move(state_->response));
}

DispatchResult HttpServer::Impl::Dispatch(std::shared_ptr<Job> job) {
  Pool& pool = pools[static_cast<int>(job->handler->pool)];
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!accepting_jobs) return DispatchResult::kStopping;
    if (pool.queue.size() >= pool.idle + options.max_queued_requests) return DispatchResult::kBusy;
    // Suspending under `mu` orders it before any worker can resume it.
    MHD_suspend_connection(job->connection);
    suspended.fetch_add(1, std::memory_order_relaxed);
    pool.queue.push_back(std::move(job));
  }
  pool.cv.notify_one();
  return DispatchResult::kQueued;
}

void HttpServer::Impl::WorkerLoop(size_t index, Pool* pool) {
  std::unique_lock<std::mutex> lock(mu);
  for (;;) {
    running[index].reset();  // its request was released by RunJob
    ++pool->idle;
    pool->cv.wait(lock, [&] { return shutdown_workers || !pool->queue.empty(); });
    --pool->idle;
    if (pool->queue.empty()) return;  // shutting down
    running[index] = std::move(pool->queue.front());
    pool->queue.pop_front();
    std::shared_ptr<Job> job = running[index];
    lock.unlock();
    RunJob(std::move(job));
    lock.lock();
  }
}

void HttpServer::Impl::RunJob(std::shared_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lock(job->mu);
    if (job->finished) return;  // answered by Stop already
  }
  HttpResponse response;
  try {
    job->handler->fn(job->request, &response);
  } catch (const std::exception& e) {
    response = HttpResponse();
    SetJsonError(&response, 500, "internal", StrCat("handler failed: ", e.what()));
  } catch (...) {
    response = HttpResponse();
    SetJsonError(&response, 500, "internal", "handler failed");
  }
  job->request = HttpRequest();  // free the body now
  if (response.defer) {
    auto defer = std::move(response.defer);
    response.defer = nullptr;
    try {
      defer(HttpResponder(
          std::make_shared<HttpResponder::State>(job, std::move(response), deferred)));
    } catch (...) {
      // The responder's state, dropped unsent, answers 500.
    }
    return;
  }
  FinishJob(job.get(), std::move(response));
}

void HttpServer::Impl::FinishJob(Job* job, HttpResponse response) {
  std::lock_guard<std::mutex> lock(job->mu);
  if (job->finished) return;
  job->finished = true;
  job->response = std::move(response);
  MHD_resume_connection(job->connection);
}

void HttpServer::Impl::AnswerWaitingJobs() {
  std::vector<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard<std::mutex> lock(mu);
    accepting_jobs = false;
    for (Pool& pool : pools) {
      for (auto& job : pool.queue) jobs.push_back(std::move(job));
      pool.queue.clear();
    }
    for (const auto& job : running) {
      if (job != nullptr) jobs.push_back(job);
    }
  }
  {
    std::lock_guard<std::mutex> lock(deferred->mu);
    jobs.insert(jobs.end(), deferred->jobs.begin(), deferred->jobs.end());
  }
  for (const auto& job : jobs) {
    HttpResponse response;
    SetJsonError(&response, 503, "unavailable", "server is shutting down");
    FinishJob(job.get(), std::move(response));
  }
}

void HttpServer::Impl::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu);
    accepting_jobs = false;
    shutdown_workers = true;
  }
  for (Pool& pool : pools) pool.cv.notify_all();
  for (auto& t : workers) t.join();
  workers.clear();
}

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string path, HttpHandler h, HandlerPool pool) {
  impl_->exact[std::move(path)] = {std::move(h), pool};
}

void HttpServer::HandlePrefix(std::string prefix, HttpHandler h, HandlerPool pool) {
  auto& prefixes = impl_->prefixes;
  for (auto& [p, handler] : prefixes) {
    if (p == prefix) {
      handler = {std::move(h), pool};
      return;
    }
  }
  prefixes.emplace_back(std::move(prefix), RoutedHandler{std::move(h), pool});
  std::stable_sort(prefixes.begin(), prefixes.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

namespace {

// Creates the non-blocking listening socket, so that a bind error can name
// its cause (libmicrohttpd would only say "failed").
StatusOr<int> Listen(const std::string& address, int port, size_t backlog, int* bound_port) {
  sockaddr_storage storage = {};
  socklen_t len = 0;
  std::string where;
  if (auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      inet_pton(AF_INET, address.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
    where = StrCat(address, ":", port);
  } else if (auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
             inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
    where = StrCat("[", address, "]:", port);
  } else {
    return InvalidArgumentError(
        StrCat("listen address ", Quote(address), " is not an IPv4 or IPv6 address"));
  }
  if (port < 0 || port > 65535) {
    return InvalidArgumentError(StrCat("listen port ", port, " is out of range"));
  }
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError(StrCat("socket for ", where, ": ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), len) != 0) {
    int err = errno;
    close(fd);
    return UnavailableError(StrCat("cannot bind ", where, ": ", strerror(err)));
  }
  if (listen(fd, static_cast<int>(std::clamp<size_t>(backlog, 128, 65535))) != 0) {
    int err = errno;
    close(fd);
    return UnavailableError(StrCat("cannot listen on ", where, ": ", strerror(err)));
  }
  sockaddr_storage bound = {};
  socklen_t bound_len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  *bound_port =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return fd;
}

}  // namespace

Status HttpServer::Start() {
  Impl& s = *impl_;
  if (s.daemon != nullptr) return FailedPreconditionError("HTTP server already started");
  const HttpServerOptions& o = s.options;
  if (o.worker_threads < 1 || o.io_threads < 1 || o.idle_timeout_s < 0) {
    return InvalidArgumentError(
        "HTTP server: io_threads and worker_threads must be >= 1, idle_timeout_s >= 0");
  }
  if (o.cpu_worker_threads < 0) {
    return InvalidArgumentError("HTTP server: cpu_worker_threads must be >= 0");
  }
  const int cpu_workers =
      o.cpu_worker_threads > 0
          ? o.cpu_worker_threads
          : 2 * std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  int port = 0;
  SH_ASSIGN_OR_RETURN(int fd, Listen(o.address, o.port, o.max_connections, &port));

  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.accepting_jobs = true;
    s.shutdown_workers = false;
    s.running.assign(o.worker_threads + cpu_workers, nullptr);
  }
  for (int i = 0; i < o.worker_threads + cpu_workers; ++i) {
    Impl::Pool* pool = &s.pools[static_cast<int>(i < o.worker_threads ? HandlerPool::kGeneral
                                                                        : HandlerPool::kCpu)];
    s.workers.emplace_back([&s, i, pool] { s.WorkerLoop(i, pool); });
  }

  unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
  // clang-format off
  s.daemon = MHD_start_daemon(
      flags, 0, &Impl::OnAcceptPolicy, &s, &Impl::OnAccess, &s,
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(fd),
      MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned>(o.io_threads),
      MHD_OPTION_CONNECTION_LIMIT,
          static_cast<unsigned>(std::min<size_t>(o.max_connections, 1u << 30)),
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned>(o.idle_timeout_s),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, std::max<size_t>(o.connection_memory_bytes, 4096),
      MHD_OPTION_URI_LOG_CALLBACK, &Impl::OnUriLog, &s,
      MHD_OPTION_NOTIFY_COMPLETED, &Impl::OnCompleted, &s,
      MHD_OPTION_NOTIFY_CONNECTION, &Impl::OnConnection, &s,
      MHD_OPTION_END);
  // clang-format on
  if (s.daemon == nullptr) {
    close(fd);
    s.StopWorkers();
    return InternalError(StrCat("cannot start the HTTP server on ", o.address, ":", port));
  }
  s.stopping.store(false);
  s.bound_port.store(port);
  return OkStatus();
}

int HttpServer::port() const { return impl_->bound_port.load(); }

void HttpServer::Stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  if (s.daemon == nullptr) {
    s.StopWorkers();
    return;
  }
  // Stop accepting: new connections are refused by OnAcceptPolicy. (Not
  // MHD_quiesce_daemon: with a thread pool in epoll mode, libmicrohttpd
  // 0.9.75 races its own threads removing the listening socket from their
  // epoll sets and aborts the process, "Failed to remove listen FD from
  // epoll set".) The daemon keeps the socket and closes it when stopped.
  s.stopping.store(true);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (s.in_flight.load(std::memory_order_acquire) > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Answer what is still waiting, and wait until libmicrohttpd has taken
  // every connection back: stopping it with one suspended is not allowed.
  s.AnswerWaitingJobs();
  // (Quick: every suspended request has just been answered and resumed.)
  while (s.suspended.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  MHD_stop_daemon(s.daemon);
  s.daemon = nullptr;
  s.StopWorkers();
}

HttpServer::Stats HttpServer::stats() const {
  const Impl& s = *impl_;
  Stats st;
  st.requests = s.requests.load(std::memory_order_relaxed);
  st.active_connections = s.active_connections.load(std::memory_order_relaxed);
  st.rejected_too_large = s.rejected_too_large.load(std::memory_order_relaxed);
  st.rejected_busy = s.rejected_busy.load(std::memory_order_relaxed);
  st.timeouts = s.timeouts.load(std::memory_order_relaxed);
  st.total_connections = s.total_connections.load(std::memory_order_relaxed);
  return st;
}

}  // namespace stackhouse::server
