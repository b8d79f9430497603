#!/usr/bin/env bash
# scripts/bench sdk: what libstackhouse costs the program it profiles.
#
# The library accounts for its own cost (a whole program's CPU time varies
# by about 10% between runs here, so a 1% overhead cannot be seen by timing
# alone): time spent in its signal handler and allocation hooks, the
# kernel's signal delivery (measured once by a microbenchmark), and the CPU
# time of its own threads, all over the process's CPU time. Workloads: 2
# threads burning CPU (src/sampler/testing/workload.cc "work") and 2 threads
# doing malloc/free ("mallocwork"). Profiles are uploaded to a release
# `stackhouse server`, as in production.
#
# End-to-end timings are a cross-check: alternating runs of the plain
# workload, with libstackhouse, with gperftools (CPUPROFILE_FREQUENCY=100)
# and under `perf record -F 100 -g`.
#
# SDK_BENCH_ROUNDS (default 15) alternating rounds; SDK_BENCH_SECONDS
# (default 24) for each self-accounting run; SDK_BENCH_ONLY (e.g. "heap" or
# "cpu,dwarf"; parts: cpu, dwarf, heap, e2e) runs only those parts. Last
# line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
start_bench_server sdk
python3 bench/sdk.py --bin build-release/bin --lib build-release/lib/libstackhouse.so \
  --server "http://127.0.0.1:$port" --work "$work" \
  --rounds "${SDK_BENCH_ROUNDS:-15}" --seconds "${SDK_BENCH_SECONDS:-24}" \
  --only "${SDK_BENCH_ONLY:-}"
