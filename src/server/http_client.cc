#include "server/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "base/strings.h"

namespace stackhouse::server {

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<HttpClientResponse*>(user)->body.append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* response = static_cast<HttpClientResponse*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    response->headers.clear();  // a new response (after 100 Continue, a redirect)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;  // the blank line
  response->headers.emplace_back(AsciiLower(TrimSpace(line.substr(0, colon))), std::string(TrimSpace(line.substr(colon + 1))));
  return size * n;
}

struct UploadCursor {
  std::string_view rest;
};

size_t OnUpload(char* buffer, size_t size, size_t n, void* user) {
  auto* cursor = static_cast<UploadCursor*>(user);
  size_t k = std::min(size * n, cursor->rest.size());
  std::memcpy(buffer, cursor->rest.data(), k);
  cursor->rest.remove_prefix(k);
  return k;
}

}  // namespace

std::string_view HttpClientResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return {};
}

HttpClient::HttpClient(std::chrono::milliseconds timeout) : timeout_(timeout) {
  GlobalInit();
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

HttpClient::HttpClient(HttpClient&& other) noexcept
    : curl_(std::exchange(other.curl_, nullptr)),
      timeout_(other.timeout_),
      connections_opened_(other.connections_opened_) {}

HttpClient& HttpClient::operator=(HttpClient&& other) noexcept {
  if (this != &other) {
    if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
    curl_ = std::exchange(other.curl_, nullptr);
    timeout_ = other.timeout_;
    connections_opened_ = other.connections_opened_;
  }
  return *this;
}

StatusOr<HttpClientResponse> HttpClient::Get(const std::string& url, const HttpHeaders& headers) {
  return Perform("GET", url, nullptr, headers);
}

StatusOr<HttpClientResponse> HttpClient::Post(const std::string& url, std::string_view body,
                                              const HttpHeaders& headers) {
  return Perform("POST", url, &body, headers);
}

StatusOr<HttpClientResponse> HttpClient::Perform(const char* method, const std::string& url,
                                                 const std::string_view* body,
                                                 const HttpHeaders& headers) {
  if (curl_ == nullptr) curl_ = curl_easy_init();
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return InternalError(StrCat(method, " ", url, ": curl_easy_init failed"));
  // Reset keeps the connection cache, so the next request reuses the socket.
  curl_easy_reset(curl);

  HttpClientResponse response;
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  bool chunked = false;
  for (const auto& [name, value] : headers) {
    if (EqualsIgnoreCase(name, "transfer-encoding") && EqualsIgnoreCase(value, "chunked")) {
      chunked = true;
    }
    list = curl_slist_append(list, StrCat(name, ": ", value).c_str());
  }
  UploadCursor cursor;

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, nullptr);
  if (body == nullptr) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (chunked) {
    cursor.rest = *body;
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, &OnUpload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &cursor);
  } else {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  if (list != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);

  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(list);
  long connects = 0;
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects);
  connections_opened_ += connects;
  if (rc != CURLE_OK) {
    std::string detail = error[0] != '\0' ? std::string(TrimSpace(error)) : curl_easy_strerror(rc);
    std::string msg = StrCat(method, " ", url, ": ", detail);
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        return DeadlineExceededError(std::move(msg));
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return InvalidArgumentError(std::move(msg));
      default:
        return UnavailableError(std::move(msg));
    }
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace stackhouse::server
