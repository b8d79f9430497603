#!/usr/bin/env bash
# scripts/bench otlp: OTLP/HTTP ingestion against pprof ingestion, in the
# same run and with the same load shape as scripts/bench ingest (64
# keep-alive connections, 200 services, generated profiles of ~5-20 KB,
# gzipped), each on a fresh release `stackhouse server`; then JFR parsing
# speed. Last line: one JSON object with otlp_profiles_per_s,
# pprof_profiles_per_s, ratio_vs_pprof_ingest (target >= 0.8) and
# jfr_parse_mb_s.
#
# OTLP_BENCH_SECONDS (default 30) per load.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${STACKHOUSE_SHARED_DIR:-$(cd .. && pwd)/shared}"
seconds="${OTLP_BENCH_SECONDS:-30}"
ulimit -n "$(ulimit -Hn)"
source scripts/lib.sh
results=()
for mode in push otlp; do
  start_bench_server "otlp-$mode" --read-timeout "$((seconds * 2 + 60))s" --max-connections 8192
  out=$(build-release/bin/ingest_load --port "$port" --server-pid "$pid" --seconds "$seconds" \
    --testdata "$shared/testdata" --mode "$mode" --day 0 --idle 0 --renders 0 | tail -n 1)
  echo "bench otlp: $mode: $out" >&2
  results+=("$out")
  stop_bench_server
done
jfr=$(build-release/bin/jfr_benchmark "$shared/testdata/java.jfr" 5 | tail -n 1)
echo "bench otlp: jfr: $jfr" >&2
python3 - "${results[0]}" "${results[1]}" "$jfr" <<'PY'
import json, sys
push, otlp, jfr = (json.loads(a) for a in sys.argv[1:4])
out = {
    "otlp_profiles_per_s": otlp["profiles_per_s"],
    "pprof_profiles_per_s": push["profiles_per_s"],
    "ratio_vs_pprof_ingest": round(otlp["profiles_per_s"] / push["profiles_per_s"], 3),
    "otlp_p99_ack_ms": otlp["p99_ack_ms"],
    "pprof_p99_ack_ms": push["p99_ack_ms"],
    "otlp_mean_payload_bytes": otlp["mean_payload_bytes"],
    "pprof_mean_payload_bytes": push["mean_payload_bytes"],
    "errors": push["errors"] + otlp["errors"],
    "jfr_parse_mb_s": jfr["jfr_parse_mb_s"],
    "target_ratio": 0.8,
}
out["met"] = out["ratio_vs_pprof_ingest"] >= 0.8
print(json.dumps(out))
PY
