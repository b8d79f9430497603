#!/usr/bin/env bash
# bench/clickhouse/gen_day.sh OUT_DIR [PROFILES]
#
# Generates "a day of one service's CPU profiles" with ../shared/bench/gen.py
# (8,640 ten-second profiles by default, ~4.3 M samples) into OUT_DIR, unless
# OUT_DIR/summary.json already exists for the same number of profiles (cache).
#
# gen.py writes profile_min_pb2.py next to itself and shared/ is read-only, so
# it runs from a writable temporary copy. It needs Debian's python3-protobuf
# and protobuf-compiler and must run with /usr/bin/python3 (the Debian
# interpreter that sees python3-protobuf), not whatever python3 is on PATH.
#
# A full day takes a few minutes on a 2-core machine (gen.py is pure Python);
# progress goes to stderr. Nothing is printed on stdout.
set -euo pipefail

usage() { echo "usage: $0 OUT_DIR [PROFILES]" >&2; exit 2; }
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
out="$1"
profiles="${2:-8640}"
[[ "$profiles" =~ ^[0-9]+$ ]] || usage

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
shared="${STACKHOUSE_SHARED_DIR:-$(cd "$repo/.." && pwd)/shared}"

# Cache: reuse a finished run (gen.py writes summary.json last) of the same size.
if [ -f "$out/summary.json" ]; then
  have="$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["profiles"])' "$out/summary.json")"
  if [ "$have" = "$profiles" ]; then
    echo "gen_day: reusing $out ($profiles profiles)" >&2
    exit 0
  fi
  echo "gen_day: $out holds $have profiles, want $profiles: regenerating" >&2
fi

# Packages (apt-get only, and only if missing): the project's shared helper.
# shellcheck source=../../scripts/lib.sh
source "$repo/scripts/lib.sh"
ensure_packages python3-protobuf protobuf-compiler

# Writable copy of the generator, removed on exit.
work="$(mktemp -d "${TMPDIR:-/tmp}/stackhouse-gen.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$shared/bench/gen.py" "$shared/bench/profile_min.proto" "$work/"

# Start from a clean output: a previous, different-size run may have left
# more pprof files than this one writes. Only gen.py's own outputs are removed.
mkdir -p "$out"
rm -rf "$out/pprof" "$out/samples.tsv" "$out/stacks.jsonl" "$out/sizes.tsv" "$out/summary.json"

echo "gen_day: generating $profiles profiles into $out" >&2
start=$(date +%s)
# gen.py prints its summary on stdout: send it to stderr with the progress.
/usr/bin/python3 "$work/gen.py" --out "$out" --profiles "$profiles" >&2
echo "gen_day: done in $(( $(date +%s) - start )) s" >&2
