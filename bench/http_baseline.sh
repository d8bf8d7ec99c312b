#!/usr/bin/env bash
# HTTP baseline: wrk against mp-serve GET /healthz and against nginx returning the same
# small JSON body, side by side in one run, same wrk threads and connections, loopback.
# Prints req/s and p99 for both and the ratio mp-serve/nginx (target >= 0.8, goal 1.0).
#
# Usage: bench/http_baseline.sh [--duration 10s] [--connections 64] [--threads 1]
#        [--server-threads 1] [--rounds 2] [--build-dir build]
# Both servers get the same number of workers (--server-threads). On a 2-core machine the
# fair setting is 1 server worker and 1 wrk thread, so neither steals the other's core.
set -euo pipefail

duration=10s connections=64 threads=1 server_threads=1 rounds=2 build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "http_baseline.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
serve="$here/$build_dir/tools/mp-serve"
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || { echo "http_baseline.sh: $tool missing: run 'make deps'" >&2; exit 3; }
done
[ -x "$serve" ] || { echo "http_baseline.sh: $serve missing: run 'make build'" >&2; exit 3; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

mp_port=$(free_port)
"$serve" --port "$mp_port" --threads "$server_threads" --log-level warn &
pids+=($!)

ng_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<NGINX
worker_processes $server_threads;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$ng_port reuseport;
    location = /healthz { default_type application/json; return 200 '{"status":"ok"}'; }
  }
}
NGINX
"$nginx_bin" -c "$work/nginx.conf" -p "$work" &
pids+=($!)

for port in "$mp_port" "$ng_port"; do
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
done

# wrk prints "Requests/sec: N" and, with --latency, "99%  1.23ms".
run() {
  local out; out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency "http://127.0.0.1:$1/healthz")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$rps $p99"
}

best_mp=0 best_ng=0 mp_p99=? ng_p99=?
for r in $(seq "$rounds"); do
  read -r rps p99 < <(run "$mp_port")
  echo "round $r mp-serve: $rps req/s, p99 $p99"
  if awk "BEGIN{exit !($rps > $best_mp)}"; then best_mp=$rps; mp_p99=$p99; fi
  read -r rps p99 < <(run "$ng_port")
  echo "round $r nginx:    $rps req/s, p99 $p99"
  if awk "BEGIN{exit !($rps > $best_ng)}"; then best_ng=$rps; ng_p99=$p99; fi
done

ratio=$(awk "BEGIN{printf \"%.2f\", $best_mp / $best_ng}")
echo
echo "wrk -t$threads -c$connections -d$duration, $server_threads server worker(s), best of $rounds rounds"
printf '%-10s %12s req/s  p99 %s\n' mp-serve "$best_mp" "$mp_p99" nginx "$best_ng" "$ng_p99"
echo "ratio mp-serve/nginx: $ratio (target >= 0.80)"
