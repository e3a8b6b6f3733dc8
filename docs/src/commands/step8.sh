#!/usr/bin/env bash
# Lab step 8: nodes come and go; the proxy follows without a restart.
source "$(dirname "$0")/lib.sh"
if docker_on; then

servers() {
  # Only this project's containers: other stacks on the same engine may carry the same labels.
  curl -s "$API/api/http/services/$1" | python3 -c 'import json,sys; print(sum(s.get("name", "").startswith("servers1-") for s in json.load(sys.stdin)["loadBalancer"]["servers"]))'
}

{
# ANCHOR: scale-up
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=6 --scale dynamic=3
sleep 1   # Docker's events reach the proxy in milliseconds; leave them a moment
curl -s "$API/api/http/services/static@docker" | python3 -c '
import json, sys
for url, status in sorted(json.load(sys.stdin)["serverStatus"].items()):
    print(url, status)'
# ANCHOR_END: scale-up
} >"$OUT"; show scale-up
[ "$(servers static@docker)" = 6 ] || fail "after scaling to 6, the proxy should list 6 static servers"

{
# ANCHOR: scale-down
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=2 --scale dynamic=3
sleep 1
curl -s "$API/api/http/services/static@docker" | python3 -c '
import json, sys
for url, status in sorted(json.load(sys.stdin)["serverStatus"].items()):
    print(url, status)'
# ANCHOR_END: scale-down
} >"$OUT"; show scale-down
[ "$(servers static@docker)" = 2 ] || fail "after scaling to 2, the proxy should list 2 static servers"

# Back to the report's scale for the next checks.
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=3 >/dev/null 2>&1
fi

if docker_on; then
{
# ANCHOR: check
lab check --docker --compose-file compose/compose.yaml --url "$WEB" --api-url "$API" --step 8
# ANCHOR_END: check
} >"$OUT"; show check
else
  lab check --url "$WEB" --api-url "$API" --step 8 >"$OUT"; show check
fi
expect " passed"
