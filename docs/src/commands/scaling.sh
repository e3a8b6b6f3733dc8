#!/usr/bin/env bash
# The report's test "dynamic scaling": scale while a client keeps asking; no request fails.
source "$(dirname "$0")/lib.sh"
docker_on || exit 0

{
# ANCHOR: up
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=3
# ANCHOR_END: up
} >"$OUT" 2>&1; show up

{
# ANCHOR: load
# 300 requests in the background (bounded: it stops by itself), counting the status codes.
for i in $(seq 1 300); do
  curl -s -o /dev/null -w '%{http_code}\n' -H 'Host: demo.res.ch' "$WEB/api/jokes/"
done | sort | uniq -c > /tmp/lab-load.txt &
load=$!
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=6
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=2
wait $load
cat /tmp/lab-load.txt
# ANCHOR_END: load
} >"$OUT" 2>&1; show load
expect " 200"
if grep -vE '^ *[0-9]+ 200$' /tmp/lab-load.txt | grep -q .; then
  fail "some requests failed while scaling: $(tr '\n' ' ' </tmp/lab-load.txt)"
fi
rm -f /tmp/lab-load.txt
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=3 >/dev/null 2>&1
