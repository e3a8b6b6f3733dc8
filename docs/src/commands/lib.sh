# Sourced by every command file in docs/src/commands/ (never shown in the book).
#
# The book shows the lines between `# ANCHOR: name` and `# ANCHOR_END: name` of each command
# file; docs/check-commands.sh runs the whole files against a running stack, so a command the
# book shows that stops working fails CI. Each shown block runs as `{ block } >"$OUT"; show NAME`
# (in this shell, so variables it sets stay set), and the checks below it look at exactly what a
# student would see.
#
# Environment (defaults: the Docker stack of the README on this machine):
#   WEB         the proxy's http entrypoint (port 80)  (http://127.0.0.1)
#   API         the proxy's API entrypoint            (http://127.0.0.1:8080)
#   LAB_DOCKER  1: also run the blocks that drive Docker (build, run, stop, scale); 0: skip them
#   CAPTURE     1: print anchor markers around each block's output, for docs/src/outputs/
set -euo pipefail

: "${WEB:=http://127.0.0.1}"
: "${API:=http://127.0.0.1:8080}"
: "${LAB_DOCKER:=1}"
: "${CAPTURE:=0}"
export WEB API

OUT=$(mktemp)
CLEANUP=()
cleanup() {
  local c
  for c in "${CLEANUP[@]}"; do eval "$c" || true; done
  rm -f "$OUT"
}
trap cleanup EXIT

# show NAME: $out = the block's output; print it, between anchor markers when capturing.
show() {
  out=$(<"$OUT")
  if [ "$CAPTURE" = 1 ]; then echo "ANCHOR: $1"; fi
  printf '%s\n' "$out"
  if [ "$CAPTURE" = 1 ]; then echo "ANCHOR_END: $1"; fi
}

fail() {
  echo "FAIL ($(basename "$0")): $*" >&2
  exit 1
}

docker_on() { [ "$LAB_DOCKER" = 1 ]; }

# expect TEXT: the last block's output contains TEXT (case-insensitive).
expect() {
  grep -qiF -- "$1" <<<"$out" || fail "expected '$1' in the output of the block above"
}

# served_by_list: the X-Served-By values in $out, one per line, in order.
served_by_list() {
  tr -d '\r' <<<"$out" | awk 'tolower($1)=="x-served-by:" {print $2}'
}

# distinct N: at least N different servers in $out's X-Served-By headers.
distinct() {
  local n
  n=$(served_by_list | sort -u | grep -c . || true)
  [ "$n" -ge "$1" ] || fail "expected at least $1 different servers in X-Served-By, saw $n"
}

# same_server: every X-Served-By in $out is the same server.
same_server() {
  local n
  n=$(served_by_list | sort -u | grep -c . || true)
  [ "$n" -eq 1 ] || fail "expected one server in X-Served-By, saw $n"
}
