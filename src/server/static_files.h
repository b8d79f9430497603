// StaticFiles: the web UI's built assets (ui/dist), read into memory once at
// startup and served at / by `stackhouse server`. No CDN, no network: the
// page works offline.
#ifndef STACKHOUSE_SERVER_STATIC_FILES_H_
#define STACKHOUSE_SERVER_STATIC_FILES_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/http.h"

namespace stackhouse::server {

class StaticFiles {
 public:
  // Reads every regular file below `dir` (at most 64 MiB in all). An error
  // names the directory when it does not exist or holds no index.html.
  static StatusOr<StaticFiles> Load(const std::string& dir);

  // The UI directory to use when none is configured: ui/dist next to the
  // source tree of the running binary (build/bin/stackhouse ->
  // ../../ui/dist), then <binary dir>/ui, then ./ui/dist. "" if none has an
  // index.html.
  static std::string FindDefaultDir();

  // Serves GET/HEAD of "/" (index.html) and of every file by its path; an
  // unknown path gets the JSON 404. Hashed assets (under assets/) are cached
  // for a year, index.html is revalidated.
  void Serve(const HttpRequest& req, HttpResponse* resp) const;
  // Called with the render request a flame-graph link's page is about to
  // make (see FirstQueryPreload), when that page is served.
  void set_first_query(std::function<void(HttpRequest)> f) { first_query_ = std::move(f); }

  size_t size() const { return files_.size(); }

 private:
  struct File {
    std::string content_type;
    std::string body;
  };
  std::map<std::string, File> files_;  // by path, "/index.html"
  std::function<void(HttpRequest)> first_query_;
};

// The URL (relative to the page) of the render query that index.html's
// inline script starts for a page URL like
// /?type=T&query={..}&from=..&until=..&maxNodes=N (the single view), written
// as that script writes it; "" when the page starts no query. index.html is
// served with it as a Link preload header.
std::string FirstQueryPreload(const HttpRequest& req);
// Its parameters, decoded, in order (empty when there is none).
std::vector<std::pair<std::string, std::string>> FirstQueryParams(const HttpRequest& req);

// The page served at / when the UI has not been built.
void ServeMissingUi(const HttpRequest& req, HttpResponse* resp);

// The Content-Type for a file name ("app.js" -> "text/javascript; charset=utf-8").
std::string ContentTypeFor(const std::string& path);

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_STATIC_FILES_H_
