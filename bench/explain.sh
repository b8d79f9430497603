#!/usr/bin/env bash
# scripts/bench explain: the interpreter's accuracy over testdata/explain
# (target 90%) and its p50 time on a ~100,000-node profile (target 200 ms).
# Last line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${STACKHOUSE_SHARED_DIR:-$(cd .. && pwd)/shared}"
build-release/bin/explain_benchmark "$PWD/testdata" "$shared/testdata" "${EXPLAIN_BENCH_RUNS:-21}" | tail -n 1
