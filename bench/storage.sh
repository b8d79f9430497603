#!/usr/bin/env bash
# scripts/bench storage: the embedded profile store against its targets, with
# ClickHouse 18.16 side by side on the same day of data. Last line: one JSON
# object.
#
# Phases (each a run of build-release/bin/storage_benchmark):
#   append  64 concurrent appenders, WAL on, acks after fsync (group commit)
#   append_tiny  the same with one-sample, one-frame profiles for 10 s: the
#           fixed cost of an acknowledged append (append_tiny_profiles_per_s)
#   intern  interning alone on one core, the append phase's profiles
#           (intern_cold_us, intern_hot_us). With append_tiny it bounds the
#           append phase: append_ceiling_profiles_per_s is what the cores
#           could acknowledge if an append cost only the tiny one's machine
#           time plus a cold intern (no cuts, compactions, sorting, records).
#   day     ../shared/bench/gen.py's day: disk bytes and 24 h queries
#   month   30 days of one service: 30-day query
#   unique  one profile with 3 M unique stacks: flame graph time
# then bench/clickhouse/run.sh on the same day. STORAGE_BENCH_PHASES may
# list a subset (e.g. "day clickhouse").
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${STACKHOUSE_SHARED_DIR:-$(cd .. && pwd)/shared}"
data=build-release/bench-data
work=$(mktemp -d /tmp/stackhouse-bench-storage.XXXXXX)
trap 'rm -rf "$work"' EXIT
phases="${STORAGE_BENCH_PHASES:-append append_tiny intern day month unique clickhouse}"
bin=build-release/bin/storage_benchmark
results=()

run() {  # run NAME ARGS...: runs a phase and keeps its JSON line
  local name=$1
  shift
  echo "bench storage: $name" >&2
  local out
  out=$(/usr/bin/time -f "%M" -o "$work/$name.rss" "$bin" "$@" | tail -n 1)
  echo "$out" >&2
  results+=("$out")
}

if [[ " $phases " == *" day "* || " $phases " == *" clickhouse "* ]]; then
  bench/clickhouse/gen_day.sh "$data/day" >&2
fi
[[ " $phases " == *" append "* ]] && run append append "$work/append" --testdata "$shared/testdata"
[[ " $phases " == *" append_tiny "* ]] && run append_tiny append "$work/append_tiny" --tiny 1 --seconds 10 \
  --testdata "$shared/testdata"
[[ " $phases " == *" intern "* ]] && run intern intern "$work/intern" --testdata "$shared/testdata"
[[ " $phases " == *" day "* ]] && run day day "$work/day" "$data/day/pprof"
[[ " $phases " == *" month "* ]] && run month month "$work/month" --testdata "$shared/testdata"
[[ " $phases " == *" unique "* ]] && run unique unique "$work/unique" --testdata "$shared/testdata"
if [[ " $phases " == *" clickhouse "* ]]; then
  echo "bench storage: clickhouse" >&2
  results+=("$(bench/clickhouse/run.sh "$data/day" | tail -n 1)")
  echo "${results[-1]}" >&2
fi

peak=0
for f in "$work"/*.rss; do
  [ -f "$f" ] || continue
  kb=$(tail -n 1 "$f")
  [ "$kb" -gt "$peak" ] && peak=$kb
done

printf '%s\n' "${results[@]}" | python3 -c '
import json, sys
r = {}
for line in sys.stdin:
    line = line.strip()
    if line:
        r.update(json.loads(line))
out = {}
keys = ["append_profiles_per_s", "bytes_per_sample", "disk_vs_gzip_pprof_ratio",
        "query_24h_flamegraph_ms", "query_30d_flamegraph_ms", "unique_stacks_3m_flamegraph_ms"]
for k in keys:
    if k in r:
        out[k] = r[k]
out["peak_rss_mb"] = round(int(sys.argv[1]) / 1024)
if "append_tiny_profiles_per_s" in r and "intern_cold_us" in r:
    cores = int(sys.argv[2])
    fixed_us = cores * 1e6 / r["append_tiny_profiles_per_s"]
    out["append_tiny_machine_us"] = round(fixed_us, 1)
    out["append_ceiling_profiles_per_s"] = round(cores * 1e6 / (fixed_us + r["intern_cold_us"]))
if "day_disk_bytes" in r and "clickhouse_bytes" in r:
    out["clickhouse_disk_ratio"] = round(r["day_disk_bytes"] / r["clickhouse_bytes"], 4)
    if "clickhouse_sorted_bytes" in r:
        out["clickhouse_sorted_disk_ratio"] = round(r["day_disk_bytes"] / r["clickhouse_sorted_bytes"], 4)
    if "clickhouse_zstd32_bytes" in r:
        out["clickhouse_zstd32_disk_ratio"] = round(r["day_disk_bytes"] / r["clickhouse_zstd32_bytes"], 4)
if "query_24h_flamegraph_ms" in r and "clickhouse_query_24h_http_ms" in r:
    out["clickhouse_query_ratio"] = round(r["query_24h_flamegraph_ms"] / r["clickhouse_query_24h_http_ms"], 4)
    out["clickhouse_query_ratio_unaligned"] = round(
        r["query_24h_unaligned_flamegraph_ms"] / r["clickhouse_query_24h_http_ms"], 4)
for k, v in r.items():
    if k not in out:
        out[k] = v
print(json.dumps(out))
' "$peak" "$(nproc)"
