// Codec throughput on one large profile: pprof decode and encode, and folded
// parsing, in MB/s of uncompressed input on one core. Prints one JSON object.
//
// usage: codec_benchmark BIG.pb[.gz] [--runs N]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <algorithm>

#include "base/file.h"
#include "base/gzip.h"
#include "profile/folded.h"
#include "profile/pprof.h"

using namespace stackhouse;
using namespace stackhouse::profile;

// Runs fn `runs` times and returns the best wall time. fn returns its result
// so that freeing it happens outside the timed region.
template <typename Fn>
static double BestSeconds(int runs, Fn&& fn) {
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto result = fn();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
  }
  return best;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: codec_benchmark BIG.pb[.gz] [--runs N]\n");
    return 2;
  }
  int runs = 5;
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[i + 1]);
  }
  auto file = ReadFile(argv[1]);
  if (!file.ok()) {
    std::fprintf(stderr, "%s\n", file.status().ToString().c_str());
    return 1;
  }
  std::string raw = *file;
  if (IsGzip(raw)) raw = *Gunzip(raw, size_t{4} << 30);
  const double mb = raw.size() / 1e6;

  auto first = DecodePprof(raw);
  if (!first.ok()) {
    std::fprintf(stderr, "decode: %s\n", first.status().ToString().c_str());
    return 1;
  }
  const Profile& decoded = *first;
  double dec = BestSeconds(runs, [&] { return DecodePprof(raw); });
  PprofDecodeOptions two;
  two.threads = 2;
  double dec2 = BestSeconds(runs, [&] { return DecodePprof(raw, two); });
  std::fprintf(stderr, "decode: %.1f ms on one thread, %.1f ms on two\n", dec * 1e3, dec2 * 1e3);
  std::string encoded = EncodePprof(decoded);
  double enc = BestSeconds(runs, [&] { return EncodePprof(decoded); });

  std::string folded = WriteFolded(decoded, decoded.DefaultSampleTypeIndex());
  const double folded_mb = folded.size() / 1e6;
  size_t folded_samples = 0;
  double fold = BestSeconds(runs, [&] {
    auto p = ParseFolded(folded);
    if (!p.ok()) {
      std::fprintf(stderr, "folded: %s\n", p.status().ToString().c_str());
      std::exit(1);
    }
    folded_samples = p->samples.size();
    return p;
  });

  std::printf(
      "{\"pprof_bytes\": %zu, \"samples\": %zu, \"pprof_decode_mb_s\": %.1f, "
      "\"pprof_encode_mb_s\": %.1f, \"encoded_bytes\": %zu, \"folded_bytes\": %zu, "
      "\"folded_samples\": %zu, \"folded_parse_mb_s\": %.1f}\n",
      raw.size(), decoded.samples.size(), mb / dec, (encoded.size() / 1e6) / enc, encoded.size(),
      folded.size(), folded_samples, folded_mb / fold);
  return 0;
}
