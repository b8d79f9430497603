#!/usr/bin/env bash
# scripts/bench ingest: `stackhouse server` (release build, fresh data
# directory) under the load of build-release/bin/ingest_load, its own
# process: 64 keep-alive connections pushing gzipped pprof (Connect push) for
# INGEST_BENCH_SECONDS (default 60) while 1,000 more connections sit idle,
# then renders of one service over the day ingested. Last line: one JSON
# object (profiles_per_s, p99_ack_ms, peak_rss_mb, idle_conns,
# render_24h_p50_ms, ...).
#
# The server runs with its defaults except: no ingestion rate limit (one
# tenant pushes everything), a read timeout above the run's length (so the
# idle connections are not reaped mid-run), and room for the connections.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${STACKHOUSE_SHARED_DIR:-$(cd .. && pwd)/shared}"
seconds="${INGEST_BENCH_SECONDS:-60}"
ulimit -n "$(ulimit -Hn)"
source scripts/lib.sh
start_bench_server ingest --read-timeout "$((seconds * 2 + 60))s" --max-connections 8192
build-release/bin/ingest_load --port "$port" --server-pid "$pid" --seconds "$seconds" \
  --testdata "$shared/testdata" | tail -n 1
