#include "bench/profile_gen.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_set>

#include "base/hash.h"

#include "base/file.h"
#include "profile/builder.h"
#include "profile/formats.h"
#include "profile/frames.h"

namespace stackhouse::bench {

std::vector<std::string> TestdataFunctionNames(const std::string& dir) {
  std::set<std::string> names;
  for (const char* f : {"go_cpu.pb.gz", "go_heap.pb.gz", "go_block.pb.gz", "node_1.pb.gz",
                        "node_3.pb.gz", "gperftools_cpu.pb.gz", "folded.txt", "perf_script.txt"}) {
    auto data = ReadFile(dir + "/" + f);
    if (!data.ok()) continue;
    auto p = profile::ReadProfile(*data, std::nullopt);
    if (!p.ok()) continue;
    profile::FrameNames frames(*p);
    for (uint32_t i = 0; i < frames.num_names(); ++i) names.insert(frames.name(i));
  }
  return {names.begin(), names.end()};
}

GenOptions IngestServiceOptions(int s) {
  GenOptions go;
  go.live_stacks = 800;
  go.min_depth = 12;
  go.max_depth = 30;
  go.seed = static_cast<uint64_t>(s) + 1;
  go.functions = 120 + (s % 10) * 60;
  go.ticks_per_profile = 70 + (s % 10) * 40;
  return go;
}

ServiceGenerator::ServiceGenerator(std::string service, const std::vector<std::string>& seed_names,
                                   const GenOptions& options)
    : service_(std::move(service)), opt_(options), rng_(options.seed) {
  // Names: the real ones first, then synthetic ones in packages shaped like
  // the real names' (so the mix of lengths and prefixes is realistic).
  std::vector<std::string> names = seed_names;
  static const char* kPkgs[] = {"internal/api", "internal/cart", "internal/pricing", "pkg/cache",
                                "encoding/json", "net/http", "database/sql", "crypto/tls",
                                "google.golang.org/grpc", "go.uber.org/zap", "compress/flate",
                                "std::__detail", "absl::container_internal", "boost::asio"};
  static const char* kVerbs[] = {"Handle", "Parse", "Encode", "Decode", "Lookup", "Insert",
                                 "Flush", "Serve", "Read", "Write", "Merge", "Hash", "Visit"};
  for (int i = 0; static_cast<int>(names.size()) < opt_.functions; ++i) {
    names.push_back(std::string(kPkgs[i % 14]) + "." + kVerbs[(i * 7) % 13] +
                    std::to_string(i) + (i % 3 == 0 ? "Locked" : ""));
  }
  names.resize(opt_.functions);
  profile::ProfileBuilder b;
  profile::Mapping m;
  m.filename = b.String("/usr/bin/" + service_);
  m.memory_start = 0x400000;
  m.memory_limit = 0x4000000;
  m.has_functions = true;
  uint32_t mapping = b.Mapping(m);
  for (size_t i = 0; i < names.size(); ++i) {
    profile::Line line;
    line.function = b.Function(b.String(names[i]), 0, b.String("src/" + service_ + ".go"),
                               static_cast<int64_t>(10 + i));
    line.line = static_cast<int64_t>(12 + i);
    b.Location(mapping, 0x401000 + i * 64, std::span<const profile::Line>(&line, 1));
  }
  symbols_ = b.Finish();
  const uint32_t n = static_cast<uint32_t>(symbols_.locations.size());
  // Call graph: each function calls a few others, popular callees more often.
  callees_.resize(n);
  std::uniform_int_distribution<uint32_t> any(0, n - 1);
  for (uint32_t f = 0; f < n; ++f) {
    int k = 2 + static_cast<int>(rng_() % 5);
    for (int j = 0; j < k; ++j) {
      double u = std::uniform_real_distribution<double>(0, 1)(rng_);
      callees_[f].push_back(static_cast<uint32_t>(std::pow(u, 2.0) * (n - 1)));
    }
  }
  for (int r = 0; r < 6; ++r) roots_.push_back(any(rng_));
  for (int s = 0; s < opt_.live_stacks; ++s) stacks_.push_back(RandomStack());
  double sum = 0;
  for (int s = 0; s < opt_.live_stacks; ++s) {
    sum += 1.0 / (s + 1.0);
    cumulative_.push_back(sum);
  }
}

std::vector<uint32_t> ServiceGenerator::RandomStack() {
  int depth = opt_.min_depth + static_cast<int>(rng_() % (opt_.max_depth - opt_.min_depth + 1));
  std::vector<uint32_t> root_first = {roots_[rng_() % roots_.size()]};
  while (static_cast<int>(root_first.size()) < depth) {
    const auto& c = callees_[root_first.back()];
    root_first.push_back(c[rng_() % c.size()]);
  }
  return {root_first.rbegin(), root_first.rend()};
}

profile::Profile ServiceGenerator::Template() const {
  profile::Profile p;
  p.strings = symbols_.strings;
  p.mappings = symbols_.mappings;
  p.functions = symbols_.functions;
  p.locations = symbols_.locations;
  p.lines = symbols_.lines;
  auto s = [&](const char* v) {
    p.strings.emplace_back(v);
    return static_cast<int64_t>(p.strings.size() - 1);
  };
  p.sample_types.push_back({s("cpu"), s("nanoseconds")});
  p.period_type = {p.sample_types[0].type, p.sample_types[0].unit};
  p.period = 10'000'000;
  return p;
}

profile::Profile ServiceGenerator::Next(int64_t time_nanos) {
  if (++generated_ % opt_.drift_every == 0) stacks_[rng_() % stacks_.size()] = RandomStack();
  profile::Profile p = Template();
  p.time_nanos = time_nanos;
  p.duration_nanos = 10'000'000'000;
  // Ticks drawn from the Zipf weights, with +-20% jitter of the count.
  int ticks = static_cast<int>(opt_.ticks_per_profile *
                               std::uniform_real_distribution<double>(0.8, 1.2)(rng_));
  std::vector<uint32_t> counts(stacks_.size(), 0);
  std::uniform_real_distribution<double> u(0, cumulative_.back());
  for (int t = 0; t < ticks; ++t) {
    size_t slot = std::lower_bound(cumulative_.begin(), cumulative_.end(), u(rng_)) -
                  cumulative_.begin();
    ++counts[std::min(slot, counts.size() - 1)];
  }
  for (size_t s = 0; s < stacks_.size(); ++s) {
    if (counts[s] == 0) continue;
    int64_t v = int64_t{counts[s]} * 10'000'000;
    p.AddSample(stacks_[s], std::span<const int64_t>(&v, 1));
  }
  return p;
}

profile::Profile ServiceGenerator::UniqueStacks(size_t n, int64_t time_nanos) {
  // Distinct stacks that share prefixes the way real ones do: each new stack
  // copies a random earlier one, keeps all but its last few frames and walks
  // on from there, so a stack adds ~3-4 tree nodes (Pyroscope's maintainers
  // describe their 3 M-stack case as ~10 M nodes).
  profile::Profile p = Template();
  p.time_nanos = time_nanos;
  std::unordered_set<uint64_t> seen;
  seen.reserve(n);
  std::vector<uint32_t> root_first;
  std::vector<uint32_t> leaf_first;
  std::vector<std::vector<uint32_t>> recent;  // a window of earlier stacks, root first
  while (seen.size() < n) {
    if (recent.empty() || rng_() % 64 == 0) {
      std::vector<uint32_t> st = RandomStack();
      root_first.assign(st.rbegin(), st.rend());
    } else {
      root_first = recent[rng_() % recent.size()];
      size_t keep = root_first.size() - std::min<size_t>(root_first.size() - 1, 1 + rng_() % 6);
      root_first.resize(keep);
      int depth = opt_.min_depth + static_cast<int>(rng_() % (opt_.max_depth - opt_.min_depth + 1));
      while (static_cast<int>(root_first.size()) < depth) {
        const auto& c = callees_[root_first.back()];
        root_first.push_back(c[rng_() % c.size()]);
      }
    }
    if (!seen.insert(HashBytes(root_first.data(), root_first.size() * sizeof(uint32_t))).second) {
      continue;
    }
    if (recent.size() < 4096) {
      recent.push_back(root_first);
    } else {
      recent[rng_() % recent.size()] = root_first;
    }
    leaf_first.assign(root_first.rbegin(), root_first.rend());
    int64_t v = int64_t{1 + static_cast<int64_t>(rng_() % 5)} * 10'000'000;
    p.AddSample(leaf_first, std::span<const int64_t>(&v, 1));
  }
  return p;
}

}  // namespace stackhouse::bench
