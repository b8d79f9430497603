#include "server/static_files.h"

#include <unistd.h>

#include <filesystem>

#include "base/file.h"
#include "base/strings.h"

namespace stackhouse::server {

namespace {

constexpr size_t kMaxTotalBytes = size_t{64} << 20;

bool EndsWith(const std::string& s, std::string_view suffix) { return s.ends_with(suffix); }

// application/x-www-form-urlencoded, as the browser's URLSearchParams writes
// it: alphanumerics and *-._ as they are, space as '+', the rest %XX.
void AppendFormEncoded(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' ||
        c == '-' || c == '.' || c == '_') {
      out->push_back(ch);
    } else if (c == ' ') {
      out->push_back('+');
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> FirstQueryParams(const HttpRequest& req) {
  const std::string_view type = req.Query("type");
  // As the script reads them: an empty parameter counts as absent.
  std::string_view view = req.Query("view"), selector = req.Query("query");
  if (view.empty()) view = "single";
  if (selector.empty()) selector = "{}";
  selector = TrimSpace(selector);
  if (type.empty() || view != "single" || !selector.starts_with('{')) return {};
  const std::string_view from = req.Query("from"), until = req.Query("until");
  const std::string_view max_nodes = req.Query("maxNodes");
  std::vector<std::pair<std::string, std::string>> params = {
      {"query", StrCat(type, selector)},
      {"from", std::string(from.empty() ? "now-1h" : from)},
      {"until", std::string(until.empty() ? "now" : until)}};
  if (!max_nodes.empty()) params.push_back({"maxNodes", std::string(max_nodes)});
  params.push_back({"format", "binary"});
  return params;
}

namespace {

// The page-relative URL of a render query with `params` ("" if none).
std::string RenderUrl(const std::vector<std::pair<std::string, std::string>>& params) {
  if (params.empty()) return "";
  std::string url = "pyroscope/render";
  for (size_t i = 0; i < params.size(); ++i) {
    url.push_back(i == 0 ? '?' : '&');
    url += params[i].first;  // names need no encoding
    url.push_back('=');
    AppendFormEncoded(&url, params[i].second);
  }
  return url;
}

}  // namespace

std::string FirstQueryPreload(const HttpRequest& req) { return RenderUrl(FirstQueryParams(req)); }

std::string ContentTypeFor(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (EndsWith(path, ext)) return type;
  }
  return "application/octet-stream";
}

StatusOr<StaticFiles> StaticFiles::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFoundError(StrCat("UI directory ", dir, " does not exist"));
  StaticFiles out;
  size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (ec) break;
    SH_ASSIGN_OR_RETURN(std::string body, ReadFile(it->path().string()));
    total += body.size();
    if (total > kMaxTotalBytes) {
      return ResourceExhaustedError(StrCat("UI directory ", dir, " holds more than 64 MiB"));
    }
    out.files_["/" + rel] = File{ContentTypeFor(rel), std::move(body)};
  }
  if (ec) return InternalError(StrCat("reading UI directory ", dir, ": ", ec.message()));
  if (!out.files_.count("/index.html")) {
    return NotFoundError(StrCat("UI directory ", dir, " has no index.html"));
  }
  return out;
}

std::string StaticFiles::FindDefaultDir() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path bin = exe.parent_path();
    candidates.push_back(bin / ".." / ".." / "ui" / "dist");
    candidates.push_back(bin / "ui");
  }
  candidates.push_back(fs::path("ui") / "dist");
  for (const fs::path& p : candidates) {
    if (fs::is_regular_file(p / "index.html", ec)) return fs::weakly_canonical(p, ec).string();
  }
  return "";
}

void StaticFiles::Serve(const HttpRequest& req, HttpResponse* resp) const {
  std::string path = req.path == "/" ? "/index.html" : req.path;
  auto it = files_.find(path);
  if (it == files_.end()) {
    SetJsonError(resp, 404, "not_found", StrCat("no such page or endpoint: ", req.path));
    return;
  }
  if (!AllowMethod(req, "GET", resp)) return;
  resp->status = 200;
  resp->content_type = it->second.content_type;
  resp->body = req.method == "HEAD" ? std::string() : it->second.body;
  resp->headers.push_back({"Cache-Control", path.starts_with("/assets/")
                                                ? "public, max-age=31536000, immutable"
                                                : "no-cache"});
  resp->headers.push_back({"X-Content-Type-Options", "nosniff"});
  if (path == "/index.html") {
    // The page's first query, which index.html fetches as soon as it runs:
    // named here, the browser starts it with the page's headers, while the
    // HTML is still being parsed.
    if (auto params = FirstQueryParams(req); !params.empty()) {
      resp->headers.push_back({"Link", StrCat("<", RenderUrl(params), ">; rel=preload; as=fetch; crossorigin")});
      if (first_query_) {
        HttpRequest query;
        query.method = "GET";
        query.path = "/pyroscope/render";
        query.query = std::move(params);
        query.headers = req.headers;
        query.remote_addr = req.remote_addr;
        first_query_(std::move(query));
      }
    }
  }
}

void ServeMissingUi(const HttpRequest& req, HttpResponse* resp) {
  if (req.path != "/" && req.path != "/index.html") {
    SetJsonError(resp, 404, "not_found", StrCat("no such page or endpoint: ", req.path));
    return;
  }
  resp->status = 200;
  resp->content_type = "text/html; charset=utf-8";
  resp->body =
      "<!doctype html><meta charset=utf-8><title>Stackhouse</title>"
      "<body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\">"
      "<h1>Stackhouse</h1><p>The server is running, but the web UI has not been built. "
      "Run <code>./scripts/setup</code> (or <code>cd ui &amp;&amp; npm ci &amp;&amp; npm run "
      "build</code>) and restart the server, or point <code>--ui-dir</code> at a built "
      "<code>ui/dist</code>.</p><p>The APIs work: see <code>docs/server.md</code>.</p>";
}

}  // namespace stackhouse::server
