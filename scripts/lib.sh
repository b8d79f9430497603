# Shared helpers for the scripts in this folder. Source it; don't run it.

# ensure_packages PKG...: installs the Debian packages that are not installed
# yet, with apt-get only. Idempotent and quiet when nothing is missing.
ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/tmp/stackhouse-apt.log 2>&1; then
    $sudo apt-get update >>/tmp/stackhouse-apt.log 2>&1
    $sudo apt-get install -y --no-install-recommends "${missing[@]}" >>/tmp/stackhouse-apt.log 2>&1 || {
      echo "setup: apt-get install failed; see /tmp/stackhouse-apt.log" >&2
      tail -20 /tmp/stackhouse-apt.log >&2
      return 1
    }
  fi
}

# Packages needed to build and test.
BUILD_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git python3
  clang lld libclang-rt-14-dev
  zlib1g-dev libdeflate-dev libisal-dev libxxhash-dev nlohmann-json3-dev libre2-dev libzstd-dev
  libgtest-dev libgmock-dev
  libprotobuf-dev protobuf-compiler
  libmicrohttpd-dev libcurl4-openssl-dev libyaml-cpp-dev libjemalloc-dev
  libelf-dev libdw-dev libbpf-dev bpftool
  libgrpc++-dev protobuf-compiler-grpc
  golang-go
)

# Packages the tests need on top (end-to-end tests of the web UI).
TEST_PACKAGES=(chromium fonts-dejavu-core valgrind)

# Packages the benchmarks need on top.
BENCH_PACKAGES=(python3-protobuf protobuf-compiler time curl linux-perf libgoogle-perftools4)

jobs() { nproc 2>/dev/null || echo 2; }

# ensure_node: Node.js and npm for the web UI (the machine's own, or
# Debian's when there is none).
ensure_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_packages nodejs npm
  fi
}

# build_ui: installs the UI's npm dependencies (npm ci, from the lock file)
# and builds ui/dist when a source is newer than the last build.
build_ui() {
  ensure_node
  (
    cd ui
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      echo "setup: npm ci (ui)" >&2
      npm ci --no-audit --no-fund --loglevel=error >&2
    fi
    if [ ! -f dist/index.html ] || [ -n "$(find src index.html package-lock.json vite.config.ts -newer dist/index.html 2>/dev/null | head -1)" ]; then
      echo "setup: building the web UI" >&2
      npm run --silent build >&2
    fi
  )
}

# start_bench_server NAME ARGS...: a release `stackhouse server` on a random
# loopback port with a fresh data directory, for a benchmark. Sets $work
# (a temporary directory, removed on exit), $port and $pid (the server is
# stopped on exit), and returns once /ready answers. ARGS are more flags.
start_bench_server() {
  local name=$1
  shift
  work=$(mktemp -d "/tmp/stackhouse-bench-$name.XXXXXX")
  port=$((20000 + RANDOM % 20000))
  build-release/bin/stackhouse server --http-addr "127.0.0.1:$port" --data-dir "$work/data" \
    --ingestion-rate-mb 0 --log-level warn --otlp-http-addr "" --otlp-grpc-addr "" "$@" 2>"$work/server.log" &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
  local _
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/ready" >/dev/null && return 0
    sleep 0.1
  done
  echo "bench $name: the server did not start" >&2
  cat "$work/server.log" >&2
  return 1
}

# stop_bench_server: stops the server start_bench_server started and removes
# its directory (to start another one in the same benchmark).
stop_bench_server() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
  trap - EXIT
}
