#!/usr/bin/env bash
# The report's remark: the site's sticky cookie rides along on API calls. Our two answers.
source "$(dirname "$0")/lib.sh"

{
# ANCHOR: set-cookie
jar=$(mktemp)
curl -s -o /dev/null -D - -c "$jar" -H 'Host: demo.res.ch' "$WEB/" | grep -i '^set-cookie'
# ANCHOR_END: set-cookie
} >"$OUT"; show set-cookie
CLEANUP+=('rm -f "$jar"')
expect "static_cookie="
expect "path=/"

{
# ANCHOR: backend-view
curl -s -b "$jar" -H 'Host: demo.res.ch' "$WEB/api/jokes/whoami" | python3 -c '
import json, sys
seen = json.load(sys.stdin)["request"]
print("path the API saw:   ", seen["path"])
print("cookie the API saw: ", seen["headers"].get("cookie", "(none)"))
print("forwarded headers:  ", sorted(h for h in seen["headers"] if h.startswith("x-forwarded")))'
# ANCHOR_END: backend-view
} >"$OUT"; show backend-view
expect "cookie the API saw:  (none)"
expect "path the API saw:    /whoami"
