#!/usr/bin/env bash
# The README's test command, and what CI runs (.ci/run): set-up (idempotent), then every suite.
#
#   bash scripts/test.sh
#
# With CI=true, the tests that need the Docker engine or Chromium fail when either is missing
# (elsewhere they skip, loudly).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { printf '\n==> %s (%ds)\n' "$*" $((SECONDS - started)); }

step "set-up"
bash scripts/setup.sh

step "format"
cargo fmt --all --check

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "unit and integration tests (Docker engine and Chromium included)"
cargo test --workspace

step "the book builds with no warning and no broken link"
bash docs/check.sh

step "the book's commands, run against the Docker stack at the report's scale"
bash docs/check-commands.sh --up

step "done"
