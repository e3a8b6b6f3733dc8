#!/usr/bin/env bash
# The benchmark in one command: builds our proxy, the backends and the harness in release, then
# runs every proxy side by side on loopback and writes the table and charts into the book.
#
#   bash bench/run.sh            # full run (3 rounds, 4 concurrencies, TLS; about 15 minutes)
#   bash bench/run.sh --quick    # smoke test (1 round, 2 concurrencies; about 2 minutes)
#   bash bench/run.sh --only ours,haproxy,nginx --rounds 5
#   bash bench/run.sh --only ours,haproxy,nginx --tls   # the TLS section alone (a few minutes)
#
# Needs wrk, haproxy, nginx, caddy and apache2 (LAB_SETUP_BENCH=1 bash scripts/setup.sh).
# Traffic goes to 127.0.0.1 only; every process it starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p proxy -p static-server -p bench
BENCH_COMMAND="bash bench/run.sh $*" exec target/release/bench run "$@"
