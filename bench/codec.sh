#!/usr/bin/env bash
# scripts/bench codec: codec throughput on a large realistic profile, and
# `stackhouse convert --to pprof` against `go tool pprof -proto` on the same
# input in the same run. Last line: one JSON object.
#
# The profile is ../shared/bench/gen.py --big 900000 (53 MB of uncompressed
# protobuf, 900,000 distinct stacks 20-39 deep, ~2,000 functions).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${STACKHOUSE_SHARED_DIR:-$(cd .. && pwd)/shared}"
data=build-release/bench-data
mkdir -p "$data"
big="$data/big_900000.pb.gz"
if [ ! -f "$big" ]; then
  echo "bench codec: generating $big (about 30 s)" >&2
  cp "$shared/bench/gen.py" "$shared/bench/profile_min.proto" "$data/"
  (cd "$data" && /usr/bin/python3 gen.py --big 900000 --out . >&2)
fi

echo "bench codec: codec throughput (best of 7 runs)" >&2
build-release/bin/codec_benchmark "$big" --runs 7 > "$data/codec.json"
cat "$data/codec.json" >&2

# Wall time and peak RSS of one command: prints "seconds max_rss_kb".
measure() {
  /usr/bin/time -f "%e %M" -o "$data/time.txt" "$@" > /dev/null 2> "$data/cmd.err" || {
    echo "bench codec: command failed: $*" >&2
    cat "$data/cmd.err" >&2
    exit 1
  }
  cat "$data/time.txt"
}

export GOPROXY=off HOME="${HOME:-/root}"
ours=()
go_runs=()
# Interleave: ours, go, ours, go, ours (go takes ~18 s per run).
for round in 1 2 3; do
  ours+=("$(measure build-release/bin/stackhouse convert "$big" --to pprof -o "$data/out.pb.gz")")
  echo "bench codec: stackhouse convert: ${ours[-1]}" >&2
  if [ $round -le 2 ]; then
    go_runs+=("$(measure go tool pprof -proto "$big")")
    echo "bench codec: go tool pprof -proto: ${go_runs[-1]}" >&2
  fi
done

python3 - "$data/codec.json" "${ours[@]}" -- "${go_runs[@]}" <<'PY'
import json, statistics, sys
args = sys.argv[2:]
sep = args.index("--")
ours = [tuple(map(float, a.split())) for a in args[:sep]]
go = [tuple(map(float, a.split())) for a in args[sep + 1:]]
codec = json.load(open(sys.argv[1]))
our_s = statistics.median(t for t, _ in ours)
go_s = statistics.median(t for t, _ in go)
out = {
    "pprof_decode_mb_s": codec["pprof_decode_mb_s"],
    "pprof_encode_mb_s": codec["pprof_encode_mb_s"],
    "folded_parse_mb_s": codec["folded_parse_mb_s"],
    "convert_vs_go_pprof_ratio": round(go_s / our_s, 1),
    "stackhouse_convert_s": our_s,
    "go_pprof_convert_s": go_s,
    "stackhouse_convert_peak_rss_mb": round(max(m for _, m in ours) / 1024),
    "go_pprof_peak_rss_mb": round(max(m for _, m in go) / 1024),
    "pprof_bytes": codec["pprof_bytes"],
    "folded_bytes": codec["folded_bytes"],
}
print(json.dumps(out))
PY
