// Child process of the crash test (store_crash_test.cc): opens the store in
// DIR with aggressive background cutting and compaction, appends profile
// START, START+1, ... forever and prints "ack N" after each acknowledged
// append. The parent kills it with SIGKILL at a random moment.
//
// usage: tsdb_crash_child DIR START
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "tsdb/store.h"
#include "tsdb/testing/store_testing.h"

using namespace stackhouse;
using namespace stackhouse::tsdb;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: tsdb_crash_child DIR START\n");
    return 2;
  }
  StoreOptions o;
  o.dir = argv[1];
  o.background = true;
  o.background_interval_ms = 3;
  o.head_max_bytes = 16 << 10;
  o.head_block_duration = int64_t{2} * 60 * 1000000000;
  o.compaction_windows = {int64_t{5} * 60 * 1000000000, int64_t{30} * 60 * 1000000000};
  o.retention = 0;
  auto store = Store::Open(o);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  long long start = std::atoll(argv[2]);
  for (long long n = start;; ++n) {
    auto p = testing::CrashTestProfile(n);
    Status s = (*store)->Append("tenant", testing::CrashTestLabels(n), p);
    if (!s.ok()) {
      std::fprintf(stderr, "append %lld: %s\n", n, s.ToString().c_str());
      return 1;
    }
    std::string line = "ack " + std::to_string(n) + "\n";
    if (write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
  }
}
