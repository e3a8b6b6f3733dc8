#!/usr/bin/env bash
# Lab step 4: the page updates itself with AJAX calls to the API, through the proxy.
source "$(dirname "$0")/lib.sh"

{
# ANCHOR: page
curl -s -H 'Host: demo.res.ch' "$WEB/" | grep -i '<script'
# ANCHOR_END: page
} >"$OUT"; show page
expect "<script"

{
# ANCHOR: script
curl -s -H 'Host: demo.res.ch' "$WEB/js/app.js" | grep -n 'api/jokes'
# ANCHOR_END: script
} >"$OUT"; show script
expect "/api/jokes/"

{
# ANCHOR: cors
curl -si -H 'Host: demo.res.ch' -H 'Origin: http://evil.example' "$WEB/api/jokes/" | grep -i '^access-control' || echo "no Access-Control-* header: other origins may not read it"
# ANCHOR_END: cors
} >"$OUT"; show cors
expect "no Access-Control"

if docker_on; then
{
# ANCHOR: check
lab check --docker --url "$WEB" --api-url "$API" --step 4
# ANCHOR_END: check
} >"$OUT"; show check
else
  lab check --url "$WEB" --api-url "$API" --step 4 >"$OUT"; show check
fi
expect " passed"
