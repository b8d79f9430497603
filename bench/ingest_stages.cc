// The CPU one pushed profile costs the server's ingest path, stage by stage,
// on scripts/bench ingest's payload mix (gzipped pprof of ~5-20 KB from 64
// services): gunzip, pprof decode, and the store's append (WAL on, returning
// after its fsync). One thread, so that the stages add up to the cost of a
// profile, in CPU time (the WAL's and the store's threads included, the
// wait for fsync not); scripts/bench ingest measures the whole server under
// load.
//
//   ingest_stages [--testdata DIR] [--services 64] [--rounds 6]
//
// Last line: one JSON object (microseconds per profile).
#include <time.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/gzip.h"
#include "base/strings.h"
#include "bench/bench_flags.h"
#include "bench/profile_gen.h"
#include "profile/pprof.h"
#include "tsdb/store.h"

using namespace stackhouse;  // NOLINT

namespace {

// CPU seconds of the whole process: the append's share includes the WAL's
// and the store's own threads, not the wait for fsync.
double Now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int Fail(const Status& s) {
  std::fprintf(stderr, "ingest_stages: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using bench::Flag;
  const std::string testdata = Flag(argc, argv, "--testdata", "../shared/testdata");
  const int services = std::stoi(Flag(argc, argv, "--services", "64"));
  const int rounds = std::stoi(Flag(argc, argv, "--rounds", "6"));
  constexpr int kPerService = 8;
  auto names = bench::TestdataFunctionNames(testdata);
  std::vector<std::string> payloads, service_of;
  size_t raw_bytes = 0, gz_bytes = 0;
  for (int s = 0; s < services; ++s) {
    bench::ServiceGenerator g(StrCat("svc-", s), names, bench::IngestServiceOptions(s));
    for (int k = 0; k < kPerService; ++k) {
      std::string pb = profile::EncodePprof(g.Next(0));
      raw_bytes += pb.size();
      payloads.push_back(Gzip(pb, 6));
      gz_bytes += payloads.back().size();
      service_of.push_back(g.service());
    }
  }
  const std::string dir = (std::filesystem::temp_directory_path() /
                           StrCat("stackhouse-ingest-stages-", getpid())).string();
  std::filesystem::remove_all(dir);
  tsdb::StoreOptions o;
  o.dir = dir;
  o.retention = 0;
  auto opened = tsdb::Store::Open(o);
  if (!opened.ok()) return Fail(opened.status());
  auto store = std::move(opened).value();
  double gunzip = 0, decode = 0, append = 0;
  size_t n = 0;
  const int64_t t0 = 1'704'067'200LL * 1'000'000'000;
  // Round 0 warms up (first sight of every service's symbols and stacks).
  for (int round = 0; round <= rounds; ++round) {
    for (size_t i = 0; i < payloads.size(); ++i) {
      double a = Now();
      auto raw = Gunzip(payloads[i], 64 << 20);
      double b = Now();
      if (!raw.ok()) return Fail(raw.status());
      auto p = profile::DecodePprof(*raw);
      double c = Now();
      if (!p.ok()) return Fail(p.status());
      auto labels = profile::LabelSet::FromPairs({{"service_name", service_of[i]}});
      // Each service sends a profile every 10 s, as in the ingest bench (the
      // head is not cut during the run).
      const int64_t slot = static_cast<int64_t>(round) * kPerService + static_cast<int64_t>(i % kPerService);
      Status st = store->Append("bench", *labels, *p, t0 + slot * 10'000'000'000, 10'000'000'000);
      double d = Now();
      if (!st.ok()) return Fail(st);
      if (round == 0) continue;
      gunzip += b - a;
      decode += c - b;
      append += d - c;
      ++n;
    }
  }
  store.reset();
  std::filesystem::remove_all(dir);
  auto us = [&](double s) { return s / static_cast<double>(n) * 1e6; };
  std::printf(
      "{\"gunzip_us\": %.1f, \"decode_us\": %.1f, \"append_us\": %.1f, \"total_us\": %.1f, "
      "\"mean_gz_bytes\": %zu, \"mean_raw_bytes\": %zu, \"profiles\": %zu}\n",
      us(gunzip), us(decode), us(append), us(gunzip + decode + append), gz_bytes / payloads.size(),
      raw_bytes / payloads.size(), n);
  return 0;
}
