// scripts/bench ingest, second part: the floor of ingest on this machine.
//
//   ingest_floor --port P [--gunzip 1|0] [--decode 0|1]
//
// An HttpServer set up as `stackhouse server` sets up its main port by
// default (MainHttpOptions of a default ServerConfig: the same io threads, CPU
// pool, connection and body limits), whose Connect push handler does only the
// part of ingest no server can skip: it parses the PushRequest and gunzips
// every profile in it (--gunzip 0: not even that), then answers 200 at once.
// No pprof decode, no store, no WAL. Driven by ingest_load with the same load
// as the real server, its profiles/s is the most any server built this way
// could ingest here. --decode 1 also decodes every profile as the server
// does (profile::DecodePprof, which gunzips), still storing nothing: the most
// a server could ingest with this decoder. Runs until SIGTERM or SIGINT.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "api/push/v1/push.pb.h"
#include "base/gzip.h"
#include "base/strings.h"
#include "profile/pprof.h"
#include "server/config.h"
#include "server/http.h"
#include "server/server.h"

using namespace stackhouse;
using namespace stackhouse::server;

int main(int argc, char** argv) {
  int port = 0;
  bool gunzip = true;
  bool decode = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--port") {
      port = std::atoi(argv[i + 1]);
    } else if (flag == "--gunzip") {
      gunzip = std::atoi(argv[i + 1]) != 0;
    } else if (flag == "--decode") {
      decode = std::atoi(argv[i + 1]) != 0;
    } else {
      std::fprintf(stderr, "usage: ingest_floor --port P [--gunzip 1|0] [--decode 0|1]\n");
      return 2;
    }
  }
  ServerConfig config;
  config.http_addr = StrCat("127.0.0.1:", port);
  config.max_connections = 8192;
  config.read_timeout_s = 3600;
  auto options = MainHttpOptions(config);
  if (!options.ok()) {
    std::fprintf(stderr, "ingest_floor: %s\n", options.status().ToString().c_str());
    return 1;
  }
  const size_t max_decompressed = static_cast<size_t>(config.max_decompressed_bytes);
  profile::PprofDecodeOptions decode_options;
  decode_options.max_decompressed_bytes = max_decompressed;
  HttpServer http(*options);
  http.Handle("/ready", [](const HttpRequest&, HttpResponse* resp) { resp->body = "ready\n"; });
  http.Handle(
      "/push.v1.PusherService/Push",
      [gunzip, decode, max_decompressed, decode_options](const HttpRequest& req,
                                                         HttpResponse* resp) {
        push::v1::PushRequest push;
        if (!push.ParseFromString(req.body)) {
          SetJsonError(resp, 400, "invalid_argument", "not a PushRequest");
          return;
        }
        for (const auto& series : push.series()) {
          for (const auto& sample : series.samples()) {
            if (decode) {
              auto p = profile::DecodePprof(sample.raw_profile(), decode_options);
              if (!p.ok()) {
                SetJsonError(resp, 400, "invalid_argument", p.status().message());
                return;
              }
              continue;
            }
            if (!gunzip) continue;
            auto raw = Gunzip(sample.raw_profile(), max_decompressed);
            if (!raw.ok()) {
              SetJsonError(resp, 400, "invalid_argument", raw.status().message());
              return;
            }
          }
        }
        resp->content_type = "application/proto";
        resp->body = push::v1::PushResponse().SerializeAsString();
      },
      HandlerPool::kCpu);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // (the server's threads inherit the mask)
  Status started = http.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "ingest_floor: %s\n", started.ToString().c_str());
    return 1;
  }
  int sig = 0;
  sigwait(&stop, &sig);
  http.Stop();
  return 0;
}
