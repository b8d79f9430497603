// stackhouse push and stackhouse query: clients of a running server.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>

#include "api/push/v1/push.pb.h"
#include "api/querier/v1/querier.pb.h"
#include "base/file.h"
#include "base/gzip.h"
#include "base/strings.h"
#include "base/time_parse.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/flags.h"
#include "cli/remote.h"
#include "profile/folded.h"
#include "profile/labels.h"
#include "profile/pprof.h"
#include "profile/top.h"
#include "server/http_client.h"

namespace stackhouse::cli {

std::string BaseUrl(const std::string& server) {
  std::string url = server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.find("://") == std::string::npos) url = "http://" + url;
  return url;
}

server::HttpHeaders TenantHeaders(const Flags& flags) {
  server::HttpHeaders h;
  if (!flags.Get("tenant").empty()) h.push_back({"X-Scope-OrgID", flags.Get("tenant")});
  return h;
}

// "server answered 400: message" from a JSON error body (or the raw body).
std::string HttpError(const server::HttpClientResponse& r) {
  std::string msg(TrimSpace(r.body));
  auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    msg = j["message"].get<std::string>();
  }
  if (msg.size() > 500) msg = msg.substr(0, 500) + "...";
  return StrCat("server answered ", r.status, ": ", msg);
}

namespace {

// The stem of a path: "/a/b/api.pb.gz" -> "api".
std::string FileStem(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = name.find('.');
  return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

}  // namespace

int PushMain(int argc, char** argv, int first) {
  Flags flags;
  flags.Value("server", "http://localhost:4040", "Server URL");
  flags.Value("service", "", "service_name label (default: each file's name up to its first dot)");
  flags.Value("labels", "", "More labels: k=v,k2=v2");
  flags.Value("format", "", "Input format (detected when absent)", {"--from"});
  flags.Value("tenant", "", "Tenant (X-Scope-OrgID)");
  Status s = flags.Parse(argc, argv, first);
  if (flags.help()) {
    std::printf(
        "usage: stackhouse push FILE... [--server URL] [--service NAME] [--labels k=v,...]\n"
        "                       [--format F] [--tenant T]\n\n"
        "Sends profiles to a server (Connect push API). Any readable format is converted\n"
        "to pprof first: pprof, folded, lines, speedscope, gperftools, perf-script.\n\n"
        "Options:\n%s",
        flags.Usage().c_str());
    return 0;
  }
  if (!s.ok()) return Fail("push", s.message() + " (see --help)", 2);
  if (flags.positional().empty()) return Fail("push", "expected at least one file", 2);
  auto extra = ParseLabelList(flags.Get("labels"));
  if (!extra.ok()) return Fail("push", extra.status().message(), 2);
  server::HttpClient client;
  std::string url = BaseUrl(flags.Get("server")) + "/push.v1.PusherService/Push";
  server::HttpHeaders headers = TenantHeaders(flags);
  headers.push_back({"Content-Type", "application/proto"});
  for (const std::string& path : flags.positional()) {
    auto p = LoadProfile(path, flags.Get("format"));
    if (!p.ok()) return Fail("push", p.status().message());
    push::v1::PushRequest req;
    push::v1::RawProfileSeries* series = req.add_series();
    std::string service = flags.Get("service").empty() ? FileStem(path) : flags.Get("service");
    auto add = [&](const std::string& name, const std::string& value) {
      types::v1::LabelPair* lp = series->add_labels();
      lp->set_name(name);
      lp->set_value(value);
    };
    add("service_name", service);
    for (const auto& lp : *extra) add(lp.name, lp.value);
    series->add_samples()->set_raw_profile(Gzip(profile::EncodePprof(*p), 1));
    auto resp = client.Post(url, req.SerializeAsString(), headers);
    if (!resp.ok()) return Fail("push", resp.status().message());
    if (resp->status != 200) return Fail("push", StrCat(path, ": ", HttpError(*resp)));
    std::fprintf(stderr, "pushed %s: service_name=%s, %zu samples\n", path.c_str(),
                 service.c_str(), p->samples.size());
  }
  return 0;
}

StatusOr<int64_t> TimeFlagMs(const Flags& flags, const std::string& name, const std::string& def, int64_t now_ns) {
  auto t = ParseTime(flags.Get(name).empty() ? def : flags.Get(name), now_ns);
  if (!t.ok()) return t.status().WithPrefix("--" + name);
  return *t / 1000000;
}

// The merged profile of a query over [from, until), through SelectMergeProfile.
StatusOr<profile::Profile> FetchProfile(server::HttpClient* client, const Flags& flags,
                                        const QueryArgs& q, int64_t from_ms, int64_t until_ms) {
  querier::v1::SelectMergeProfileRequest req;
  req.set_profile_typeid(q.type);
  req.set_label_selector(q.selector);
  req.set_start(from_ms);
  req.set_end(until_ms);
  server::HttpHeaders headers = TenantHeaders(flags);
  headers.push_back({"Content-Type", "application/proto"});
  SH_ASSIGN_OR_RETURN(server::HttpClientResponse r,
                      client->Post(q.base + "/querier.v1.QuerierService/SelectMergeProfile",
                                   req.SerializeAsString(), headers));
  if (r.status != 200) return UnavailableError(HttpError(r));
  return profile::DecodePprof(r.body);
}

namespace {

std::map<std::string, int64_t> FoldedMap(const profile::Profile& p) {
  std::map<std::string, int64_t> out;
  for (std::string_view line : Split(profile::WriteFolded(p, 0), '\n')) {
    size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos) continue;
    out[std::string(line.substr(0, sp))] += ParseInt64(line.substr(sp + 1)).value_or(0);
  }
  return out;
}

std::string DiffTop(const profile::Profile& left, const profile::Profile& right, size_t n) {
  std::map<std::string, std::pair<int64_t, int64_t>> flat;
  profile::TopTable l = profile::ComputeTop(left, 0), r = profile::ComputeTop(right, 0);
  for (const auto& e : l.entries) flat[e.name].first = e.flat;
  for (const auto& e : r.entries) flat[e.name].second = e.flat;
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> rows(flat.begin(), flat.end());
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return std::llabs(a.second.second - a.second.first) >
           std::llabs(b.second.second - b.second.first);
  });
  std::string out = StrCat("Total: ", l.total, " -> ", r.total, "\n");
  out += "      before       after       delta  function\n";
  char buf[96];
  for (size_t i = 0; i < rows.size() && i < n; ++i) {
    auto [a, b] = rows[i].second;
    std::snprintf(buf, sizeof(buf), "%12" PRId64 "%12" PRId64 "%+12" PRId64 "  ", a, b, b - a);
    out += buf + rows[i].first + "\n";
  }
  return out;
}

}  // namespace

int QueryMain(int argc, char** argv, int first) {
  Flags flags;
  flags.Value("server", "http://localhost:4040", "Server URL");
  flags.Value("from", "now-1h", "Start (now-1h, unix seconds, RFC 3339, ...)");
  flags.Value("until", "now", "End");
  flags.Value("format", "top", "Output: top, folded, pprof or flamebearer");
  flags.Value("diff-from", "", "Compare with this range (start)");
  flags.Value("diff-until", "", "Compare with this range (end; default now)");
  flags.Value("output", "", "Write to this file instead of stdout", {"-o"});
  flags.Value("nodes", "20", "Rows of the top table", {"-n"});
  flags.Value("max-nodes", "", "Flame graph nodes (flamebearer)");
  flags.Value("tenant", "", "Tenant (X-Scope-OrgID)");
  Status s = flags.Parse(argc, argv, first);
  if (flags.help()) {
    std::printf(
        "usage: stackhouse query 'TYPE{selector}' [--from T] [--until T] [--server URL]\n"
        "                        [--format top|folded|pprof|flamebearer]\n"
        "                        [--diff-from T --diff-until T] [-o FILE] [--tenant T]\n\n"
        "Merges the profiles of a selector over a time range on a server, e.g.\n"
        "  stackhouse query 'process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"api\"}'\n"
        "With --diff-from, the range [from, until) is the baseline and\n"
        "[diff-from, diff-until) the comparison: top shows per-function deltas, folded\n"
        "prints 'stack before after' lines, flamebearer the \"double\" format.\n\n"
        "Options:\n%s",
        flags.Usage().c_str());
    return 0;
  }
  if (!s.ok()) return Fail("query", s.message() + " (see --help)", 2);
  if (flags.positional().size() != 1) return Fail("query", "expected one query 'TYPE{selector}'", 2);
  const std::string& text = flags.positional()[0];
  auto sel = profile::ParseSelector(text);
  if (!sel.ok()) return Fail("query", StrCat("query: ", sel.status().message()), 2);
  if (sel->profile_type.empty()) {
    return Fail("query", "the query needs a profile type, e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds{...}", 2);
  }
  const std::string format = flags.Get("format");
  if (format != "top" && format != "folded" && format != "pprof" && format != "flamebearer") {
    return Fail("query", StrCat("unknown --format ", Quote(format)), 2);
  }
  int64_t now = NowNanos();
  auto time_flag = [&](const std::string& name, const std::string& def) { return TimeFlagMs(flags, name, def, now); };
  auto from = time_flag("from", "now-1h"), until = time_flag("until", "now");
  if (!from.ok()) return Fail("query", from.status().message(), 2);
  if (!until.ok()) return Fail("query", until.status().message(), 2);
  bool diff = flags.IsSet("diff-from");
  int64_t dfrom = 0, duntil = 0;
  if (diff) {
    auto a = time_flag("diff-from", ""), b = time_flag("diff-until", "now");
    if (!a.ok()) return Fail("query", a.status().message(), 2);
    if (!b.ok()) return Fail("query", b.status().message(), 2);
    dfrom = *a;
    duntil = *b;
  } else if (flags.IsSet("diff-until")) {
    return Fail("query", "--diff-until needs --diff-from", 2);
  }
  profile::Selector only_matchers;
  only_matchers.matchers = sel->matchers;
  QueryArgs q{BaseUrl(flags.Get("server")), sel->profile_type, only_matchers.ToString(), *from,
              *until};
  server::HttpClient client(std::chrono::minutes(5));
  std::string out;
  if (format == "flamebearer") {
    std::string url;
    if (!diff) {
      url = StrCat(q.base, "/pyroscope/render?query=", server::UrlEncode(text),
                   "&from=", q.from_ms, "&until=", q.until_ms);
    } else {
      url = StrCat(q.base, "/pyroscope/render-diff?leftQuery=", server::UrlEncode(text),
                   "&leftFrom=", q.from_ms, "&leftUntil=", q.until_ms,
                   "&rightQuery=", server::UrlEncode(text), "&rightFrom=", dfrom,
                   "&rightUntil=", duntil);
    }
    if (!flags.Get("max-nodes").empty()) url += "&maxNodes=" + server::UrlEncode(flags.Get("max-nodes"));
    auto r = client.Get(url, TenantHeaders(flags));
    if (!r.ok()) return Fail("query", r.status().message());
    if (r->status != 200) return Fail("query", HttpError(*r));
    out = r->body + "\n";
  } else {
    auto left = FetchProfile(&client, flags, q, q.from_ms, q.until_ms);
    if (!left.ok()) return Fail("query", left.status().message());
    profile::Profile right;
    if (diff) {
      auto r = FetchProfile(&client, flags, q, dfrom, duntil);
      if (!r.ok()) return Fail("query", r.status().message());
      right = std::move(*r);
    }
    auto n = ParseInt64(flags.Get("nodes"));
    if (!n || *n <= 0) return Fail("query", "-n must be a positive number", 2);
    if (format == "pprof") {
      if (diff) return Fail("query", "--format pprof cannot show a diff; use top, folded or flamebearer", 2);
      out = Gzip(profile::EncodePprof(*left));
      if (flags.Get("output").empty()) return Fail("query", "--format pprof needs -o FILE", 2);
    } else if (format == "folded") {
      if (!diff) {
        out = profile::WriteFolded(*left, 0);
      } else {
        std::map<std::string, std::pair<int64_t, int64_t>> both;
        for (const auto& [k, v] : FoldedMap(*left)) both[k].first = v;
        for (const auto& [k, v] : FoldedMap(right)) both[k].second = v;
        for (const auto& [k, v] : both) out += StrCat(k, " ", v.first, " ", v.second, "\n");
      }
    } else if (!diff) {
      out = StrCat("Query: ", text, "\n") +
            profile::FormatTop(profile::ComputeTop(*left, 0),
                               left->num_types() ? left->str(left->sample_types[0].unit) : "",
                               static_cast<size_t>(*n));
    } else {
      out = StrCat("Query: ", text, "\n") + DiffTop(*left, right, static_cast<size_t>(*n));
    }
  }
  if (flags.Get("output").empty()) {
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  Status w = WriteFile(flags.Get("output"), out);
  if (!w.ok()) return Fail("query", w.message());
  return 0;
}

}  // namespace stackhouse::cli
