#!/usr/bin/env bash
# bench/clickhouse/run.sh DATA_DIR
#
# The ClickHouse side of `scripts/bench storage`: loads one day of one
# service's CPU profiles (DATA_DIR as written by bench/clickhouse/gen_day.sh,
# i.e. ../shared/bench/gen.py) into ClickHouse 18.16 and measures bytes on disk
# and flame-graph query latency. Progress goes to stderr; the LAST stdout line
# is one JSON object (keys listed at the end of this file).
#
# What it does:
#  1. Starts its own clickhouse-server as a plain background process (not the
#     system service), listening on 127.0.0.1 only, on two free ports derived
#     from $$, with config, data, tmp, logs and user files in a fresh temp dir.
#     The server is stopped and the dir deleted on exit, whatever happens.
#  2. "Plain schema" (default LZ4): one row per sample
#        samples(service String, ts DateTime, stack_hash UInt64, value Int64)
#          MergeTree ORDER BY (service, ts)
#        stacks(stack_hash UInt64, frames Array(String))  MergeTree ORDER BY stack_hash
#     loaded with clickhouse-client INSERT ... FORMAT TabSeparated / JSONEachRow
#     streamed from the files, then OPTIMIZE TABLE ... FINAL; bytes from
#     system.parts (active parts) and du -sb of the table directories; the
#     24 h GROUP BY query and the frames fetch timed by query_timer.py.
#  3. Restarts the same server with zstd for every part and builds the second
#     variant: 32-bit stack numbers (UInt32, dense, in order of first use)
#     instead of 64-bit hashes. Measured the same way.
#  4. For both variants, also the sizes with the stack in the sort key,
#     ORDER BY (service, ts, stack): the README's reference figures (6.0 and
#     2.2 bytes per sample) are reproduced only with that key; ORDER BY
#     (service, ts) leaves each profile's rows in an arbitrary order, which
#     compresses worse (~6.6 and ~2.7 bytes per sample). Reported as
#     clickhouse_sorted_* and clickhouse_zstd32_sorted_*.
#
# ClickHouse 18.16 specifics handled here (more in README.md beside this file):
#  - the config root element is <yandex>;
#  - LowCardinality(String) exists but is experimental (needs
#    allow_experimental_low_cardinality_type=1), so service is a plain String;
#    the column holds one value and compresses to almost nothing anyway;
#  - no per-column CODEC(...) yet: zstd is chosen server-wide with a
#    <compression><case> block, hence the restart between the two variants;
#  - OPTIMIZE ... FINAL leaves the replaced parts on disk for
#    old_parts_lifetime (8 min by default): the config lowers it to 1 s and
#    the script waits until they are gone before running du.
#
# stack_hash is gen.py's stack_id: a 64-bit hash (BLAKE2b-64) of the stack's
# frame names, leaf first, joined by '\n' -- the same thing an ingester would
# compute -- so samples.tsv streams into ClickHouse unchanged. The script
# checks that every sample's hash has a row in stacks.
#
# Needs clickhouse-server and clickhouse-client (installed with apt-get if
# missing) and python3 (standard library only).
set -euo pipefail

usage() { echo "usage: $0 DATA_DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
data="$(cd "$1" && pwd)"
for f in samples.tsv stacks.jsonl; do
  [ -f "$data/$f" ] || { echo "clickhouse bench: $data/$f missing (make it with gen_day.sh)" >&2; exit 1; }
done
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

say() { echo "clickhouse bench: $*" >&2; }
now() { date +%s.%N; }
secs_since() { python3 -c 'import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))' "$1" "$(now)"; }

# shellcheck source=../../scripts/lib.sh
source "$repo/scripts/lib.sh"
ensure_packages clickhouse-server clickhouse-client

# ---------------------------------------------------------------- server life
dir="$(mktemp -d "${TMPDIR:-/tmp}/stackhouse-ch.XXXXXX")"
server_pid=""
tcp_port=""
http_port=""

stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # Give it 30 s to shut down cleanly, then kill it.
    for _ in $(seq 300); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      say "server $server_pid did not stop in 30 s: killing it"
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

cleanup() {
  local rc=$?
  stop_server
  if [ $rc -ne 0 ] && [ -f "$dir/log/clickhouse-server.err.log" ]; then
    say "failed (exit $rc); last lines of the server's error log:"
    tail -n 20 "$dir/log/clickhouse-server.err.log" >&2 || true
    [ -s "$dir/log/clickhouse-server.err.log" ] || echo "  (empty)" >&2
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# port_free PORT: true if nothing on this machine listens on / holds PORT.
port_free() {
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
PY
}

# pick_ports: two consecutive free ports below the ephemeral range, starting
# at a place derived from this shell's pid (so parallel runs rarely collide).
pick_ports() {
  local p=$(( 20000 + (($$ * 7 + ${1:-0} * 101) % 5000) * 2 ))   # even, 20000..29998
  local _
  for _ in $(seq 200); do
    if port_free "$p" && port_free $((p + 1)); then
      tcp_port=$p; http_port=$((p + 1)); return 0
    fi
    p=$(( 20000 + (p - 20000 + 2) % 10000 ))
  done
  say "no two free ports found"; return 1
}

# ch ARGS...: clickhouse-client against our server.
ch() { clickhouse-client --host 127.0.0.1 --port "$tcp_port" "$@"; }

# start_server COMPRESSION_XML: writes config.xml/users.xml from the templates
# and starts clickhouse-server on $dir; waits until it answers. Retries with
# other ports if it dies on start (e.g. a port was taken in between).
start_server() {
  local compression="$1" attempt
  mkdir -p "$dir"/{data,tmp,user_files,format_schemas,log}
  for attempt in 1 2 3; do
    pick_ports "$attempt"
    # The templates hold @DIR@ @TCP_PORT@ @HTTP_PORT@ @COMPRESSION@.
    python3 - "$here/config.xml.in" "$dir/config.xml" "$dir" "$tcp_port" "$http_port" "$compression" <<'PY'
import sys
src, dst, d, tcp, http, comp = sys.argv[1:]
s = open(src).read()
for k, v in (("@DIR@", d), ("@TCP_PORT@", tcp), ("@HTTP_PORT@", http), ("@COMPRESSION@", comp)):
    s = s.replace(k, v)
open(dst, "w").write(s)
PY
    cp "$here/users.xml.in" "$dir/users.xml"
    clickhouse-server --config-file="$dir/config.xml" >>"$dir/log/stdout" 2>&1 &
    server_pid=$!
    local _
    for _ in $(seq 600); do           # up to 60 s
      if ! kill -0 "$server_pid" 2>/dev/null; then
        break
      fi
      if ch --query "SELECT 1" >/dev/null 2>&1; then
        say "server pid $server_pid up on 127.0.0.1:$tcp_port (http $http_port) in $dir"
        return 0
      fi
      sleep 0.1
    done
    say "server did not come up (attempt $attempt); log:"
    tail -n 5 "$dir/log/stdout" "$dir/log/clickhouse-server.err.log" >&2 2>/dev/null || true
    stop_server
  done
  return 1
}

# wait_no_inactive_parts: OPTIMIZE FINAL leaves the old parts behind until the
# background cleanup removes them (old_parts_lifetime); wait for that so that
# du measures only what stays.
wait_no_inactive_parts() {
  local n _
  for _ in $(seq 240); do            # up to 120 s
    n=$(ch --query "SELECT count() FROM system.parts WHERE database = 'default' AND NOT active")
    [ "$n" = 0 ] && return 0
    sleep 0.5
  done
  say "warning: $n inactive parts still on disk; du includes them"
}

# bytes_on_disk TABLE...: sum(bytes_on_disk) of the active parts of TABLEs.
bytes_on_disk() {
  local list
  list=$(printf "'%s'," "$@"); list=${list%,}
  ch --query "SELECT sum(bytes_on_disk) FROM system.parts WHERE database = 'default' AND active AND table IN ($list)"
}

# du_tables TABLE...: du -sb of the tables' directories.
du_tables() {
  local t total=0 b
  for t in "$@"; do
    b=$(du -sb "$dir/data/data/default/$t" | cut -f1)
    total=$((total + b))
  done
  echo "$total"
}

# report_parts TABLE...: per-table and per-column sizes, to stderr.
report_parts() {
  local list
  list=$(printf "'%s'," "$@"); list=${list%,}
  ch --format PrettyCompactNoEscapes --query "
    SELECT table, count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes_on_disk,
           sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed,
           sum(marks_bytes) AS marks
    FROM system.parts WHERE database = 'default' AND active AND table IN ($list)
    GROUP BY table ORDER BY table" >&2
  ch --format PrettyCompactNoEscapes --query "
    SELECT table, name, type, data_compressed_bytes AS compressed, data_uncompressed_bytes AS uncompressed
    FROM system.columns WHERE database = 'default' AND table IN ($list) ORDER BY table, name" >&2
}

# compression_method TABLE COLUMN: the method byte of the first compressed
# block of the column's .bin file in the table's (single) active part:
# 0x82 = LZ4, 0x90 = ZSTD (a 16-byte checksum comes first).
compression_method() {
  local path
  path=$(ch --query "SELECT path FROM system.parts WHERE database = 'default' AND active AND table = '$1' LIMIT 1")
  case "$(od -An -tx1 -j16 -N1 "${path%/}/$2.bin" | tr -d ' ')" in
    82) echo lz4 ;; 90) echo zstd ;; 02) echo none ;; *) echo unknown ;;
  esac
}

# ---------------------------------------------------------------- plain schema, LZ4
say "data: $data"
expected_rows=$(wc -l < "$data/samples.tsv")
pprof_bytes=null
if [ -d "$data/pprof" ]; then
  pprof_bytes=$(find "$data/pprof" -name '*.pb.gz' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  [ "$pprof_bytes" -gt 0 ] || pprof_bytes=null
fi
say "$expected_rows samples; gzipped pprof: $pprof_bytes bytes"

say "starting clickhouse-server (default LZ4)"
start_server ""     # empty <compression>: LZ4 for every part
version=$(ch --query "SELECT version()")
say "ClickHouse $version"

ch --multiquery --query "
  -- stacks.jsonl as written, in file order (= order of first use); TinyLog keeps
  -- that order, which the 32-bit variant's numbering relies on. Not measured.
  CREATE TABLE stacks_in (stack_id UInt64, frames Array(String)) ENGINE = TinyLog;
  -- The plain schema.
  CREATE TABLE samples (service String, ts DateTime, stack_hash UInt64, value Int64)
    ENGINE = MergeTree ORDER BY (service, ts);
  CREATE TABLE stacks (stack_hash UInt64, frames Array(String))
    ENGINE = MergeTree ORDER BY stack_hash;"

say "loading samples.tsv and stacks.jsonl"
t0=$(now)
# samples.tsv is (service, ts, stack_id, value): exactly the samples table.
# clickhouse-client parses it and streams it in blocks of ~1 M rows.
ch --query "INSERT INTO samples FORMAT TabSeparated" < "$data/samples.tsv"
t_samples=$(secs_since "$t0")
t1=$(now)
ch --query "INSERT INTO stacks_in FORMAT JSONEachRow" < "$data/stacks.jsonl"
ch --query "INSERT INTO stacks SELECT stack_id, frames FROM stacks_in"
load_s=$(secs_since "$t0")
say "loaded in $load_s s (samples $t_samples s, stacks $(secs_since "$t1") s)"

# Sanity: every line arrived, times parsed as UTC, every stack resolvable.
read -r rows t_min <<<"$(ch --query "SELECT count(), toUInt32(min(ts)) FROM samples")"
[ "$rows" = "$expected_rows" ] || { say "samples has $rows rows, samples.tsv $expected_rows lines"; exit 1; }
first_ts=$(head -n 1 "$data/samples.tsv" | cut -f2)
want_min=$(python3 -c 'import calendar, sys, time; print(calendar.timegm(time.strptime(sys.argv[1], "%Y-%m-%d %H:%M:%S")))' "$first_ts")
[ "$t_min" = "$want_min" ] || { say "min(ts) = $t_min, expected $want_min ($first_ts UTC)"; exit 1; }
orphans=$(ch --query "SELECT count() FROM samples WHERE stack_hash NOT IN (SELECT stack_hash FROM stacks)")
[ "$orphans" = 0 ] || { say "$orphans samples have no stack"; exit 1; }
dups=$(ch --query "SELECT count() - uniqExact(stack_hash) FROM stacks")
[ "$dups" = 0 ] || { say "$dups duplicate stack hashes"; exit 1; }

say "OPTIMIZE TABLE ... FINAL"
t0=$(now)
ch --query "OPTIMIZE TABLE samples FINAL"
ch --query "OPTIMIZE TABLE stacks FINAL"
optimize_s=$(secs_since "$t0")
wait_no_inactive_parts
say "merged in $optimize_s s"
report_parts samples stacks
ch_bytes=$(bytes_on_disk samples stacks)
ch_samples_bytes=$(bytes_on_disk samples)
ch_du=$(du_tables samples stacks)
method_plain=$(compression_method samples stack_hash)
say "plain: $ch_bytes bytes on disk (system.parts), du -sb $ch_du, compression $method_plain"

# 24 h window starting at the first sample (gen.py's day starts at 00:00 UTC).
t_from=$t_min
t_to=$((t_min + 86400))
say "timing the 24 h query on the plain schema [$t_from, $t_to)"
q_plain=$(python3 "$here/query_timer.py" --port "$tcp_port" --http-port "$http_port" \
  --samples samples --stacks stacks --key stack_hash --from "$t_from" --to "$t_to" | tail -n 1)
say "plain: $q_plain"

# Same rows with the stack hash in the sort key (see 4. at the top).
say "plain schema, ORDER BY (service, ts, stack_hash)"
ch --multiquery --query "
  CREATE TABLE samples_sorted (service String, ts DateTime, stack_hash UInt64, value Int64)
    ENGINE = MergeTree ORDER BY (service, ts, stack_hash);
  INSERT INTO samples_sorted SELECT * FROM samples;
  OPTIMIZE TABLE samples_sorted FINAL;"
wait_no_inactive_parts
report_parts samples_sorted
sorted_bytes=$(bytes_on_disk samples_sorted stacks)
say "plain, sorted by stack too: $sorted_bytes bytes on disk (with stacks)"
q_sorted=$(python3 "$here/query_timer.py" --port "$tcp_port" --http-port "$http_port" \
  --samples samples_sorted --stacks stacks --key stack_hash --from "$t_from" --to "$t_to" | tail -n 1)
say "plain, sorted by stack too: $q_sorted"

# ---------------------------------------------------------------- 32-bit numbers, ZSTD
# 18.16 picks the compression method per part, server-wide: restart the same
# server (same data dir) with a case that selects zstd for every part. The
# plain tables are not merged again, so they stay LZ4.
say "restarting clickhouse-server with zstd for every part"
stop_server
start_server "<case><min_part_size>0</min_part_size><min_part_size_ratio>0</min_part_size_ratio><method>zstd</method></case>"

t0=$(now)
ch --max_threads=1 --multiquery --query "
  -- Dense 32-bit stack numbers 1..N in order of first use (stacks.jsonl order),
  -- as a store that numbers stacks as it meets them would have.
  CREATE TABLE stack_nums ENGINE = Memory AS
    SELECT stack_id AS stack_hash, toUInt32(rowNumberInAllBlocks() + 1) AS stack_num FROM stacks_in;
  CREATE TABLE samples32 (service String, ts DateTime, stack_id UInt32, value Int64)
    ENGINE = MergeTree ORDER BY (service, ts);
  CREATE TABLE stacks32 (stack_id UInt32, frames Array(String))
    ENGINE = MergeTree ORDER BY stack_id;
  CREATE TABLE samples32_sorted (service String, ts DateTime, stack_id UInt32, value Int64)
    ENGINE = MergeTree ORDER BY (service, ts, stack_id);"
ch --multiquery --query "
  INSERT INTO samples32
    SELECT service, ts, stack_num, value FROM samples ANY INNER JOIN stack_nums USING stack_hash;
  INSERT INTO stacks32
    SELECT stack_num, frames FROM (SELECT stack_id AS stack_hash, frames FROM stacks_in)
    ANY INNER JOIN stack_nums USING stack_hash;"
convert_s=$(secs_since "$t0")
rows32=$(ch --query "SELECT count() FROM samples32")
[ "$rows32" = "$expected_rows" ] || { say "samples32 has $rows32 rows, want $expected_rows"; exit 1; }
t0=$(now)
ch --query "OPTIMIZE TABLE samples32 FINAL"
ch --query "OPTIMIZE TABLE stacks32 FINAL"
optimize32_s=$(secs_since "$t0")
wait_no_inactive_parts
say "32-bit tables built in $convert_s s, merged in $optimize32_s s"
report_parts samples32 stacks32
z_bytes=$(bytes_on_disk samples32 stacks32)
z_samples_bytes=$(bytes_on_disk samples32)
z_du=$(du_tables samples32 stacks32)
method_z=$(compression_method samples32 stack_id)
method_plain_after=$(compression_method samples stack_hash)
say "32-bit+zstd: $z_bytes bytes on disk, du -sb $z_du, compression $method_z (plain still $method_plain_after)"
[ "$method_z" = zstd ] || { say "samples32 is not zstd-compressed"; exit 1; }
[ "$method_plain_after" = lz4 ] || { say "samples is no longer LZ4"; exit 1; }

say "timing the 24 h query on the 32-bit schema"
q_z=$(python3 "$here/query_timer.py" --port "$tcp_port" --http-port "$http_port" \
  --samples samples32 --stacks stacks32 --key stack_id --from "$t_from" --to "$t_to" | tail -n 1)
say "32-bit+zstd: $q_z"

say "32-bit+zstd, ORDER BY (service, ts, stack_id)"
ch --multiquery --query "
  INSERT INTO samples32_sorted SELECT * FROM samples32;
  OPTIMIZE TABLE samples32_sorted FINAL;"
wait_no_inactive_parts
report_parts samples32_sorted
z_sorted_bytes=$(bytes_on_disk samples32_sorted stacks32)
say "32-bit+zstd, sorted by stack too: $z_sorted_bytes bytes on disk (with stacks32)"

# ---------------------------------------------------------------- result
# Last stdout line: one JSON object.
#   clickhouse_bytes              plain schema (samples + stacks), sum(bytes_on_disk) of active parts
#   clickhouse_disk_vs_gzip_pprof clickhouse_bytes / total size of DATA_DIR/pprof/*.pb.gz (null if none)
#   clickhouse_zstd32_bytes       same for 32-bit stack numbers + zstd
#   clickhouse_query_24h_ms       median wall time of clickhouse-client running the 24 h GROUP BY
#                                 (process start included: see clickhouse_client_overhead_ms);
#                                 *_server_ms = clickhouse-client --time; *_http_ms = kept-alive HTTP
#   clickhouse_frames_ms          the same for fetching the frames of the returned stacks
#   clickhouse_load_s             INSERT of samples.tsv + stacks.jsonl (before OPTIMIZE)
#   clickhouse_sorted_*, clickhouse_zstd32_sorted_*
#                                 the same with ORDER BY (service, ts, stack) (see 4. at the top)
python3 - "$version" "$expected_rows" "$ch_bytes" "$ch_samples_bytes" "$ch_du" "$pprof_bytes" \
  "$z_bytes" "$z_samples_bytes" "$z_du" "$load_s" "$optimize_s" "$convert_s" "$q_plain" "$q_z" \
  "$sorted_bytes" "$z_sorted_bytes" "$q_sorted" <<'PY'
import json, sys
(version, rows, b, sb, du, pprof, zb, zsb, zdu, load_s, opt_s, conv_s, qp, qz,
 sortb, zsortb, qs) = sys.argv[1:]
rows, b, sb, du, zb, zsb, zdu, sortb, zsortb = map(int, (rows, b, sb, du, zb, zsb, zdu, sortb, zsortb))
qp, qz, qs = json.loads(qp), json.loads(qz), json.loads(qs)
pprof = None if pprof == "null" else int(pprof)
out = {
    "clickhouse_version": version,
    "samples": rows,
    "clickhouse_bytes": b,
    "clickhouse_bytes_per_sample": round(b / rows, 2),
    "clickhouse_disk_vs_gzip_pprof": round(b / pprof, 4) if pprof else None,
    "clickhouse_zstd32_bytes": zb,
    "clickhouse_zstd32_bytes_per_sample": round(zb / rows, 2),
    "clickhouse_query_24h_ms": qp["query_24h_client_ms"],
    "clickhouse_frames_ms": qp["frames_client_ms"],
    "clickhouse_load_s": float(load_s),
    # details
    "clickhouse_query_24h_server_ms": qp["query_24h_server_ms"],
    "clickhouse_query_24h_http_ms": qp["query_24h_http_ms"],
    "clickhouse_frames_server_ms": qp["frames_server_ms"],
    "clickhouse_frames_http_ms": qp["frames_http_ms"],
    "clickhouse_client_overhead_ms": qp["client_overhead_ms"],
    "clickhouse_stacks_returned": qp["stacks_returned"],
    "clickhouse_samples_table_bytes": sb,
    "clickhouse_du_bytes": du,
    "clickhouse_optimize_s": float(opt_s),
    "pprof_gz_bytes": pprof,
    "clickhouse_zstd32_samples_table_bytes": zsb,
    "clickhouse_zstd32_du_bytes": zdu,
    "clickhouse_zstd32_build_s": float(conv_s),
    "clickhouse_zstd32_query_24h_ms": qz["query_24h_client_ms"],
    "clickhouse_zstd32_query_24h_server_ms": qz["query_24h_server_ms"],
    "clickhouse_zstd32_frames_ms": qz["frames_client_ms"],
    # ORDER BY (service, ts, stack): what the README's reference figures match
    "clickhouse_sorted_bytes": sortb,
    "clickhouse_sorted_bytes_per_sample": round(sortb / rows, 2),
    "clickhouse_sorted_disk_vs_gzip_pprof": round(sortb / pprof, 4) if pprof else None,
    "clickhouse_sorted_query_24h_ms": qs["query_24h_client_ms"],
    "clickhouse_sorted_query_24h_server_ms": qs["query_24h_server_ms"],
    "clickhouse_zstd32_sorted_bytes": zsortb,
    "clickhouse_zstd32_sorted_bytes_per_sample": round(zsortb / rows, 2),
}
if len({q["value_sum"] for q in (qp, qz, qs)}) != 1 or len({q["stacks_returned"] for q in (qp, qz, qs)}) != 1:
    sys.exit("the two schemas disagree on the 24 h query's result")
print(json.dumps(out))
PY
