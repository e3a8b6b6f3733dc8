#!/usr/bin/env bash
# Lab step 8: nodes come and go; the proxy follows without a restart.
source "$(dirname "$0")/lib.sh"
docker_on || exit 0

servers() {
  curl -s "$API/api/http/services/$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["loadBalancer"]["servers"]))'
}

{
# ANCHOR: scale-up
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=6 --scale dynamic=3
sleep 1
curl -s "$API/api/http/services/static@docker" | python3 -m json.tool | grep -A8 serverStatus
# ANCHOR_END: scale-up
} >"$OUT"; show scale-up
[ "$(servers static@docker)" = 6 ] || fail "after scaling to 6, the proxy should list 6 static servers"

{
# ANCHOR: scale-down
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=2 --scale dynamic=3
sleep 1
curl -s "$API/api/http/services/static@docker" | python3 -m json.tool | grep -A4 serverStatus
# ANCHOR_END: scale-down
} >"$OUT"; show scale-down
[ "$(servers static@docker)" = 2 ] || fail "after scaling to 2, the proxy should list 2 static servers"

# Back to the report's scale for the next checks.
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=3 >/dev/null 2>&1
