#!/usr/bin/env bash
# Installs what the project needs, idempotently. Safe to run again.
set -euo pipefail
echo "setup: nothing to install yet"
