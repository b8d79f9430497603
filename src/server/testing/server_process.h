// The real `stackhouse server` binary as a child process, for process-level
// tests (kill test, CLI round trips). Tests only.
#ifndef STACKHOUSE_SERVER_TESTING_SERVER_PROCESS_H_
#define STACKHOUSE_SERVER_TESTING_SERVER_PROCESS_H_

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "server/http_client.h"

namespace stackhouse::server::testing {

// A port that was free a moment ago.
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Starts `stackhouse server` on 127.0.0.1:port with data in `dir`.
class ServerProcess {
 public:
  ServerProcess(const std::string& dir, int port) : base_(StrCat("http://127.0.0.1:", port)) {
    std::string bin = stackhouse::testing::BinPath("stackhouse");
    std::string addr = StrCat("127.0.0.1:", port);
    pid_ = fork();
    if (pid_ == 0) {
      execl(bin.c_str(), bin.c_str(), "server", "--http-addr", addr.c_str(), "--data-dir",
            dir.c_str(), "--log-level", "warn", "--ingestion-rate-mb", "0",
            static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~ServerProcess() {
    if (pid_ > 0) Kill(SIGKILL);
  }
  bool WaitReady() {
    HttpClient c(std::chrono::seconds(1));
    for (int i = 0; i < 200; ++i) {
      auto r = c.Get(base_ + "/ready");
      if (r.ok() && r->status == 200) return true;
      usleep(50000);
    }
    return false;
  }
  int Kill(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  const std::string& base() const { return base_; }

 private:
  std::string base_;
  pid_t pid_ = -1;
};

}  // namespace stackhouse::server::testing

#endif  // STACKHOUSE_SERVER_TESTING_SERVER_PROCESS_H_
