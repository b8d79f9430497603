#!/usr/bin/env bash
# scripts/bench agent: what `stackhouse agent` costs a busy host.
#
# The agent runs at 19 Hz and at 99 Hz per CPU while both CPUs are busy with
# a mixed workload (two threads burning CPU in src/sampler/testing's
# workload, plus a system-call loop); its own CPU time (from /proc) is
# reported as % of one core, and its peak resident memory. Then alternating
# runs of a fixed amount of work plain, under the agent (99 Hz) and under
# `perf record -a -g -F 99` give the end-to-end slowdowns (informational:
# CPU time varies about 10% between runs here). Profiles go to a release
# `stackhouse server`. Needs root.
#
# AGENT_BENCH_ROUNDS (default 15), AGENT_BENCH_SECONDS (default 20) per
# measuring window. Last line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
if [ "$(id -u)" != 0 ]; then
  echo "bench agent: needs root (the agent samples every process)" >&2
  exit 1
fi
start_bench_server agent --self-profiling=false
python3 bench/agent.py --bin build-release/bin --server "http://127.0.0.1:$port" --work "$work" \
  --rounds "${AGENT_BENCH_ROUNDS:-15}" --seconds "${AGENT_BENCH_SECONDS:-20}"
