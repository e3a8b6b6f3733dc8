#!/usr/bin/env bash
# Lab step 2: the dynamic server (jokes API), alone in its container.
source "$(dirname "$0")/lib.sh"
if docker_on; then

CLEANUP+=('docker rm -f step2-jokes >/dev/null 2>&1 || true')

{
# ANCHOR: run
docker run -d --name step2-jokes -p 127.0.0.1::3000 "${LAB_IMAGE_PREFIX:-http-infra-lab}/jokes-api"
docker port step2-jokes 3000
# ANCHOR_END: run
} >"$OUT"; show run
expect "127.0.0.1:"

{
# ANCHOR: curl
curl -si "http://$(docker port step2-jokes 3000)/"
# ANCHOR_END: curl
} >"$OUT"; show curl
expect "HTTP/1.1 200"
expect "application/json"
expect "X-Served-By:"

{
# ANCHOR: stop
docker rm -f step2-jokes
# ANCHOR_END: stop
} >"$OUT"; show stop
fi

if docker_on; then
{
# ANCHOR: check
lab check --docker --url "$WEB" --api-url "$API" --step 2
# ANCHOR_END: check
} >"$OUT"; show check
else
  lab check --url "$WEB" --api-url "$API" --step 2 >"$OUT"; show check
fi
expect " passed"
