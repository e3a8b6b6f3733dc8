#!/usr/bin/env bash
# Lab step 6: several nodes per service; requests are spread across them.
source "$(dirname "$0")/lib.sh"

{
# ANCHOR: api
for i in 1 2 3 4 5 6; do
  curl -s -o /dev/null -D - -H 'Host: demo.res.ch' "$WEB/api/jokes/" | grep -i '^x-served-by'
done
# ANCHOR_END: api
} >"$OUT"; show api
distinct 2

{
# ANCHOR: site
for i in 1 2 3 4 5 6; do
  curl -s -o /dev/null -D - -H 'Host: demo.res.ch' "$WEB/" | grep -i '^x-served-by'
done
# ANCHOR_END: site
} >"$OUT"; show site
distinct 2

if docker_on; then
{
# ANCHOR: check
lab check --docker --url "$WEB" --api-url "$API" --step 6
# ANCHOR_END: check
} >"$OUT"; show check
else
  lab check --url "$WEB" --api-url "$API" --step 6 >"$OUT"; show check
fi
expect " passed"
