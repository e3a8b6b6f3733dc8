#!/usr/bin/env bash
# Stops and removes the stack started by scripts/lab-up.sh.
set -euo pipefail
cd "$(dirname "$0")/../compose"
docker compose -p "${LAB_PROJECT:-servers1}" down --remove-orphans
