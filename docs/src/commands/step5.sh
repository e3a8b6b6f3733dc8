#!/usr/bin/env bash
# Lab step 5: dynamic configuration: the proxy finds the servers itself, from Docker labels.
source "$(dirname "$0")/lib.sh"

{
# ANCHOR: routers
curl -s "$API/api/http/routers" | python3 -m json.tool
# ANCHOR_END: routers
} >"$OUT"; show routers
expect '"rule"'
expect "demo.res.ch"

{
# ANCHOR: services
curl -s "$API/api/http/services" | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    for url, status in sorted(s.get("serverStatus", {}).items()):
        print("%-22s %-26s %s" % (s["name"], url, status))'
# ANCHOR_END: services
} >"$OUT"; show services
expect "UP"

if docker_on; then
before=$out
{
# ANCHOR: swap
docker compose -f compose/compose.yaml -p servers1 stop static dynamic
docker compose -f compose/compose.yaml -p servers1 start dynamic
docker compose -f compose/compose.yaml -p servers1 start static
# ANCHOR_END: swap
} >"$OUT" 2>&1; show swap
sleep 1
{
# ANCHOR: services-after
curl -s "$API/api/http/services" | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    for url, status in sorted(s.get("serverStatus", {}).items()):
        print("%-22s %-26s %s" % (s["name"], url, status))'
for i in 1 2 3 4; do
  curl -s -o /dev/null -D - -H 'Host: demo.res.ch' "$WEB/" | grep -i '^x-served-by'
done
# ANCHOR_END: services-after
} >"$OUT"; show services-after
[ "$(grep -c '^static@docker .* UP$' <<<"$out")" -ge 4 ] || fail "after the restart, the proxy should list 4 static servers UP"
[ "$(grep -c '^dynamic-servers1@docker .* UP$' <<<"$out")" -ge 3 ] || fail "after the restart, the proxy should list 3 API servers UP"
distinct 4
static_before=$(grep '^static@docker' <<<"$before" | awk '{print $2}' | sort)
static_after=$(grep '^static@docker' <<<"$out" | awk '{print $2}' | sort)
[ "$static_before" != "$static_after" ] ||
  fail "the static servers came back with the same addresses: nothing visible changed"
fi

if docker_on; then
{
# ANCHOR: check
lab check --docker --url "$WEB" --api-url "$API" --step 5
# ANCHOR_END: check
} >"$OUT"; show check
else
  lab check --url "$WEB" --api-url "$API" --step 5 >"$OUT"; show check
fi
expect " passed"
