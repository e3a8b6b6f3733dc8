#!/usr/bin/env bash
# Runs the commands the book shows (docs/src/commands/*.sh) against a running stack, so a
# command that is wrong in the book fails here. Each file checks its own output.
#
#   WEB=http://127.0.0.1:8000 API=http://127.0.0.1:8080 bash docs/check-commands.sh
#   bash docs/check-commands.sh step3 step7        # only these files
#   bash docs/check-commands.sh --capture          # also refresh docs/src/outputs/ (the
#                                                  # "what you should see" blocks of the book)
#   bash docs/check-commands.sh --up               # start the Docker stack first (compose
#                                                  # project servers1 on free loopback ports,
#                                                  # report's scale), remove it at the end: CI
#
# Environment:
#   WEB, API     the proxy's web and API entrypoints (default http://127.0.0.1, :8080)
#   LAB_DOCKER   1 (default): the stack is the README's Docker stack (compose project
#                `servers1`); the files also build, run, stop and scale containers.
#                0: a stack without Docker (`lab up`); the Docker blocks are skipped.
# Traffic goes only to WEB and API (loopback) and to containers this machine runs.
set -euo pipefail
cd "$(dirname "$0")/.."

capture=0
up=0
files=()
for arg in "$@"; do
  case "$arg" in
    --capture) capture=1 ;;
    --up) up=1 ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) files+=("docs/src/commands/${arg%.sh}.sh") ;;
  esac
done
if [ ${#files[@]} -eq 0 ]; then
  # The book's order: the report's tests after the steps, and those that stop or scale
  # containers last.
  files=(docs/src/commands/step{1,2,3,4,5,6,7}.sh docs/src/commands/{sticky,cookie}.sh
         docs/src/commands/{step8,servers-down,scaling,step9}.sh)
fi

# `lab` (for the `lab check` blocks): on PATH, else the one cargo built here.
# Built every time (a no-op when up to date), so an old `lab` never checks new code.
if ! command -v lab >/dev/null 2>&1; then
  echo "check-commands: building lab (cargo build -p lab)" >&2
  cargo build -q -p lab
  PATH="$(realpath "${CARGO_TARGET_DIR:-target}")/debug:$PATH"
fi

compose=(docker compose -f compose/compose.yaml -p servers1)
if [ "$up" = 1 ]; then
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  LAB_HTTP_PORT=$(free_port)
  LAB_API_PORT=$(free_port)
  # Step 9's management page is on (compose passes the token to the proxy); step9.sh uses it.
  : "${LAB_MANAGE_TOKEN:=$(python3 -c 'import secrets; print(secrets.token_hex(16))')}"
  export LAB_HTTP_PORT LAB_API_PORT LAB_BUILD_TARGET=prebuilt LAB_MANAGE_TOKEN
  WEB="http://127.0.0.1:$LAB_HTTP_PORT"
  API="http://127.0.0.1:$LAB_API_PORT"
  LAB_DOCKER=1
  if "${compose[@]}" ps -q 2>/dev/null | grep -q .; then
    echo "check-commands: a compose project servers1 is already running; stop it first (${compose[*]} down)" >&2
    exit 1
  fi
  echo "check-commands: building the images and starting the stack on $WEB and $API" >&2
  bash scripts/build-images.sh --quiet >&2
  trap '"${compose[@]}" down --remove-orphans --timeout 5 >/dev/null 2>&1 || true' EXIT
  "${compose[@]}" up -d --scale static=4 --scale dynamic=3 >&2
  # Ready when the site and the API answer 200 through the proxy (at most 30 s).
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null -H 'Host: demo.res.ch' "$WEB/" &&
      curl -fs -o /dev/null -H 'Host: demo.res.ch' "$WEB/api/jokes/" && break
    sleep 0.2
  done
fi

: "${WEB:=http://127.0.0.1}"
: "${API:=http://127.0.0.1:8080}"
: "${LAB_DOCKER:=1}"
export WEB API LAB_DOCKER

if [ "$capture" = 1 ] && [ "$LAB_DOCKER" != 1 ]; then
  echo "check-commands: --capture needs the Docker stack (LAB_DOCKER=1): the book shows every block" >&2
  exit 1
fi
if ! curl -s -o /dev/null --max-time 5 "$API/api/version"; then
  echo "check-commands: no proxy API at $API: start the stack first (README), or set WEB and API" >&2
  exit 1
fi

failed=()
for f in "${files[@]}"; do
  [ -f "$f" ] || { echo "check-commands: no such command file: $f" >&2; exit 1; }
  name=$(basename "$f" .sh)
  printf '== %s\n' "$name"
  log=$(mktemp)
  if CAPTURE=$capture bash "$f" >"$log"; then
    status=ok
  else
    status=FAIL
    failed+=("$name")
  fi
  if [ "$capture" = 1 ]; then
    if [ "$status" = ok ] && grep -q 'ANCHOR: ' "$log"; then
      # The book shows the default addresses (WEB, API and their published ports), not the
      # free ports this run happened to use.
      web_port=$(sed -E 's#.*:([0-9]+)/?$#\1#; t; s#.*#80#' <<<"$WEB")
      api_port=$(sed -E 's#.*:([0-9]+)/?$#\1#' <<<"$API")
      # Likewise the default image names, not this checkout's LAB_IMAGE_PREFIX.
      prefix="${LAB_IMAGE_PREFIX:-http-infra-lab}"
      sed -E -e "s#${API%/}([^0-9]|\$)#http://127.0.0.1:8080\\1#g" -e "s#${WEB%/}([^0-9]|\$)#http://127.0.0.1\\1#g" \
        -e "s#127\\.0\\.0\\.1:${api_port}->#127.0.0.1:8080->#g" -e "s#127\\.0\\.0\\.1:${web_port}->#127.0.0.1:80->#g" \
        -e "s#(^|[^A-Za-z0-9_.-])${prefix//./\\.}/(proxy|static-server|jokes-api)#\\1http-infra-lab/\\2#g" \
        "$log" | awk '/^http-infra-lab\/[a-z-]+ +[0-9.]+ MB$/ { printf "%-32s %7s MB\n", $1, $2; next } { print }' \
        >"docs/src/outputs/$name.txt"
    elif [ "$status" = ok ]; then
      echo "   (nothing to capture: its blocks were skipped)"
    fi
  fi
  if [ "$capture" = 0 ] || [ "$status" = FAIL ]; then
    sed 's/^/   /' "$log"
  fi
  rm -f "$log"
  printf '   %s\n' "$status"
done

# Every "You should see" block the book includes must be a real capture: not empty, and no
# placeholder left where an output should be (a "pending" note, a TODO).
if ! placeholders=$(python3 - docs/src <<'PY'
import glob, os, re, sys
src = sys.argv[1]
bad = []
for md in sorted(glob.glob(src + "/**/*.md", recursive=True)):
    for n, line in enumerate(open(md, encoding="utf-8"), 1):
        for path, anchor in re.findall(r"\{\{#include\s+([^}:\s]*outputs/[^}:\s]+):([\w-]+)\s*\}\}", line):
            full = os.path.normpath(os.path.join(os.path.dirname(md), path))
            text = open(full, encoding="utf-8").read() if os.path.isfile(full) else ""
            m = re.search(r"ANCHOR: %s\n(.*?)ANCHOR_END: %s\b" % (re.escape(anchor), re.escape(anchor)), text, re.S)
            where = "%s:%d (%s:%s)" % (os.path.relpath(md, src), n, os.path.relpath(full, src), anchor)
            if m is None:
                bad.append(where + ": no such captured block")
            elif not m.group(1).strip():
                bad.append(where + ": empty")
            elif re.search(r"\bpending\b|\bplaceholder\b|\bTODO\b|captured again", m.group(1), re.I):
                bad.append(where + ": a placeholder, not a captured output")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
); then
  echo "check-commands: the book shows outputs that were never captured (run with --capture):" >&2
  sed 's/^/  /' <<<"$placeholders" >&2
  failed+=("placeholders")
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "check-commands: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "check-commands: every command the book shows works"
