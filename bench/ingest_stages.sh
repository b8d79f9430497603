#!/usr/bin/env bash
# scripts/bench ingest_stages: what one pushed profile costs the server's
# ingest path, stage by stage (gunzip, pprof decode, store append with the
# WAL's fsync), on one thread, with scripts/bench ingest's payload mix. Last
# line: one JSON object (microseconds per profile).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${STACKHOUSE_SHARED_DIR:-$(cd .. && pwd)/shared}"
build-release/bin/ingest_stages --testdata "$shared/testdata" | tail -n 1
