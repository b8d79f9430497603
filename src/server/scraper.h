// Pull mode: fetches pprof profiles from the targets of scrape_configs
// (Go's net/http/pprof and anything serving the same) every scrape
// interval and stores them with job and instance labels (service_name is
// the job unless a target label sets it). Mutex and block profiles, and the
// alloc_* columns of heap profiles, count from the start of the process:
// what is stored is the change since the previous scrape (the first scrape
// of such a profile is only a baseline). Health per target and profile is
// on /metrics (stackhouse_scrape_*) and at /api/v1/targets.
#ifndef STACKHOUSE_SERVER_SCRAPER_H_
#define STACKHOUSE_SERVER_SCRAPER_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stackhouse::server {

struct ServerContext;

class Scraper {
 public:
  explicit Scraper(ServerContext* ctx);
  ~Scraper();
  // One thread per (target, profile).
  void Start();
  void Stop();
  // Prometheus's /api/v1/targets shape: {"status":"success","data":{"activeTargets":[...]}}.
  std::string TargetsJson() const;

  struct Target;

 private:
  void Loop(Target* t, int index);
  void ScrapeOnce(Target* t);

  ServerContext* ctx_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace stackhouse::server

#endif  // STACKHOUSE_SERVER_SCRAPER_H_
