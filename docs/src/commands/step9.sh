#!/usr/bin/env bash
# Lab step 9: the management page. It is on only when the stack started with LAB_MANAGE_TOKEN
# set (docs/check-commands.sh --up does that); these blocks use the same token.
source "$(dirname "$0")/lib.sh"
code=$(curl -s -o /dev/null -w '%{http_code}' "$API/manage/")
if ! docker_on || { [ "$code" = 404 ] && [ -z "${LAB_MANAGE_TOKEN:-}" ]; }; then
  echo "step9: skipped: the management page needs the Docker stack started with LAB_MANAGE_TOKEN set"
  exit 0
fi
[ "$code" = 200 ] || fail "GET $API/manage/ answered $code: was the stack started with this LAB_MANAGE_TOKEN?"

{
# ANCHOR: state
curl -s "$API/manage/api/state" | python3 -c '
import json, sys
for svc in json.load(sys.stdin)["services"]:
    for n in svc["nodes"]:
        print(svc["service"], n["name"], n["state"], n["proxy"])'
# ANCHOR_END: state
} >"$OUT"; show state
expect "running UP"

{
# ANCHOR: refused
curl -si -X POST "$API/manage/api/services/servers1/static/add" | sed -n 1p   # the status line
# ANCHOR_END: refused
} >"$OUT"; show refused
expect "401"

{
# ANCHOR: add
curl -s -X POST -H "Authorization: Bearer $LAB_MANAGE_TOKEN" \
  "$API/manage/api/services/servers1/static/add"
echo
# ANCHOR_END: add
} >"$OUT"; show add
expect '"ok":true'

{
# ANCHOR: remove
# the nodes the page added carry "added": true in the state
id=$(curl -s "$API/manage/api/state" | python3 -c '
import json, sys
for svc in json.load(sys.stdin)["services"]:
    for n in svc["nodes"]:
        if n["added"]: print(n["id"])' | head -1)
curl -s -X POST -H "Authorization: Bearer $LAB_MANAGE_TOKEN" "$API/manage/api/nodes/$id/remove"
echo
# ANCHOR_END: remove
} >"$OUT"; show remove
expect '"ok":true'

{
# ANCHOR: check
lab check --docker --compose-file compose/compose.yaml --url "$WEB" --api-url "$API" --step 9
# ANCHOR_END: check
} >"$OUT"; show check
expect " passed"
expect "added servers1-static-"
