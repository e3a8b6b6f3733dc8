#!/usr/bin/env bash
# The soak: steady load through our proxy while servers are scaled up and down every few
# seconds; reports failed GETs, memory growth after warm-up and open fds (bounded: 3 minutes),
# and exits non-zero, saying which, when a goal is missed (a failed GET, memory growth of 10 %
# or more after warm-up, an fd leak).
#
#   bash bench/soak.sh                       # 180 s, scale every 3 s, 16 connections
#   bash bench/soak.sh --duration 60 --step 2
#   bash bench/soak.sh --abrupt              # stop servers before removing them from the config
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p proxy -p static-server -p bench
BENCH_COMMAND="bash bench/soak.sh $*" exec target/release/bench soak "$@"
