#!/usr/bin/env bash
# Load-independent cost per request: our proxy against HAProxy (and nginx) on loopback.
#
#   bash bench/instructions.sh [--requests-secs 8] [--only ours,haproxy,nginx] [--conns 64]
#
# For each proxy, in front of 3 static-server backends (round robin, keep-alive):
#   - user-space instructions per request: the proxy under `valgrind --tool=callgrind`, wrk
#     against it, total instructions minus an idle start-and-stop run, divided by the requests
#     wrk completed. It does not depend on what else runs on the machine.
#   - syscalls, context switches and CPU time per request at full speed: `perf stat` on the
#     proxy's process (`raw_syscalls:sys_enter`, `context-switches`, `task-clock`) during a wrk
#     run. The CPU time is noisy on a shared machine; the counts are not.
# KEEP=DIR keeps the callgrind files (callgrind_annotate DIR/cg-ours-load.*).
# Needs valgrind, perf (linux-perf), wrk, haproxy, nginx. Traffic goes to 127.0.0.1 only; every
# process it starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=8
ONLY=ours,haproxy,nginx
CONNS=64
while [ $# -gt 0 ]; do
  case "$1" in
    --requests-secs) SECS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    *) echo "unknown flag $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
PROXY=${BENCH_PROXY:-target/release/proxy}
STATIC=${BENCH_STATIC_SERVER:-target/release/static-server}
[ -x "$PROXY" ] && [ -x "$STATIC" ] || { echo "build first: cargo build --release -p proxy -p static-server" >&2; exit 1; }

WORK=$(mktemp -d /tmp/instr-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$WORK"/cg-* "$KEEP"/ 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/bench.txt" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2; return 1
}

BPORTS=()
for n in a b c; do
  p=$(free_port); mkdir -p "$WORK/$n"; head -c 100 /dev/zero | tr '\0' 'x' >"$WORK/$n/bench.txt"
  RUST_LOG=warn "$STATIC" --root "$WORK/$n" --listen "127.0.0.1:$p" --instance-id "$n" >"$WORK/$n.log" 2>&1 &
  PIDS+=($!); BPORTS+=("$p")
done
for p in "${BPORTS[@]}"; do wait_port "$p"; done

LPORT=$(free_port)
{
  printf 'http:\n  routers:\n    bench:\n      rule: "PathPrefix(`/`)"\n      service: bench\n'
  printf '  services:\n    bench:\n      loadBalancer:\n        servers:\n'
  for p in "${BPORTS[@]}"; do printf '          - url: "http://127.0.0.1:%s"\n' "$p"; done
} >"$WORK/dyn.yml"
{
  printf 'global\n    maxconn 4096\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n'
  printf 'frontend web\n    bind 127.0.0.1:%s\n    default_backend app\nbackend app\n    balance roundrobin\n' "$LPORT"
  i=0; for p in "${BPORTS[@]}"; do i=$((i+1)); printf '    server s%s 127.0.0.1:%s\n' "$i" "$p"; done
} >"$WORK/haproxy.cfg"
{
  printf 'worker_processes auto;\ndaemon off;\nmaster_process off;\npid %s/nginx.pid;\nerror_log stderr warn;\n' "$WORK"
  printf 'events { worker_connections 4096; }\nhttp {\n  access_log off;\n'
  printf '  client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n' "$WORK" "$WORK" "$WORK" "$WORK" "$WORK"
  printf '  upstream app {\n'
  for p in "${BPORTS[@]}"; do printf '    server 127.0.0.1:%s;\n' "$p"; done
  printf '    keepalive 64;\n  }\n  server {\n    listen 127.0.0.1:%s;\n' "$LPORT"
  printf '    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }\n  }\n}\n'
} >"$WORK/nginx.conf"

cmd_for() { # peer -> command line
  case "$1" in
    ours) echo "env RUST_LOG=warn $PROXY --entrypoints.web.address=127.0.0.1:$LPORT --providers.file.filename=$WORK/dyn.yml" ;;
    haproxy) echo "haproxy -db -f $WORK/haproxy.cfg" ;;
    nginx) echo "nginx -p $WORK -c $WORK/nginx.conf" ;;
  esac
}

wrk_requests() { # log -> requests completed
  awk '/requests in/ {print $1}' "$1"
}

callgrind_total() { # out-file prefix -> summed instructions over every dumped file
  local t=0 v
  for f in "$1"*; do
    v=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

run_callgrind() { # peer load? -> instructions (prints "total requests")
  local peer=$1 load=$2 out="$WORK/cg-$1-$2"
  # shellcheck disable=SC2046
  valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$out.%p" \
    $(cmd_for "$peer") >"$WORK/$peer-cg.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_port "$LPORT"
  local reqs=0
  if [ "$load" = load ]; then
    wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 10s "http://127.0.0.1:$LPORT/bench.txt" >"$WORK/wrk-cg-$peer.log"
    reqs=$(wrk_requests "$WORK/wrk-cg-$peer.log")
  fi
  kill -TERM "$pid" 2>/dev/null || true
  pkill -TERM -P "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  sleep 0.5
  echo "$(callgrind_total "$out") $reqs"
}

echo "| proxy | instructions / req (callgrind, user space) | syscalls / req | context switches / req | CPU µs / req (task-clock, noisy) | req/s under perf stat |"
echo "|---|--:|--:|--:|--:|--:|"
for peer in ${ONLY//,/ }; do
  # Full speed, perf stat on the process tree's main pid (threads included).
  # shellcheck disable=SC2046
  $(cmd_for "$peer") >"$WORK/$peer.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_port "$LPORT"
  wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:$LPORT/bench.txt" >/dev/null
  pids=$(pgrep -d, -P "$pid" || true); pids=${pids:+$pids,}$pid
  perf stat -x, -e raw_syscalls:sys_enter,context-switches,task-clock -p "$pids" -o "$WORK/perf-$peer.txt" -- sleep "$((SECS + 1))" &
  perfpid=$!
  sleep 0.5
  wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$LPORT/bench.txt" >"$WORK/wrk-$peer.log"
  wait "$perfpid" || true
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  reqs=$(wrk_requests "$WORK/wrk-$peer.log")
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk-$peer.log")
  sys=$(awk -F, '/raw_syscalls/ {print $1}' "$WORK/perf-$peer.txt")
  cs=$(awk -F, '/context-switches/ {print $1}' "$WORK/perf-$peer.txt")
  tc=$(awk -F, '/task-clock/ {print $1}' "$WORK/perf-$peer.txt")
  sleep 0.5
  read -r idle _ < <(run_callgrind "$peer" idle)
  read -r total creqs < <(run_callgrind "$peer" load)
  python3 - "$peer" "$idle" "$total" "$creqs" "$sys" "$cs" "$tc" "$reqs" "$rps" <<'EOF'
import sys
peer, idle, total, creqs, sysc, cs, tc, reqs, rps = sys.argv[1:]
creqs, reqs = int(creqs), int(reqs)
ins = (int(total) - int(idle)) / creqs if creqs else float("nan")
# perf counted for SECS+1 s around a SECS s run: the counts are per request of that run.
print(f"| {peer} | {ins:,.0f} | {float(sysc)/reqs:.2f} | {float(cs)/reqs:.3f} | {float(tc)*1000/reqs:.1f} | {float(rps):,.0f} |")
EOF
done
