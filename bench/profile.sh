#!/usr/bin/env bash
# Profiles our proxy's hot path with perf (Debian's linux-perf) under 64 connections of wrk.
# The release profile strips symbols, so this builds a copy with symbols and frame pointers in
# target/profiling (a separate target dir: the normal build is untouched).
#
#   bash bench/profile.sh [--duration 10] [--sticky]
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
  RUSTFLAGS="-C force-frame-pointers=yes" \
  cargo build --release -p proxy --target-dir target/profiling
cargo build --release -p static-server -p bench
BENCH_COMMAND="bash bench/profile.sh $*" exec target/release/bench \
  --proxy target/profiling/release/proxy profile "$@"
