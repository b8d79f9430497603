// Load test for HttpServer: small GET requests over keep-alive connections.
//
//   server_http_benchmark [--connections 64] [--seconds 5] [--client-threads 1]
//       runs a server (2 io threads, 64 workers) and an epoll client in-process
//   server_http_benchmark --serve PORT     only the server (e.g. for wrk)
//   server_http_benchmark --connect PORT   only the client
//   server_http_benchmark --idle 1000      also holds that many idle connections
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "server/http.h"
#include "server/testing/raw_conn.h"

namespace {

using stackhouse::server::HttpRequest;
using stackhouse::server::HttpResponse;
using stackhouse::server::HttpServer;
using stackhouse::server::HttpServerOptions;

int Connect(int port) {
  int fd = stackhouse::server::testing::ConnectLoopback(port);
  if (fd < 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

// One epoll loop driving `n` keep-alive connections, one request in flight
// on each. Returns the responses received.
uint64_t RunClient(int port, int n, double seconds) {
  static const char kRequest[] = "GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n";
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<int> fds(n);
  std::vector<std::string> bufs(n);
  for (int i = 0; i < n; ++i) {
    fds[i] = Connect(port);
    fcntl(fds[i], F_SETFL, O_NONBLOCK);
    epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    send(fds[i], kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL);
  }
  uint64_t done = 0, errors = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::vector<epoll_event> events(n);
  char buf[16384];
  while (std::chrono::steady_clock::now() < end) {
    int k = epoll_wait(ep, events.data(), n, 100);
    for (int e = 0; e < k; ++e) {
      int i = static_cast<int>(events[e].data.u32);
      ssize_t r = recv(fds[i], buf, sizeof(buf), 0);
      if (r <= 0) {
        ++errors;
        continue;
      }
      std::string& b = bufs[i];
      b.append(buf, static_cast<size_t>(r));
      for (;;) {
        size_t head = b.find("\r\n\r\n");
        if (head == std::string::npos) break;
        size_t cl = b.find("Content-Length: ");
        size_t length = cl < head ? std::strtoul(b.c_str() + cl + 16, nullptr, 10) : 0;
        if (b.size() < head + 4 + length) break;
        if (b.compare(0, 12, "HTTP/1.1 200") != 0) ++errors;
        b.erase(0, head + 4 + length);
        ++done;
        send(fds[i], kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL);
      }
    }
  }
  for (int fd : fds) close(fd);
  close(ep);
  if (errors > 0) std::fprintf(stderr, "errors: %llu\n", static_cast<unsigned long long>(errors));
  return done;
}

long RssKiB() {
  FILE* f = std::fopen("/proc/self/status", "r");
  char line[256];
  long kib = 0;
  while (f != nullptr && std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
  }
  if (f != nullptr) std::fclose(f);
  return kib;
}

}  // namespace

int main(int argc, char** argv) {
  int connections = 64, serve_port = -1, connect_port = -1, idle = 0, client_threads = 1;
  double seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int* int_flag = flag == "--connections"      ? &connections
                    : flag == "--serve"          ? &serve_port
                    : flag == "--connect"        ? &connect_port
                    : flag == "--idle"           ? &idle
                    : flag == "--client-threads" ? &client_threads
                                                 : nullptr;
    if (int_flag != nullptr) *int_flag = std::atoi(argv[i + 1]);
    if (flag == "--seconds") seconds = std::atof(argv[i + 1]);
  }
  rlimit rl = {};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);

  int port = connect_port;
  HttpServerOptions options;
  options.address = "127.0.0.1";
  options.port = serve_port >= 0 ? serve_port : 0;
  HttpServer server(options);
  server.Handle("/ping", [](const HttpRequest&, HttpResponse* resp) { resp->body = "pong\n"; });
  if (connect_port < 0) {
    if (auto s = server.Start(); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    port = server.port();
    std::printf("serving on 127.0.0.1:%d\n", port);
    std::fflush(stdout);
  }
  if (serve_port >= 0) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    int sig = 0;
    sigwait(&set, &sig);
    server.Stop();
    return 0;
  }

  long rss0 = RssKiB();
  std::vector<int> idle_fds;
  for (int i = 0; i < idle; ++i) {
    int fd = Connect(port);
    static const char kReq[] = "GET /ping HTTP/1.1\r\nHost: idle\r\n\r\n";
    send(fd, kReq, sizeof(kReq) - 1, MSG_NOSIGNAL);
    char buf[512];
    recv(fd, buf, sizeof(buf), 0);  // one small response; now idle in keep-alive
    idle_fds.push_back(fd);
  }
  if (idle > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    long rss1 = RssKiB();
    std::printf(
        "%d idle keep-alive connections: active=%llu, RSS %+ld KiB (%.1f KiB each, "
        "client and server sides together)\n",
        idle, static_cast<unsigned long long>(server.stats().active_connections), rss1 - rss0,
        static_cast<double>(rss1 - rss0) / idle);
  }

  std::atomic<uint64_t> total{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < client_threads; ++t) {
    threads.emplace_back([&, t] {
      int n = connections / client_threads + (t < connections % client_threads ? 1 : 0);
      total += RunClient(port, n, seconds);
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%d connections, %.1f s: %llu requests, %.0f requests/s\n", connections, secs,
              static_cast<unsigned long long>(total.load()), total.load() / secs);
  for (int fd : idle_fds) close(fd);
  return 0;
}
