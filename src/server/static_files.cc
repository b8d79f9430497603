#include "server/static_files.h"

#include <unistd.h>

#include <filesystem>

#include "base/file.h"
#include "base/strings.h"

namespace stackhouse::server {

namespace {

constexpr size_t kMaxTotalBytes = size_t{64} << 20;

bool EndsWith(const std::string& s, std::string_view suffix) { return s.ends_with(suffix); }

}  // namespace

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
