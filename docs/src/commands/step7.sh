#!/usr/bin/env bash
# Lab step 7: round robin for the API, sticky sessions for the site.
source "$(dirname "$0")/lib.sh"

{
# ANCHOR: round-robin
for i in $(seq 1 9); do
  curl -s -o /dev/null -D - -H 'Host: demo.res.ch' "$WEB/api/jokes/" | grep -i '^x-served-by'
done
# ANCHOR_END: round-robin
} >"$OUT"; show round-robin
# Cyclic: request i and request i+n (n servers) went to the same server.
mapfile -t seen < <(served_by_list)
n=$(printf '%s\n' "${seen[@]}" | sort -u | grep -c .)
[ "$n" -ge 2 ] || fail "round robin needs at least 2 API servers, saw $n"
for ((i = 0; i + n < ${#seen[@]}; i++)); do
  [ "${seen[i]}" = "${seen[i + n]}" ] || fail "not cyclic: request $((i + 1)) went to ${seen[i]}, request $((i + n + 1)) to ${seen[i + n]}"
done

{
# ANCHOR: sticky-first
jar=$(mktemp)    # a cookie jar: curl's memory of cookies, like one browser's
curl -s -o /dev/null -D - -c "$jar" -H 'Host: demo.res.ch' "$WEB/" | grep -iE '^(x-served-by|set-cookie)'
# ANCHOR_END: sticky-first
} >"$OUT"; show sticky-first
CLEANUP+=('rm -f "$jar"')
expect "set-cookie: static_cookie="

{
# ANCHOR: sticky-again
for i in 1 2 3 4 5; do
  curl -s -o /dev/null -D - -b "$jar" -H 'Host: demo.res.ch' "$WEB/" | grep -iE '^(x-served-by|set-cookie)'
done
# ANCHOR_END: sticky-again
} >"$OUT"; show sticky-again
same_server
if grep -qi '^set-cookie' <<<"$out"; then fail "a valid sticky cookie must not get a new Set-Cookie"; fi

if docker_on; then
{
# ANCHOR: check
lab check --docker --url "$WEB" --api-url "$API" --step 7
# ANCHOR_END: check
} >"$OUT"; show check
else
  lab check --url "$WEB" --api-url "$API" --step 7 >"$OUT"; show check
fi
expect " passed"
