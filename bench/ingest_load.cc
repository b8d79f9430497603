// Load generator of `scripts/bench ingest`: its own process, pushing
// realistic gzipped pprof (varied stacks, many services) to a running
// `stackhouse server` over keep-alive connections, one request in flight on
// each, from one epoll loop; while it runs, extra connections sit idle in
// keep-alive and must still answer at the end. Then it renders one service
// over the last 24 h.
//
//   ingest_load --port P --server-pid PID --testdata DIR [--seconds 60]
//               [--connections 64] [--idle 1000] [--services 200]
//               [--payloads 4000] [--renders 21] [--mode push|otlp] [--day 1|0]
//
// --mode otlp sends the same profiles as OTLP/HTTP exports (gzipped
// protobuf to /v1development/profiles) instead of Connect pushes of gzipped
// pprof; --day 0 skips loading a day of svc-7 first.
//
// First a day of one service (svc-7: a profile every 10 s for 24 h, through
// /ingest with its time in `from`) is loaded, as a server that has run for a
// day would have it. Then the timed load: Connect pushes (application/proto)
// of profiles of 200 services, stamped with the current time. The last line
// printed is one JSON object.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "api/push/v1/push.pb.h"
#include "otlp/otlp.h"
#include "base/gzip.h"
#include "base/strings.h"
#include "base/time_parse.h"
#include "bench/profile_gen.h"
#include "profile/pprof.h"
#include "server/http_client.h"
#include "server/testing/raw_conn.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kSec = 1000000000;

int Connect(int port) {
  int fd = stackhouse::server::testing::ConnectLoopback(port);
  if (fd < 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

// Reads one HTTP response from a blocking socket; returns its status or -1.
int ReadResponse(int fd, std::string* buf) {
  char tmp[4096];
  for (;;) {
    size_t head = buf->find("\r\n\r\n");
    if (head != std::string::npos) {
      size_t cl = buf->find("Content-Length: ");
      size_t length = cl < head ? std::strtoul(buf->c_str() + cl + 16, nullptr, 10) : 0;
      if (buf->size() >= head + 4 + length) {
        int status = std::atoi(buf->c_str() + 9);
        buf->erase(0, head + 4 + length);
        return status;
      }
    }
    ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
    if (r <= 0) return -1;
    buf->append(tmp, static_cast<size_t>(r));
  }
}

struct Conn {
  int fd = -1;
  const std::string* request = nullptr;
  size_t sent = 0;
  std::string in;
  Clock::time_point started;
};

long PeakRssKiB(long pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/status";
  FILE* f = std::fopen(path.c_str(), "r");
  char line[256];
  long kib = 0;
  while (f != nullptr && std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, "VmHWM:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
  }
  if (f != nullptr) std::fclose(f);
  return kib;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stackhouse;
  int port = 4040, connections = 64, idle = 1000, services = 200, payloads = 4000, renders = 21;
  std::string mode = "push";  // push: Connect push of gzipped pprof; otlp: OTLP/HTTP, gzipped protobuf
  bool day_load = true;
  long server_pid = 0;
  double seconds = 60;
  std::string testdata = "../shared/testdata";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--port") port = std::atoi(v);
    else if (flag == "--server-pid") server_pid = std::atol(v);
    else if (flag == "--seconds") seconds = std::atof(v);
    else if (flag == "--connections") connections = std::atoi(v);
    else if (flag == "--idle") idle = std::atoi(v);
    else if (flag == "--services") services = std::atoi(v);
    else if (flag == "--payloads") payloads = std::atoi(v);
    else if (flag == "--renders") renders = std::atoi(v);
    else if (flag == "--testdata") testdata = v;
    else if (flag == "--mode") mode = v;
    else if (flag == "--day") day_load = std::atoi(v) != 0;
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  rlimit rl = {};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  // Payloads: services x profiles, times spread over the last 24 h.
  std::vector<std::string> names = bench::TestdataFunctionNames(testdata);
  std::vector<bench::ServiceGenerator> gens;
  for (int s = 0; s < services; ++s) {
    gens.emplace_back(StrCat("svc-", s), names, bench::IngestServiceOptions(s));
  }
  int64_t now = NowNanos();
  if (mode != "push" && mode != "otlp") {
    std::fprintf(stderr, "--mode must be push or otlp\n");
    return 2;
  }
  // A day of svc-7, in time order, on 8 threads.
  if (day_load) {
    bench::GenOptions day = bench::IngestServiceOptions(7);
    day.seed = 8;
    bench::ServiceGenerator g("svc-7", names, day);
    const int64_t n = 24 * 360;
    std::vector<std::string> bodies(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      bodies[static_cast<size_t>(i)] = Gzip(profile::EncodePprof(g.Next(0)), 6);
    }
    std::atomic<int64_t> next_day{0}, failed{0};
    std::vector<std::thread> threads;
    auto day_start = Clock::now();
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        server::HttpClient client;
        for (int64_t i; (i = next_day.fetch_add(1)) < n;) {
          int64_t ts = now / kSec - 24 * 3600 + i * 10;
          auto r = client.Post(StrCat("http://127.0.0.1:", port, "/ingest?name=svc-7&format=pprof&from=", ts,
                                      "&until=", ts + 10),
                               bodies[static_cast<size_t>(i)]);
          if (!r.ok() || r->status != 200) failed.fetch_add(1);
        }
      });
    }
    for (auto& th : threads) th.join();
    if (failed.load() > 0) {
      std::fprintf(stderr, "ingest_load: %lld day profiles failed\n", static_cast<long long>(failed.load()));
      return 1;
    }
    std::fprintf(stderr, "ingest_load: loaded a day of svc-7 (%lld profiles) in %.1f s\n",
                 static_cast<long long>(n),
                 std::chrono::duration<double>(Clock::now() - day_start).count());
  }
  std::vector<std::string> requests;
  size_t min_size = SIZE_MAX, max_size = 0, sum_size = 0;
  for (int i = 0; i < payloads; ++i) {
    bench::ServiceGenerator& g = gens[static_cast<size_t>(i % services)];
    // Stamped "now": each service sends one profile per 10 s; the payloads
    // are reused through the run, as the same stacks recur.
    int64_t t = now - 10 * kSec + static_cast<int64_t>(i) * 1000000;
    profile::Profile prof = g.Next(t);
    if (mode == "otlp") {
      // The same profile as an OTLP export (one OTLP profile per sample type).
      otlp::ExportRequest req;
      otlp::AppendProfile(prof, {{"service.name", g.service()}}, &req);
      std::string gz = Gzip(req.SerializeAsString(), 6);
      min_size = std::min(min_size, gz.size());
      max_size = std::max(max_size, gz.size());
      sum_size += gz.size();
      requests.push_back(StrCat("POST /v1development/profiles HTTP/1.1\r\nHost: bench\r\n"
                                "Content-Type: application/x-protobuf\r\nContent-Encoding: gzip\r\n"
                                "Content-Length: ",
                                gz.size(), "\r\n\r\n", gz));
      continue;
    }
    std::string gz = Gzip(profile::EncodePprof(prof), 6);
    min_size = std::min(min_size, gz.size());
    max_size = std::max(max_size, gz.size());
    sum_size += gz.size();
    push::v1::PushRequest req;
    auto* series = req.add_series();
    auto* l = series->add_labels();
    l->set_name("service_name");
    l->set_value(g.service());
    series->add_samples()->set_raw_profile(gz);
    std::string body = req.SerializeAsString();
    requests.push_back(StrCat("POST /push.v1.PusherService/Push HTTP/1.1\r\nHost: bench\r\n"
                              "Content-Type: application/proto\r\nContent-Length: ",
                              body.size(), "\r\n\r\n", body));
  }
  std::fprintf(stderr, "ingest_load: %d payloads of %zu..%zu bytes (mean %zu), %d services\n",
               payloads, min_size, max_size, sum_size / payloads, services);

  // Idle keep-alive connections: one request each, then silence.
  std::vector<int> idle_fds;
  std::string buf;
  const std::string ready = "GET /ready HTTP/1.1\r\nHost: idle\r\n\r\n";
  for (int i = 0; i < idle; ++i) {
    int fd = Connect(port);
    send(fd, ready.data(), ready.size(), MSG_NOSIGNAL);
    buf.clear();
    if (ReadResponse(fd, &buf) != 200) {
      std::fprintf(stderr, "idle connection %d: no 200\n", i);
      return 1;
    }
    idle_fds.push_back(fd);
  }

  // The load: one epoll loop, `connections` connections, one request each.
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(connections));
  size_t next = 0;
  std::vector<double> latencies;
  latencies.reserve(2000000);
  uint64_t errors = 0;
  auto send_more = [&](Conn& c) {
    while (c.sent < c.request->size()) {
      ssize_t w = send(c.fd, c.request->data() + c.sent, c.request->size() - c.sent, MSG_NOSIGNAL);
      if (w <= 0) return;  // EAGAIN: wait for EPOLLOUT
      c.sent += static_cast<size_t>(w);
    }
  };
  auto start_request = [&](Conn& c, uint32_t i) {
    c.request = &requests[next++ % requests.size()];
    c.sent = 0;
    c.started = Clock::now();
    send_more(c);
    epoll_event ev = {};
    ev.events = EPOLLIN | (c.sent < c.request->size() ? EPOLLOUT : 0);
    ev.data.u32 = i;
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  };
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(port);
    fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
    epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  auto t0 = Clock::now();
  auto end = t0 + std::chrono::duration<double>(seconds);
  for (size_t i = 0; i < conns.size(); ++i) start_request(conns[i], static_cast<uint32_t>(i));
  std::vector<epoll_event> events(conns.size());
  char tmp[16384];
  size_t in_flight = conns.size();
  while (in_flight > 0) {
    int k = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    bool stopping = Clock::now() >= end;
    for (int e = 0; e < k; ++e) {
      uint32_t i = events[e].data.u32;
      Conn& c = conns[i];
      if (events[e].events & EPOLLOUT) {
        send_more(c);
        if (c.sent == c.request->size()) {
          epoll_event ev = {};
          ev.events = EPOLLIN;
          ev.data.u32 = i;
          epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        }
      }
      if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      ssize_t r = recv(c.fd, tmp, sizeof(tmp), 0);
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        std::fprintf(stderr, "connection %u closed by the server\n", i);
        ++errors;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        --in_flight;
        continue;
      }
      if (r < 0) continue;
      c.in.append(tmp, static_cast<size_t>(r));
      size_t head = c.in.find("\r\n\r\n");
      if (head == std::string::npos) continue;
      size_t cl = c.in.find("Content-Length: ");
      size_t length = cl < head ? std::strtoul(c.in.c_str() + cl + 16, nullptr, 10) : 0;
      if (c.in.size() < head + 4 + length) continue;
      if (c.in.compare(0, 12, "HTTP/1.1 200") != 0) {
        if (errors < 5) std::fprintf(stderr, "response: %.200s\n", c.in.c_str());
        ++errors;
      } else {
        latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - c.started).count());
      }
      c.in.erase(0, head + 4 + length);
      if (stopping) {
        --in_flight;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      } else {
        start_request(c, i);
      }
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (Conn& c : conns) close(c.fd);

  // The idle connections must still be open and answering.
  int idle_ok = 0;
  for (int fd : idle_fds) {
    buf.clear();
    if (send(fd, ready.data(), ready.size(), MSG_NOSIGNAL) > 0 && ReadResponse(fd, &buf) == 200) {
      ++idle_ok;
    }
    close(fd);
  }

  // Render one service over the last day.
  server::HttpClient client(std::chrono::seconds(60));
  std::vector<double> render_ms;
  std::string url = StrCat("http://127.0.0.1:", port, "/pyroscope/render?query=",
                           server::UrlEncode("process_cpu:cpu:nanoseconds:cpu:nanoseconds"
                                             "{service_name=\"svc-7\"}"),
                           "&from=now-24h&until=now");
  int64_t ticks = 0;
  for (int i = 0; i < renders; ++i) {
    auto t = Clock::now();
    auto r = client.Get(url);
    render_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "render failed\n");
      ++errors;
      break;
    }
    size_t p = r->body.find("\"numTicks\":");
    if (p != std::string::npos) ticks = std::atoll(r->body.c_str() + p + 11);
  }
  if (ticks <= 0 && renders > 0) {
    std::fprintf(stderr, "render returned no data\n");
    ++errors;
  }
  double rss_mb = server_pid > 0 ? PeakRssKiB(server_pid) / 1024.0 : 0;
  std::fprintf(stderr,
               "ingest_load: %zu profiles in %.1f s, %llu errors, p50 %.2f ms, p99 %.2f ms, "
               "idle %d/%d, render p50 %.1f ms\n",
               latencies.size(), secs, static_cast<unsigned long long>(errors),
               Percentile(latencies, 0.5), Percentile(latencies, 0.99), idle_ok, idle,
               Percentile(render_ms, 0.5));
  std::printf("{\"profiles_per_s\":%.0f,\"p50_ack_ms\":%.2f,\"p99_ack_ms\":%.2f,"
              "\"peak_rss_mb\":%.0f,\"idle_conns\":%d,\"render_24h_p50_ms\":%.1f,"
              "\"errors\":%llu,\"connections\":%d,\"mean_payload_bytes\":%zu}\n",
              latencies.size() / secs, Percentile(latencies, 0.5), Percentile(latencies, 0.99),
              rss_mb, idle_ok, Percentile(render_ms, 0.5), static_cast<unsigned long long>(errors),
              connections, sum_size / payloads);
  return errors == 0 ? 0 : 1;
}
