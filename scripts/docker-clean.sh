#!/usr/bin/env bash
# Removes what the lab left on the Docker engine: the test suite's stacks (compose projects
# named labtest-*), or with a project name, that project (`scripts/docker-clean.sh servers1`).
# With --images, also the lab's images. Touches nothing else. `lab clean` does the work
# (tests/src/docker.rs, as the tests' own clean-up).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run -q -p lab -- clean "$@"
