#!/usr/bin/env bash
# Lab step 9: the management page (read-only without the token).
source "$(dirname "$0")/lib.sh"

{
# ANCHOR: page
curl -si "$API/manage/"
# ANCHOR_END: page
} >"$OUT"; show page
expect "HTTP/1.1 200"

{
# ANCHOR: no-token
curl -si -X POST "$API/manage/api/services/static/scale"
# ANCHOR_END: no-token
} >"$OUT"; show no-token
grep -qE 'HTTP/1.1 (401|403)' <<<"$out" || fail "an action without the token must be refused (401 or 403)"
