#!/usr/bin/env bash
# The README's "run the lab" command: the report's stack on Docker, at the report's scale.
#
#   bash scripts/lab-up.sh              # static=4, dynamic=3, web on :80, API on :8080
#   LAB_HTTP_PORT=8000 bash scripts/lab-up.sh
#   bash scripts/lab-up.sh --scale static=6 --scale dynamic=2
#   bash scripts/lab-down.sh            # stop and remove it
#
# On Linux with Rust installed, the images are built from static binaries compiled here (no
# registry needed). Elsewhere (macOS, Windows), compose builds them from source in the official
# Rust image: `cd compose && docker compose -p servers1 up -d --build --scale static=4 --scale dynamic=3`.
set -euo pipefail
cd "$(dirname "$0")/.."
project="${LAB_PROJECT:-servers1}"

# Only what the lab needs (Docker Compose v2), with its progress shown; `bash scripts/setup.sh`
# installs the rest (Chromium for the browser tests, mdbook for the book).
bash scripts/setup.sh --lab
bash scripts/build-images.sh

# The `lab` command on the PATH, as the book types it (`lab check`): a link in ~/.cargo/bin
# (rustup puts that directory on the PATH) to target/debug/lab, so it follows later builds.
# Skipped when another `lab` is already installed there (cargo install --path tests).
bin_dir="${CARGO_HOME:-$HOME/.cargo}/bin"
if [ ! -e "$bin_dir/lab" ] || [ -L "$bin_dir/lab" ]; then
  echo "lab-up: building the lab command (cargo build -p lab; a minute or two the first time)" >&2
  cargo build -q -p lab
  mkdir -p "$bin_dir"
  ln -sf "$(realpath "${CARGO_TARGET_DIR:-target}")/debug/lab" "$bin_dir/lab"
fi
lab_cmd=lab
if [ "$(command -v lab 2>/dev/null)" != "$bin_dir/lab" ]; then
  echo "lab-up: $bin_dir is not on your PATH: add it (export PATH=\"$bin_dir:\$PATH\"), or type $bin_dir/lab" >&2
  lab_cmd="$bin_dir/lab"
fi

scale=(--scale static=4 --scale dynamic=3)
[ $# -gt 0 ] && scale=("$@")
(cd compose && docker compose -p "$project" up -d --no-build "${scale[@]}")

http_port="$(cd compose && docker compose -p "$project" port proxy 80 | sed 's/.*://')"
api_port="$(cd compose && docker compose -p "$project" port proxy 8080 | sed 's/.*://')"
cat <<TXT

The lab is up (compose project $project):
  Site       curl -i -H 'Host: demo.res.ch' http://127.0.0.1:$http_port/
  API        curl -i -H 'Host: demo.res.ch' http://127.0.0.1:$http_port/api/jokes/
  Dashboard  http://127.0.0.1:$api_port/dashboard/
  In a browser: add "127.0.0.1 demo.res.ch" to /etc/hosts, then http://demo.res.ch:$http_port/
  Check it:  $lab_cmd check --docker --project $project --url http://127.0.0.1:$http_port --api-url http://127.0.0.1:$api_port
             (every step: --docker lets the failover and scaling checks stop and scale containers)
  Scale:     (cd compose && docker compose -p $project up -d --no-build --scale static=6 --scale dynamic=3)
  Stop:      bash scripts/lab-down.sh
TXT
if [ -n "${LAB_MANAGE_TOKEN:-}" ]; then
  echo "  Manage     http://127.0.0.1:$api_port/manage/ (log in with \$LAB_MANAGE_TOKEN; lab check uses it too)"
else
  echo "  Manage     off (lab step 9): export LAB_MANAGE_TOKEN=\$(openssl rand -hex 16) and run this again"
fi
