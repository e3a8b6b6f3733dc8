#!/usr/bin/env bash
# The report's test "some static servers are down": the server a client is pinned to stops;
# the client's next request works, with a new cookie; it stays there when the old one returns.
source "$(dirname "$0")/lib.sh"
docker_on || exit 0

{
# ANCHOR: pin
jar=$(mktemp)
pinned=$(curl -s -o /dev/null -D - -c "$jar" -H 'Host: demo.res.ch' "$WEB/" |
  tr -d '\r' | awk 'tolower($1)=="x-served-by:" {print $2}')
echo "pinned to $pinned"
# ANCHOR_END: pin
} >"$OUT"; show pin
CLEANUP+=('rm -f "$jar"' 'docker start "$pinned" >/dev/null 2>&1')
[ -n "$pinned" ] || fail "no X-Served-By on the site"

{
# ANCHOR: stop
docker stop "$pinned"
# ANCHOR_END: stop
} >"$OUT"; show stop

{
# ANCHOR: after
curl -s -o /dev/null -D - -b "$jar" -c "$jar" -H 'Host: demo.res.ch' "$WEB/" |
  grep -iE '^(HTTP|x-served-by|set-cookie)'
# ANCHOR_END: after
} >"$OUT"; show after
expect "HTTP/1.1 200"
expect "set-cookie: static_cookie="
new=$(served_by_list)
[ "$new" != "$pinned" ] || fail "still served by the stopped server $pinned"

{
# ANCHOR: back
docker start "$pinned"
sleep 1
for i in 1 2 3; do
  curl -s -o /dev/null -D - -b "$jar" -H 'Host: demo.res.ch' "$WEB/" | grep -i '^x-served-by'
done
# ANCHOR_END: back
} >"$OUT"; show back
same_server
[ "$(served_by_list | head -n1)" = "$new" ] || fail "the client should stay on $new after $pinned came back"
