#!/bin/bash
# Build first: cargo build --release -p proxy --bin proxy --example hello_backend
# Usage: C=64 DUR=5 ROUNDS=2 proxy/scripts/overhead.sh   (PROXY_WORKERS=N sets our threads)
# Bounded comparison on loopback: 3 hello backends; ours, HAProxy, nginx (RR, keep-alive to
# servers); wrk -t2 -c$C -d${DUR}s, interleaved rounds. Everything stops by itself.
set -u
T=${T:-$(git rev-parse --show-toplevel)/target/release}
D=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
ports=()
for i in 1 2 3; do $T/examples/hello_backend b$i 127.0.0.1:0 > $D/b$i.out & done
sleep 0.5
for i in 1 2 3; do ports+=($(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' $D/b$i.out)); done
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cat > $D/dyn.yml <<YML
http:
  routers:
    all: { rule: "PathPrefix(\`/\`)", service: hello }
  services:
    hello:
      loadBalancer:
        servers:
          - url: "http://127.0.0.1:${ports[0]}"
          - url: "http://127.0.0.1:${ports[1]}"
          - url: "http://127.0.0.1:${ports[2]}"
YML
$T/proxy --entrypoints.web.address=127.0.0.1:0 --providers.file.filename=$D/dyn.yml --log.level=error ${PROXY_ARGS:-} > $D/proxy.out &
OURS_PID=$!
HP=$(free_port)
cat > $D/haproxy.cfg <<CFG
global
  nbthread 2
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend f
  bind 127.0.0.1:$HP
  default_backend b
backend b
  balance roundrobin
  http-reuse always
  server s1 127.0.0.1:${ports[0]}
  server s2 127.0.0.1:${ports[1]}
  server s3 127.0.0.1:${ports[2]}
CFG
haproxy -f $D/haproxy.cfg -db > $D/haproxy.log 2>&1 &
HA_PID=$!
NP=$(free_port)
mkdir -p $D/ng
cat > $D/nginx.conf <<CFG
worker_processes 2;
daemon off;
pid $D/ng/nginx.pid;
error_log $D/ng/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $D/ng; proxy_temp_path $D/ng; fastcgi_temp_path $D/ng; uwsgi_temp_path $D/ng; scgi_temp_path $D/ng;
  upstream b { server 127.0.0.1:${ports[0]}; server 127.0.0.1:${ports[1]}; server 127.0.0.1:${ports[2]}; keepalive 256; }
  server { listen 127.0.0.1:$NP; location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
CFG
nginx -c $D/nginx.conf -p $D/ng > /dev/null 2>&1 &
sleep 0.8
WEB=$(sed -n 's/entrypoint web listening on //p' $D/proxy.out)
echo "ours $WEB (pid $OURS_PID, idle $(grep VmRSS /proc/$OURS_PID/status | tr -s ' '))  haproxy :$HP  nginx :$NP"
for url in $WEB/ http://127.0.0.1:$HP/ http://127.0.0.1:$NP/; do curl -s -o /dev/null -w "%{http_code} " $url; done; echo
C=${C:-64}; THREADS=2; [ "$C" -lt 2 ] && THREADS=1
for round in $(seq 1 ${ROUNDS:-2}); do
  for target in "direct http://127.0.0.1:${ports[0]}/" "ours $WEB/" "haproxy http://127.0.0.1:$HP/" "nginx http://127.0.0.1:$NP/"; do
    set -- $target
    out=$(wrk -t$THREADS -c$C -d${DUR:-5}s --latency $2)
    rps=$(echo "$out" | sed -n 's/Requests\/sec: *//p')
    p50=$(echo "$out" | awk '/ 50%/{print $2}')
    p99=$(echo "$out" | awk '/ 99%/{print $2}')
    err=$(echo "$out" | grep -E "Socket errors|Non-2xx" | tr -s ' ' | tr '\n' ' ')
    printf "round %s %-8s c=%-3s %10s req/s  p50 %-8s p99 %-8s %s\n" $round $1 $C "$rps" "$p50" "$p99" "$err"
  done
done
echo "ours RSS after: $(grep -E 'VmHWM' /proc/$OURS_PID/status | tr -s ' ')"
