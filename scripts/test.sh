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

# A full run needs a few GB for target/ (debug tests, then the release binaries of the images).
# Incremental caches only help when editing; a one-shot run does without them.
if [[ "${CI:-}" == "true" ]]; then export CARGO_INCREMENTAL=0; fi
free_kb="$(df -Pk . | awk 'NR == 2 { print $4 }')"
echo "disk: $((free_kb / 1024)) MB free on $(df -P . | awk 'NR == 2 { print $6 }')"
if (( free_kb < 3 * 1024 * 1024 )); then
  echo "warning: less than 3 GB free; the build may fail with 'No space left on device'." \
       "Free space (cargo clean in other checkouts, docker system prune) and run again." >&2
fi

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
df -Ph . | awk 'NR == 2 { print "disk: " $4 " free at the end" }'
du -sh target 2>/dev/null | sed 's/^/target: /' || true
