// Storage benchmark phases, each printing one JSON object (bench/storage.sh
// runs them and combines the figures):
//
//   storage_benchmark append DIR [--threads 64] [--seconds 20] [--services 64] [--tiny 0|1]
//     64 appenders, WAL on, each append acknowledged after its fsync.
//     --tiny 1: every profile has one sample of one frame (the fixed cost of
//     an acknowledged append: series, WAL record, group commit).
//   storage_benchmark day DIR PPROF_DIR
//     Ingests ../shared/bench/gen.py's day (one gzipped pprof per 10 s),
//     compacts it into one block and measures disk and 24 h queries.
//   storage_benchmark month DIR [--days 30]
//     30 days of one service from the generator; 30-day flame graph query.
//   storage_benchmark unique DIR [--stacks 3000000]
//     One profile with 3 M unique stacks; flame graph query.
//   storage_benchmark intern DIR [--services 64]
//     Interning alone (no WAL, one thread), the append phase's profiles:
//     cold (cycling through them) and hot (the profile just interned again).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "base/file.h"
#include "bench/bench_flags.h"
#include "bench/profile_gen.h"
#include "profile/pprof.h"
#include "tsdb/merge.h"
#include "tsdb/store.h"

using namespace stackhouse;
using namespace stackhouse::tsdb;

namespace {

using bench::Flag;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kHour = 3600 * kSec;
constexpr int64_t kDay = 24 * kHour;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double PeakRssMb() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

profile::LabelSet ServiceLabels(const std::string& service) {
  return *profile::LabelSet::FromPairs({{"service_name", service}, {"env", "prod"}});
}

std::unique_ptr<Store> OpenStore(const std::string& dir, bool background) {
  std::filesystem::remove_all(dir);
  StoreOptions o;
  o.dir = dir;
  o.background = background;
  o.retention = 0;
  o.limits.max_samples_per_profile = 10'000'000;
  auto s = Store::Open(o);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(s).value();
}

// Median wall time in ms of `runs` flame-graph merges of the selection.
double MedianMergeMs(const Store& store, const Selection& sel, int runs, int64_t* total) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    double t0 = Now();
    FlameTreeSink sink;
    auto snap = store.GetSnapshot();
    Status s = snap->MergeStacks(sel, &sink);
    profile::FlameTree tree = sink.Finish();
    ms.push_back((Now() - t0) * 1000);
    if (!s.ok()) {
      std::fprintf(stderr, "query: %s\n", s.ToString().c_str());
      std::exit(1);
    }
    *total = tree.total();
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

void CompactAll(Store* store) {
  if (!store->CutHead().ok() || !store->Compact().ok()) {
    std::fprintf(stderr, "compaction failed\n");
    std::exit(1);
  }
}

// One sample of one frame ("main" of the service's own file).
profile::Profile TinyProfile(int service) {
  profile::Profile p;
  p.strings = {"", "cpu", "nanoseconds", "main", "svc" + std::to_string(service) + ".go"};
  p.sample_types.push_back({1, 2});
  p.period_type = {1, 2};
  p.period = 10'000'000;
  p.functions.push_back({1, 3, 3, 4, 1});
  p.lines.push_back({1, 10, 0});
  profile::Location loc;
  loc.id = 1;
  loc.line_count = 1;
  p.locations.push_back(loc);
  const uint32_t stack = 0;
  const int64_t value = 10'000'000;
  p.AddSample(std::span<const uint32_t>(&stack, 1), std::span<const int64_t>(&value, 1));
  return p;
}

int Append(int argc, char** argv) {
  std::string dir = argv[2];
  int threads = std::stoi(Flag(argc, argv, "--threads", "64"));
  double seconds = std::stod(Flag(argc, argv, "--seconds", "20"));
  int services = std::stoi(Flag(argc, argv, "--services", "64"));
  std::string testdata = Flag(argc, argv, "--testdata", "../shared/testdata");
  const bool tiny = Flag(argc, argv, "--tiny", "0") == "1";
  // Pre-generate profiles so the timed loop measures the store only.
  auto names = bench::TestdataFunctionNames(testdata);
  std::vector<std::vector<profile::Profile>> pool(services);
  size_t samples = 0, profiles = 0;
  for (int s = 0; s < services; ++s) {
    bench::GenOptions go;
    go.seed = 1000 + s;
    bench::ServiceGenerator gen("svc-" + std::to_string(s), names, go);
    for (int k = 0; k < 16; ++k) {
      pool[s].push_back(tiny ? TinyProfile(s) : gen.Next(0));
      samples += pool[s].back().samples.size();
      ++profiles;
    }
  }
  auto store = OpenStore(dir, true);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0}, errors{0};
  int64_t t0_ns = 1'704'067'200 * kSec;
  std::vector<std::thread> workers;
  double start = Now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      uint64_t i = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        int s = static_cast<int>((t + i * threads) % services);
        const profile::Profile& p = pool[s][i % pool[s].size()];
        int64_t time = t0_ns + static_cast<int64_t>(i) * 10 * kSec + t;
        Status st = store->Append("bench", ServiceLabels("svc-" + std::to_string(s)), p, time,
                                  10 * kSec);
        if (st.ok()) {
          done.fetch_add(1, std::memory_order_relaxed);
        } else if (errors.fetch_add(1) == 0) {
          std::fprintf(stderr, "append: %s\n", st.ToString().c_str());
        }
        ++i;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  double elapsed = Now() - start;
  StoreStats st = store->stats();
  // --tiny's figures are named append_tiny_*, so that both runs fit in one object.
  const char* k = tiny ? "append_tiny" : "append";
  std::printf(
      "{\"%s_profiles_per_s\": %.0f, \"%s_profiles\": %llu, \"%s_errors\": %llu, "
      "\"%s_threads\": %d, \"%s_services\": %d, \"%s_avg_samples_per_profile\": %.0f, "
      "\"%s_cuts\": %llu, \"%s_peak_rss_mb\": %.0f}\n",
      k, done.load() / elapsed, k, static_cast<unsigned long long>(done.load()), k,
      static_cast<unsigned long long>(errors.load()), k, threads, k, services, k,
      static_cast<double>(samples) / profiles, k, static_cast<unsigned long long>(st.cuts), k,
      PeakRssMb());
  return errors.load() == 0 ? 0 : 1;
}

// Interning alone, one thread: a profile's symbols and stacks into its
// service's table, the table already holding them (the steady state).
// "hot" interns the profile just interned again (as after a decode);
// "cold" cycles through the pool.
int Intern(int argc, char** argv) {
  int services = std::stoi(Flag(argc, argv, "--services", "64"));
  std::string testdata = Flag(argc, argv, "--testdata", "../shared/testdata");
  auto names = bench::TestdataFunctionNames(testdata);
  std::vector<std::vector<profile::Profile>> pool(services);
  for (int s = 0; s < services; ++s) {
    bench::GenOptions go;
    go.seed = 1000 + s;
    bench::ServiceGenerator gen("svc-" + std::to_string(s), names, go);
    for (int k = 0; k < 16; ++k) pool[s].push_back(gen.Next(0));
  }
  std::vector<SymbolTable> tables(services);
  auto intern = [&](int s, const profile::Profile& p) {
    ProfileInterner in(&tables[s], p);
    in.PrepareStacks();
    uint64_t sum = 0;
    for (size_t i = 0; i < p.samples.size(); ++i) sum += in.Stack(i);
    return sum;
  };
  uint64_t sink = 0;
  for (int s = 0; s < services; ++s) {
    for (const auto& p : pool[s]) sink += intern(s, p);
  }
  const int rounds = 3;
  double t0 = Now();
  size_t n = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < 16; ++k) {
      for (int s = 0; s < services; ++s, ++n) sink += intern(s, pool[s][k]);
    }
  }
  double cold_us = (Now() - t0) * 1e6 / n;
  double hot = 0;
  n = 0;
  for (int s = 0; s < services; ++s) {
    for (int k = 0; k < 16; ++k, ++n) {
      sink += intern(s, pool[s][k]);
      t0 = Now();
      sink += intern(s, pool[s][k]);
      hot += Now() - t0;
    }
  }
  std::fprintf(stderr, "intern: checksum %llu\n", static_cast<unsigned long long>(sink % 10));
  std::printf("{\"intern_cold_us\": %.1f, \"intern_hot_us\": %.1f}\n", cold_us, hot * 1e6 / n);
  return 0;
}

int Day(int argc, char** argv) {
  std::string dir = argv[2];
  std::string pprof_dir = argv[3];
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(pprof_dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  auto store = OpenStore(dir, false);
  uint64_t gz_bytes = 0, samples = 0;
  int64_t min_t = INT64_MAX, max_t = INT64_MIN;
  double t0 = Now();
  // Appended from 8 threads so that fsyncs are shared, as from a server.
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> atomic_samples{0}, atomic_gz{0};
  std::vector<std::thread> workers;
  std::mutex mu;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < files.size();) {
        auto data = ReadFile(files[i]);
        auto p = profile::DecodePprof(*data);
        if (!p.ok()) std::exit(1);
        atomic_gz += data->size();
        atomic_samples += p->samples.size();
        {
          std::lock_guard lock(mu);
          min_t = std::min(min_t, p->time_nanos);
          max_t = std::max(max_t, p->time_nanos);
        }
        Status s = store->Append("bench", ServiceLabels("svc"), *p);
        if (!s.ok()) {
          std::fprintf(stderr, "append: %s\n", s.ToString().c_str());
          std::exit(1);
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  gz_bytes = atomic_gz;
  samples = atomic_samples;
  double ingest_s = Now() - t0;
  if (!store->CutHead().ok()) return 1;
  uint64_t head_cut_bytes = DirBytes(dir + "/tenants");
  // Then one 24 h block (the day is in the past, so its windows are closed).
  if (!store->Compact().ok()) return 1;
  uint64_t disk = DirBytes(dir + "/tenants");
  Selection sel;
  sel.tenant = "bench";
  // The day as gen.py lays it out: [first profile's hour, +24 h).
  int64_t day_start = min_t - (min_t % kHour);
  sel.range = {day_start, day_start + kDay};
  int64_t total = 0;
  double aligned_ms = MedianMergeMs(*store, sel, 9, &total);
  Selection off = sel;
  off.range = {day_start + 7 * 60 * kSec, day_start + kDay + 7 * 60 * kSec};
  int64_t total_off = 0;
  double unaligned_ms = MedianMergeMs(*store, off, 9, &total_off);
  std::printf(
      "{\"day_profiles\": %zu, \"day_samples\": %llu, \"day_gzip_pprof_bytes\": %llu, "
      "\"day_disk_bytes\": %llu, \"bytes_per_sample\": %.3f, \"disk_vs_gzip_pprof_ratio\": %.5f, "
      "\"query_24h_flamegraph_ms\": %.1f, \"query_24h_unaligned_flamegraph_ms\": %.1f, "
      "\"day_total_value\": %lld, \"day_ingest_s\": %.1f, \"day_blocks\": %zu, "
      "\"day_first_time_ns\": %lld, \"day_last_time_ns\": %lld, \"day_uncompacted_bytes\": %llu, "
      "\"day_peak_rss_mb\": %.0f}\n",
      files.size(), static_cast<unsigned long long>(samples),
      static_cast<unsigned long long>(gz_bytes), static_cast<unsigned long long>(disk),
      static_cast<double>(disk) / samples, static_cast<double>(disk) / gz_bytes, aligned_ms,
      unaligned_ms, static_cast<long long>(total), ingest_s, store->stats().blocks,
      static_cast<long long>(min_t), static_cast<long long>(max_t),
      static_cast<unsigned long long>(head_cut_bytes), PeakRssMb());
  return 0;
}

int Month(int argc, char** argv) {
  std::string dir = argv[2];
  int days = std::stoi(Flag(argc, argv, "--days", "30"));
  std::string testdata = Flag(argc, argv, "--testdata", "../shared/testdata");
  auto names = bench::TestdataFunctionNames(testdata);
  auto store = OpenStore(dir, false);
  int64_t start = 1'704'067'200 * kSec;
  double t0 = Now();
  uint64_t samples = 0;
  bench::GenOptions go;
  go.seed = 7;
  bench::ServiceGenerator gen("svc", names, go);
  for (int d = 0; d < days; ++d) {
    // A day's profiles are generated in order, in batches, and appended
    // from 16 threads (so that fsyncs are shared, as from a server).
    const int per_day = static_cast<int>(kDay / (10 * kSec));
    for (int first = 0; first < per_day; first += 1024) {
      std::vector<profile::Profile> batch;
      for (int k = first; k < std::min(per_day, first + 1024); ++k) {
        batch.push_back(gen.Next(start + d * kDay + k * 10 * kSec));
        samples += batch.back().samples.size();
      }
      std::atomic<size_t> next{0};
      std::vector<std::thread> workers;
      for (int t = 0; t < 16; ++t) {
        workers.emplace_back([&] {
          for (size_t i; (i = next.fetch_add(1)) < batch.size();) {
            Status s = store->Append("bench", ServiceLabels("svc"), batch[i]);
            if (!s.ok()) {
              std::fprintf(stderr, "append: %s\n", s.ToString().c_str());
              std::exit(1);
            }
          }
        });
      }
      for (auto& w : workers) w.join();
    }
    CompactAll(store.get());
    std::fprintf(stderr, "month: day %d ingested (%.0f s)\n", d + 1, Now() - t0);
  }
  double ingest_s = Now() - t0;
  Selection sel;
  sel.tenant = "bench";
  sel.range = {start, start + days * kDay};
  int64_t total = 0;
  double ms = MedianMergeMs(*store, sel, 5, &total);
  Selection off = sel;
  off.range = {start + 7 * 60 * kSec, start + days * kDay - 13 * 60 * kSec};
  int64_t total_off = 0;
  double off_ms = MedianMergeMs(*store, off, 5, &total_off);
  uint64_t disk = DirBytes(dir + "/tenants");
  std::printf(
      "{\"query_30d_flamegraph_ms\": %.1f, \"query_30d_unaligned_flamegraph_ms\": %.1f, "
      "\"month_days\": %d, \"month_samples\": %llu, \"month_disk_bytes\": %llu, "
      "\"month_bytes_per_sample\": %.3f, \"month_blocks\": %zu, \"month_ingest_s\": %.0f, "
      "\"month_peak_rss_mb\": %.0f}\n",
      ms, off_ms, days, static_cast<unsigned long long>(samples),
      static_cast<unsigned long long>(disk), static_cast<double>(disk) / samples,
      store->stats().blocks, ingest_s, PeakRssMb());
  return 0;
}

int Unique(int argc, char** argv) {
  std::string dir = argv[2];
  size_t n = std::stoull(Flag(argc, argv, "--stacks", "3000000"));
  std::string testdata = Flag(argc, argv, "--testdata", "../shared/testdata");
  auto names = bench::TestdataFunctionNames(testdata);
  bench::GenOptions go;
  go.seed = 99;
  bench::ServiceGenerator gen("unique", names, go);
  int64_t t = 1'704'067'200 * kSec;
  profile::Profile p = gen.UniqueStacks(n, t);
  auto store = OpenStore(dir, false);
  Status s = store->Append("bench", ServiceLabels("unique"), p);
  if (!s.ok()) {
    std::fprintf(stderr, "append: %s\n", s.ToString().c_str());
    return 1;
  }
  Selection sel;
  sel.tenant = "bench";
  int64_t total = 0;
  double head_ms = MedianMergeMs(*store, sel, 3, &total);
  CompactAll(store.get());
  double block_ms = MedianMergeMs(*store, sel, 3, &total);
  std::printf(
      "{\"unique_stacks_3m_flamegraph_ms\": %.0f, \"unique_stacks_head_flamegraph_ms\": %.0f, "
      "\"unique_stacks\": %zu, \"unique_peak_rss_mb\": %.0f}\n",
      block_ms, head_ms, n, PeakRssMb());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: storage_benchmark append|day|month|unique DIR ...\n");
    return 2;
  }
  std::string phase = argv[1];
  if (phase == "append") return Append(argc, argv);
  if (phase == "intern") return Intern(argc, argv);
  if (phase == "day" && argc >= 4) return Day(argc, argv);
  if (phase == "month") return Month(argc, argv);
  if (phase == "unique") return Unique(argc, argv);
  std::fprintf(stderr, "unknown phase %s\n", phase.c_str());
  return 2;
}
