#!/usr/bin/env bash
# scripts/bench ingest: `stackhouse server` (release build, fresh data
# directory) under the load of build-release/bin/ingest_load, its own
# process: 64 keep-alive connections pushing gzipped pprof (Connect push) for
# INGEST_BENCH_SECONDS (default 60) while 1,000 more connections sit idle,
# then renders of one service over the day ingested.
#
# Then the floor, in the same run: the same load for INGEST_FLOOR_SECONDS
# (default 20) against build-release/bin/ingest_floor, the server's HTTP
# front (same options) with a push handler that only parses the request and
# gunzips its profiles (no decode, no store), and again with one that does
# not even gunzip. Their profiles/s is what no server built on this HTTP
# front and gzip could exceed on this machine. A third run also decodes
# every profile as the server does (floor_decode_profiles_per_s): what a
# server with this decoder could reach if storing cost nothing.
#
# Last line: one JSON object (profiles_per_s, p99_ack_ms, peak_rss_mb,
# idle_conns, render_24h_p50_ms, ..., floor_gunzip_profiles_per_s,
# floor_http_profiles_per_s, floor_decode_profiles_per_s, share_of_gunzip_floor).
#
# The server runs with its defaults except: no ingestion rate limit (one
# tenant pushes everything), a read timeout above the run's length (so the
# idle connections are not reaped mid-run), and room for the connections.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${STACKHOUSE_SHARED_DIR:-$(cd .. && pwd)/shared}"
seconds="${INGEST_BENCH_SECONDS:-60}"
floor_seconds="${INGEST_FLOOR_SECONDS:-20}"
ulimit -n "$(ulimit -Hn)"
source scripts/lib.sh
start_bench_server ingest --read-timeout "$((seconds * 2 + 60))s" --max-connections 8192
main=$(build-release/bin/ingest_load --port "$port" --server-pid "$pid" --seconds "$seconds" \
  --testdata "$shared/testdata" | tail -n 1)
echo "$main" >&2
stop_bench_server

floor() {  # floor GUNZIP DECODE: profiles/s of ingest_floor under the same load
  local fport=$((20000 + RANDOM % 20000)) fpid out
  build-release/bin/ingest_floor --port "$fport" --gunzip "$1" --decode "$2" &
  fpid=$!
  trap 'kill $fpid 2>/dev/null; wait $fpid 2>/dev/null' EXIT
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$fport/ready" >/dev/null && break
    sleep 0.1
  done
  out=$(build-release/bin/ingest_load --port "$fport" --server-pid "$fpid" --seconds "$floor_seconds" \
    --testdata "$shared/testdata" --day 0 --renders 0 | tail -n 1)
  kill "$fpid"
  wait "$fpid" || true
  trap - EXIT
  echo "floor (gunzip $1, decode $2): $out" >&2
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])["profiles_per_s"])' "$out"
}
gunzip_floor=$(floor 1 0)
http_floor=$(floor 0 0)
decode_floor=$(floor 1 1)
python3 -c '
import json, sys
r = json.loads(sys.argv[1])
r["floor_gunzip_profiles_per_s"] = float(sys.argv[2])
r["floor_http_profiles_per_s"] = float(sys.argv[3])
r["floor_decode_profiles_per_s"] = float(sys.argv[4])
r["share_of_gunzip_floor"] = round(r["profiles_per_s"] / float(sys.argv[2]), 3)
print(json.dumps(r))' "$main" "$gunzip_floor" "$http_floor" "$decode_floor"
