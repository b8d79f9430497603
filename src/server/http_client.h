// HttpClient: a small blocking HTTP/1.1 client on libcurl, for tests, the
// CLI's remote commands and server-to-server calls.
//
// One HttpClient owns one curl easy handle, so consecutive requests to the
// same host reuse the keep-alive connection. Not thread-safe: use one client
// per thread. Transport failures (connection refused, timeout, bad URL) are
// errors naming the URL; an HTTP error status (404, 503) is a response, not
// an error.
#ifndef STACKHOUSE_SERVER_HTTP_CLIENT_H_
#define STACKHOUSE_SERVER_HTTP_CLIENT_H_

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace stackhouse::server {

struct HttpClientResponse {
  int status = 0;
  std::string body;
  // Names lowercased, in order (the final response's, after any 100 Continue).
  std::vector<std::pair<std::string, std::string>> headers;

  // The first value of the header (name matched case-insensitively), "" if absent.
  std::string_view Header(std::string_view name) const;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  // `timeout` bounds each whole request (connect, send, receive).
  explicit HttpClient(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(HttpClient&& other) noexcept;
  HttpClient& operator=(HttpClient&& other) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  StatusOr<HttpClientResponse> Get(const std::string& url, const HttpHeaders& headers = {});
  // Sends `body` with Content-Length, or chunked when `headers` contain
  // "Transfer-Encoding: chunked".
  StatusOr<HttpClientResponse> Post(const std::string& url, std::string_view body,
                                    const HttpHeaders& headers = {});

  // Connections opened by this client so far (1 when keep-alive held).
  long connections_opened() const { return connections_opened_; }

 private:
  StatusOr<HttpClientResponse> Perform(const char* method, const std::string& url,
                                       const std::string_view* body, const HttpHeaders& headers);

  void* curl_ = nullptr;  // CURL*
  std::chrono::milliseconds timeout_;
  long connections_opened_ = 0;
};

// Percent-encodes everything but the unreserved characters A-Z a-z 0-9 - _ . ~
// (for a query value or a path segment).
std::string UrlEncode(std::string_view s);

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_HTTP_CLIENT_H_
