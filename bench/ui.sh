#!/usr/bin/env bash
# scripts/bench ui: the web UI against speedscope, interleaved in one run, on
# the deterministic profiles of ../shared/bench/speedscope (exactly 100,000
# and 1,000,000 flame-graph nodes). Both are timed in headless Chromium from
# navigation start to the flame graph on screen: speedscope by its own
# measure.js (fetching the folded file), Stackhouse by ui/bench/measure.mjs
# (the page, its query to a release `stackhouse server` holding the same
# stacks, decoding and drawing). Last line: one JSON object.
#
# UI_BENCH_RUNS (default 5) runs per profile and tool; the 1M speedscope runs
# take ~20 s each.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_packages "${TEST_PACKAGES[@]}"
build_ui
shared="${STACKHOUSE_SHARED_DIR:-$(cd .. && pwd)/shared}"
runs="${UI_BENCH_RUNS:-5}"
ref=build-release/bench-data/speedscope
if [ ! -f "$ref/profiles/p1m.collapsedstack.txt" ]; then
  mkdir -p "$ref/profiles"
  cp "$shared"/bench/speedscope/*.js "$shared"/bench/speedscope/package.json "$ref/"
  (cd "$ref" && npm install --no-audit --no-fund --loglevel=error >&2 &&
    node gen.js 100000 profiles/p100k.collapsedstack.txt >&2 &&
    node gen.js 1000000 profiles/p1m.collapsedstack.txt >&2)
fi

start_bench_server ui --ui-dir ui/dist --max-body-bytes 512MiB --max-decompressed-bytes 1GiB \
  --max-samples-per-profile 4000000 --max-nodes 4000000
now=$(date +%s)
for n in 100k 1m; do
  curl -sf -X POST --data-binary "@$ref/profiles/p$n.collapsedstack.txt" \
    "http://127.0.0.1:$port/ingest?name=bench$n&format=folded&from=$((now - 600))&until=$((now - 590))" >&2 \
    || { echo "bench ui: ingesting p$n failed" >&2; cat "$work/server.log" >&2; exit 1; }
done

ours() {  # ours SERVICE -> JSON line
  (cd ui && node bench/measure.mjs --base "http://127.0.0.1:$port" --service "$1" --max-nodes 4000000)
}
theirs() {  # theirs FILE -> display time in ms
  (cd "$ref" && node measure.js --profile "profiles/$1" --runs 1 --zoom 0 2>/dev/null) |
    tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["median"]["nextFrame"])'
}
: >"$work/ours100k"; : >"$work/ours1m"; : >"$work/ss100k"; : >"$work/ss1m"
for i in $(seq "$runs"); do
  echo "bench ui: run $i of $runs" >&2
  ours bench100k | tee -a "$work/ours100k" >&2
  theirs p100k.collapsedstack.txt | tee -a "$work/ss100k" >&2
  ours bench1m | tee -a "$work/ours1m" >&2
  theirs p1m.collapsedstack.txt | tee -a "$work/ss1m" >&2
done
python3 - "$work" <<'EOF'
import json, statistics, sys
w = sys.argv[1]
def lines(name):
    return [json.loads(l) for l in open(f"{w}/{name}") if l.strip()]
def nums(name):
    return [float(l) for l in open(f"{w}/{name}") if l.strip() and l.strip() != "None"]
med = statistics.median
o100, o1m = lines("ours100k"), lines("ours1m")
s100, s1m = nums("ss100k"), nums("ss1m")
out = {
    "load_100k_ms": round(med(r["load_ms"] for r in o100), 1),
    "load_1m_ms": round(med(r["load_ms"] for r in o1m), 1),
    "render_100k_nodes_ms": round(med(r["render_ms"] for r in o100), 1),
    "redraw_ms": round(med(max(r["zoom_redraw_ms"], r["search_redraw_ms"]) for r in o100), 1),
    "redraw_1m_ms": round(med(max(r["zoom_redraw_ms"], r["search_redraw_ms"]) for r in o1m), 1),
    "speedscope_load_100k_ms": round(med(s100), 1) if s100 else None,
    "speedscope_load_1m_ms": round(med(s1m), 1) if s1m else None,
    "nodes_100k": o100[0]["nodes"], "nodes_1m": o1m[0]["nodes"],
    "runs": len(o100),
}
out["ratio_vs_speedscope"] = round(out["load_100k_ms"] / out["speedscope_load_100k_ms"], 3) if s100 else None
print(json.dumps(out))
EOF
