#!/usr/bin/env bash
# Lab step 3: the reverse proxy with a static configuration. Three containers from an empty
# Docker (compose/step3.yaml, its own compose project `step3` on free ports), the servers'
# addresses written by hand into the proxy's file; then the servers come back with other
# addresses and the proxy, told nothing, sends requests to the wrong place.
source "$(dirname "$0")/lib.sh"

if docker_on; then
CLEANUP+=('docker compose -f compose/step3.yaml down --timeout 2 >/dev/null 2>&1 || true'
          'rm -f compose/step3/routes.yml')

{
# ANCHOR: servers
docker compose -f compose/step3.yaml up -d static
docker compose -f compose/step3.yaml up -d dynamic
docker compose -f compose/step3.yaml ps --format 'table {{.Name}}\t{{.Image}}\t{{.Ports}}'
# ANCHOR_END: servers
} >"$OUT" 2>/dev/null; show servers
expect "step3-static-1"
expect "step3-dynamic-1"

# The addresses, and the file that hard-codes them (a function: the fix below runs it again).
write_routes() {
# ANCHOR: routes
STATIC_IP=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' step3-static-1)
DYNAMIC_IP=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' step3-dynamic-1)
cat >compose/step3/routes.yml <<EOF
http:
  routers:
    static:
      rule: 'Host("demo.res.ch")'
      service: static
    dynamic:
      rule: 'Host("demo.res.ch") && PathPrefix("/api/jokes/")'
      service: dynamic
      middlewares: [dynamic]
  middlewares:
    dynamic:
      stripPrefix:
        prefixes: ["/api/jokes/"]
  services:
    static:
      loadBalancer:
        servers:
          - url: "http://$STATIC_IP:80"
    dynamic:
      loadBalancer:
        servers:
          - url: "http://$DYNAMIC_IP:3000"
EOF
grep -n 'url:' compose/step3/routes.yml
# ANCHOR_END: routes
}
{ write_routes; } >"$OUT"; show routes
expect "url: \"http://"
first_static_ip=$STATIC_IP
first_dynamic_ip=$DYNAMIC_IP

{
# ANCHOR: proxy
docker compose -f compose/step3.yaml up -d proxy
WEB3=http://$(docker compose -f compose/step3.yaml port proxy 80)
API3=http://$(docker compose -f compose/step3.yaml port proxy 8080)
echo "web: $WEB3   API: $API3"
# ANCHOR_END: proxy
} >"$OUT" 2>/dev/null; show proxy
expect "web: http://127.0.0.1:"
# Ready when the site answers through the proxy (at most 10 s).
for _ in $(seq 1 50); do
  curl -fs -o /dev/null -H 'Host: demo.res.ch' "$WEB3/" && break
  sleep 0.2
done
else
  # Without Docker (`lab up`): the local stack's proxy already routes from a file of
  # addresses; the traffic blocks run against it.
  WEB3=$WEB API3=$API
fi

{
# ANCHOR: site
curl -s -D - -o /dev/null -H 'Host: demo.res.ch' "$WEB3/"
# ANCHOR_END: site
} >"$OUT"; show site
expect "HTTP/1.1 200"
expect "text/html"
expect "X-Served-By:"

{
# ANCHOR: api
curl -si -H 'Host: demo.res.ch' "$WEB3/api/jokes/"
# ANCHOR_END: api
} >"$OUT"; show api
expect "HTTP/1.1 200"
expect "application/json"

{
# ANCHOR: other-host
curl -si -H 'Host: example.org' "$WEB3/"
# ANCHOR_END: other-host
} >"$OUT"; show other-host
expect "404"

if docker_on; then
{
# ANCHOR: ports
docker compose -f compose/step3.yaml ps --format 'table {{.Service}}\t{{.Ports}}'
# ANCHOR_END: ports
} >"$OUT"; show ports
# Only the proxy publishes ports: no line of a backend shows "->".
if grep -E '^(static|dynamic)[[:space:]].*->' <<<"$out"; then
  fail "a backend publishes a port: the proxy must be the only entry point"
fi

{
# ANCHOR: check
lab check --docker --project step3 --compose-file compose/step3.yaml --step 3
# ANCHOR_END: check
} >"$OUT"; show check
expect "PASS [step 3] static-config"
expect " passed, 0 failed"

# The break: both servers stop, and start again in the other order. Docker hands out the
# free addresses in order, so each server comes back with the other's old address (or, on an
# engine that allocates serially, with a new one). The `servers` block starts static first, so
# the order of the first addresses is known: started together, the two raced for the first
# address, and when dynamic won, the swap below gave each its own address back (a CI failure).
{
# ANCHOR: swap
docker compose -f compose/step3.yaml stop static dynamic
docker compose -f compose/step3.yaml start dynamic
docker compose -f compose/step3.yaml start static
docker inspect -f '{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' step3-static-1 step3-dynamic-1
# ANCHOR_END: swap
} >"$OUT" 2>/dev/null; show swap
now_static_ip=$(awk '$1 == "/step3-static-1" {print $2}' <<<"$out")
[ -n "$now_static_ip" ] && [ "$now_static_ip" != "$first_static_ip" ] ||
  fail "the static server came back with the same address ($first_static_ip): nothing to show"
sleep 0.5

{
# ANCHOR: broken
curl -s -o /dev/null -w '/            %{http_code}\n' -H 'Host: demo.res.ch' "$WEB3/"
curl -s -o /dev/null -w '/api/jokes/  %{http_code}\n' -H 'Host: demo.res.ch' "$WEB3/api/jokes/"
# ANCHOR_END: broken
} >"$OUT"; show broken
if grep -E ' 200$' <<<"$out"; then
  fail "a request still succeeded with stale addresses ($first_static_ip, $first_dynamic_ip)"
fi

{
# ANCHOR: check-broken
lab check --docker --project step3 --compose-file compose/step3.yaml --step 3
# ANCHOR_END: check-broken
} >"$OUT" || true; show check-broken
expect "FAIL [step 3] static-config"
expect "went stale"

# The fix by hand: the same commands as the `routes` block, with the new addresses. The proxy
# watches the file and routes by it at once; no restart.
{ write_routes; } >/dev/null
sleep 0.5
{
# ANCHOR: fixed
curl -s -o /dev/null -w '/            %{http_code}\n' -H 'Host: demo.res.ch' "$WEB3/"
curl -s -o /dev/null -w '/api/jokes/  %{http_code}\n' -H 'Host: demo.res.ch' "$WEB3/api/jokes/"
# ANCHOR_END: fixed
} >"$OUT"; show fixed
[ "$(grep -c ' 200$' <<<"$out")" -eq 2 ] || fail "after writing the new addresses, both routes should answer 200"

{
# ANCHOR: down
docker compose -f compose/step3.yaml down
rm compose/step3/routes.yml
# ANCHOR_END: down
} >"$OUT" 2>/dev/null; show down
else
  lab check --url "$WEB3" --api-url "$API3" --step 3 >"$OUT"; show check
  expect " passed"
fi
