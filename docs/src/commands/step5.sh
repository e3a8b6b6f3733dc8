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
old=$(docker ps -q --filter label=com.docker.compose.project=servers1 --filter label=com.docker.compose.service=static)
{
# ANCHOR: recreate
docker compose -f compose/compose.yaml -p servers1 up -d --force-recreate --no-deps --scale static=4 static
# ANCHOR_END: recreate
} >"$OUT" 2>&1; show recreate
sleep 1
{
# ANCHOR: services-after
curl -s "$API/api/http/services/static@docker" | python3 -c '
import json, sys
for url, status in sorted(json.load(sys.stdin)["serverStatus"].items()):
    print(url, status)'
for i in 1 2 3 4; do
  curl -s -o /dev/null -D - -H 'Host: demo.res.ch' "$WEB/" | grep -i '^x-served-by'
done
# ANCHOR_END: services-after
} >"$OUT"; show services-after
[ "$(grep -c ' UP$' <<<"$out")" -ge 4 ] || fail "after recreating, the proxy should list 4 static servers UP"
distinct 4
for id in $(served_by_list); do
  if grep -qx "$id" <<<"$old"; then fail "$id is an old container: the proxy did not follow"; fi
done
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
