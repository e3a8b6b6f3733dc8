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
# ANCHOR: recreate
docker compose -f compose/compose.yaml -p servers1 up -d --force-recreate --no-deps static
# ANCHOR_END: recreate
} >"$OUT"; show recreate
sleep 1
out=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: demo.res.ch' "$WEB/")
[ "$out" = 200 ] || fail "the site should answer 200 after the static containers were recreated, got $out"
fi
