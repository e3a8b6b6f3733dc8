#!/usr/bin/env bash
# The report's test "dynamic scaling": scale while a client keeps asking; no request fails.
source "$(dirname "$0")/lib.sh"
docker_on || exit 0

{
# ANCHOR: up
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=3
# ANCHOR_END: up
} >"$OUT"; show up

{
# ANCHOR: load
# A client calls the API for 15 seconds, in the background (it stops by itself), and counts
# the status codes and servers it saw, while the API is scaled from 3 to 6 and down to 2.
(
  end=$((SECONDS + 15))
  while [ $SECONDS -lt $end ]; do
    curl -s -o /dev/null -D - -H 'Host: demo.res.ch' "$WEB/api/jokes/" | tr -d '\r' |
      awk '/^HTTP/ {code=$2} tolower($1)=="x-served-by:" {id=$2} END {print code, id}'
  done | sort | uniq -c >/tmp/lab-load.txt
) &
sleep 2
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=6
sleep 3
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=2
wait
cat /tmp/lab-load.txt
# ANCHOR_END: load
} >"$OUT"; show load
# Every line "<count> 200 <server>": no failed request, no answer without a server.
if grep -vE '^ *[0-9]+ 200 [0-9a-zA-Z_.-]+$' <<<"$out" | grep -q .; then
  fail "some requests failed while scaling: $(tr '\n' ' ' <<<"$out")"
fi
[ "$(grep -c . <<<"$out")" -ge 5 ] || fail "the new API servers got no traffic: $(tr '\n' ' ' <<<"$out")"
rm -f /tmp/lab-load.txt
docker compose -f compose/compose.yaml -p servers1 up -d --no-recreate --scale static=4 --scale dynamic=3 >/dev/null 2>&1
