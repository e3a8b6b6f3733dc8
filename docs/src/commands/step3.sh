#!/usr/bin/env bash
# Lab step 3: the reverse proxy in front of both servers; the proxy is the only way in.
source "$(dirname "$0")/lib.sh"

{
# ANCHOR: site
curl -si -H 'Host: demo.res.ch' "$WEB/"
# ANCHOR_END: site
} >"$OUT"; show site
expect "HTTP/1.1 200"
expect "text/html"
expect "X-Served-By:"

{
# ANCHOR: api
curl -si -H 'Host: demo.res.ch' "$WEB/api/jokes/"
# ANCHOR_END: api
} >"$OUT"; show api
expect "HTTP/1.1 200"
expect "application/json"

{
# ANCHOR: other-host
curl -si -H 'Host: example.org' "$WEB/"
# ANCHOR_END: other-host
} >"$OUT"; show other-host
expect "404"

if docker_on; then
{
# ANCHOR: ports
docker compose -f compose/compose.yaml -p servers1 ps --format 'table {{.Service}}\t{{.Ports}}'
# ANCHOR_END: ports
} >"$OUT"; show ports
# Only the proxy publishes ports: no line of a backend shows "->".
if grep -E '^(static|dynamic)[[:space:]].*->' <<<"$out"; then
  fail "a backend publishes a port: the proxy must be the only entry point"
fi
fi
