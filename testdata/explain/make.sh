#!/usr/bin/env bash
# Regenerates the interpreter's evaluation set in this folder: builds the
# workloads of src/ (each mode has one known dominant cause), profiles every
# case with Stackhouse's profilers — libstackhouse (LD_PRELOAD) for C++, the
# agent for Go and for the C++ cases whose cause is in the kernel — and the
# JDK's Flight Recorder for Java (read by Stackhouse's JFR parser), and
# writes profiles/*.pb.gz. labels.json names each case's expected top
# finding (category, and a function it must name). Needs root (the agent),
# a built build/ (scripts/setup), g++, go, javac.
#
#   testdata/explain/make.sh
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../.. && pwd)
bin=$root/build/bin/stackhouse
lib=$root/build/lib/libstackhouse.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
g++ -O1 -g -fno-omit-frame-pointer -std=c++17 src/cases.cc -o "$work/cases" -lz -ldl -lpthread
GOPROXY=off GO111MODULE=off GOFLAGS= GOCACHE="$work/gocache" go build -o "$work/gocases" src/gocases.go
javac -d "$work" src/Cases.java
rm -rf profiles
mkdir -p profiles

# A C++ case under libstackhouse: NAME MODE.
sdk() {
  local d="$work/sdk-$1"
  mkdir -p "$d"
  LD_PRELOAD="$lib" STACKHOUSE_OUTPUT_DIR="$d" STACKHOUSE_UPLOAD_INTERVAL=60s STACKHOUSE_SAMPLE_RATE=250 \
    STACKHOUSE_APPLICATION_NAME="$1" "$work/cases" "$2" 2 >/dev/null
  cp "$d"/*.cpu.*.pb.gz "profiles/$1.pb.gz"
}

# A case under the agent: NAME COMM COMMAND...
agent() {
  local name=$1 comm=$2
  shift 2
  local d="$work/agent-$name"
  mkdir -p "$d"
  "$bin" agent --output-dir "$d" --upload-interval 60s --sample-rate 199 --comm "^$comm\$" --metrics-addr "" \
    --log-level warn &
  local apid=$!
  sleep 1.5
  "$@" >/dev/null
  kill -TERM "$apid"
  wait "$apid" || true
  cp "$(ls -S "$d"/*.pb.gz | head -1)" "profiles/$name.pb.gz"
}

# A Java case recorded with JFR: NAME MODE.
jfr_case() {
  java -XX:StartFlightRecording=filename="$work/$1.jfr",settings=profile -cp "$work" Cases "$2" 3 >/dev/null 2>&1
  "$bin" convert "$work/$1.jfr" -o "profiles/$1.pb.gz"
}

for c in alloc lock syscall regex json compute memcpy exceptions formatting hashing dynlink spinning queens; do
  sdk "cpp_$c" "$c"
done
sdk cpp_regress_base regress-base
sdk cpp_regress_new regress-new
agent cpp_pagefaults cases "$work/cases" pagefaults 2
agent cpp_syscall_kernel cases "$work/cases" syscall 2
agent cpp_lock_kernel cases "$work/cases" lock 2
for c in json regex alloc compute gzip sha256 fmt lock; do
  agent "go_$c" gocases "$work/gocases" "$c" 2
done
agent go_regress_base gocases "$work/gocases" regress-base 2
agent go_regress_new gocases "$work/gocases" regress-new 2
for c in compute regex alloc format hashing lock; do
  jfr_case "java_$c" "$c"
done
ls -la profiles
