#include "agent/cpus.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "base/strings.h"

namespace stackhouse::agent {

std::vector<int> OnlineCpus() {
  std::vector<int> cpus;
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string line;
  std::getline(in, line);
  for (std::string_view range : Split(line, ',')) {
    range = TrimSpace(range);
    if (range.empty()) continue;
    size_t dash = range.find('-');
    auto lo = ParseInt64(range.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : ParseInt64(range.substr(dash + 1));
    if (!lo || !hi) continue;
    for (int64_t c = *lo; c <= *hi; ++c) cpus.push_back(static_cast<int>(c));
  }
  if (cpus.empty()) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = 0; c < n; ++c) cpus.push_back(static_cast<int>(c));
  }
  return cpus;
}

}  // namespace stackhouse::agent
