#!/usr/bin/env bash
# Lab step 1: the static web server, alone in its container.
source "$(dirname "$0")/lib.sh"
if docker_on; then

CLEANUP+=('docker rm -f step1-static >/dev/null 2>&1 || true')

{
# ANCHOR: build
bash scripts/build-images.sh
# ANCHOR_END: build
} >"$OUT"; show build
expect "${LAB_IMAGE_PREFIX:-http-infra-lab}/static-server"

{
# ANCHOR: run
docker run -d --name step1-static -p 127.0.0.1::80 "${LAB_IMAGE_PREFIX:-http-infra-lab}/static-server"
docker port step1-static 80
# ANCHOR_END: run
} >"$OUT"; show run
expect "127.0.0.1:"

{
# ANCHOR: curl
curl -s -D - -o /dev/null "http://$(docker port step1-static 80)/"    # the headers
curl -s "http://$(docker port step1-static 80)/" | grep '<title>'         # the page's title
# ANCHOR_END: curl
} >"$OUT"; show curl
expect "HTTP/1.1 200"
expect "X-Served-By:"
expect "<title>"

{
# ANCHOR: whoami
docker ps --filter name=step1-static --format '{{.ID}}  {{.Image}}  {{.Ports}}'
# ANCHOR_END: whoami
} >"$OUT"; show whoami
id=$(awk '{print $1}' <<<"$out")
# Headers only (-I): `curl -si … | grep -q` can fail under pipefail, since grep stops reading
# at its first match and curl then dies of SIGPIPE while writing the rest of the page.
headers=$(curl -sI "http://$(docker port step1-static 80)/")
grep -qi "x-served-by: $id" <<<"$headers" ||
  fail "X-Served-By should be the container id $id"

{
# ANCHOR: stop
docker rm -f step1-static
# ANCHOR_END: stop
} >"$OUT"; show stop
fi

if docker_on; then
{
# ANCHOR: check
lab check --docker --url "$WEB" --api-url "$API" --step 1
# ANCHOR_END: check
} >"$OUT"; show check
else
  lab check --url "$WEB" --api-url "$API" --step 1 >"$OUT"; show check
fi
expect " passed"
