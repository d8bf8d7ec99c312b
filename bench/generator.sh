#!/usr/bin/env bash
# mp-bench as a load generator (issue #6), against nginx from Debian on loopback:
#   ceiling   max req/s of mp-bench (closed model, no think time) vs wrk with the same
#             threads and connections, interleaved rounds; target mp-bench >= 1.0x wrk.
#   fidelity  `mp-bench run load --rate 10000`: achieved rate as mp-bench counts it and as
#             nginx counts it (stub_status, before and after); target within 1%.
#   ws        `mp-bench run load --url ws://...` holding 10,000 connections to mp-serve from one
#             process, with broadcasts at 1/s; prints connections open and delivery.
#   endurance mp-bench's RSS at the start and the end of a --endurance-duration (10m) run at
#             2,000 req/s; target a difference under 5%.
#
# Usage: bench/generator.sh [--only ceiling|fidelity|ws|endurance] [--duration 10s]
#        [--threads 2] [--connections 50] [--rounds 3] [--rate 10000]
#        [--endurance-duration 10m] [--build-dir build]
set -euo pipefail

only='' duration=10s threads=2 connections=50 rounds=3 rate=10000 endurance=10m build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --endurance-duration) endurance=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "generator.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
bench="$here/$build_dir/tools/mp-bench"
serve="$here/$build_dir/tools/mp-serve"
for bin in "$bench" "$serve"; do
  [ -x "$bin" ] || { echo "generator.sh: $bin missing: run 'make build'" >&2; exit 3; }
done
command -v wrk >/dev/null || { echo "generator.sh: wrk missing: run 'make deps'" >&2; exit 3; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || { echo "generator.sh: nginx missing: run 'make deps'" >&2; exit 3; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }
field() { python3 -c "import json,sys; d=[json.loads(l) for l in open(sys.argv[1])][-1]
for k in sys.argv[2].split('.'): d=d[k]
print(d)" "$@"; }

# nginx: one worker, a 2-byte answer, no access log, stub_status for its own count.
ng_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx;
  scgi_temp_path $work/nginx;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$ng_port reuseport backlog=4096;
    location = / { default_type text/plain; return 200 'ok'; }
    location = /status { stub_status; }
  }
}
NGINX
"$nginx_bin" -c "$work/nginx.conf" -p "$work" &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$ng_port/" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$ng_port/"
nginx_requests() { curl -sf "http://127.0.0.1:$ng_port/status" | awk 'NR == 3 {print $3}'; }

if want ceiling; then
  echo "== ceiling: ${threads} threads, ${connections} connections, ${duration} per run, ${rounds} rounds"
  # cpu CMD...: runs CMD with stdout to $work/out; prints its user+system CPU seconds.
  cpu() { python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as out: subprocess.run(sys.argv[2:], stdout=out, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN); print(r.ru_utime + r.ru_stime)' "$work/out" "$@"; }
  secs=$(python3 -c "import re; v='$duration'; print(float(v[:-1]) * {'s': 1, 'm': 60}[v[-1]] if v[-1] in 'sm' else float(v))")
  : > "$work/rounds"
  for r in $(seq "$rounds"); do
    wcpu=$(cpu wrk -t"$threads" -c"$connections" -d"$duration" "$url")
    w=$(awk '/Requests\/sec/ {print $2}' "$work/out")
    mcpu=$(cpu "$bench" run load --url "$url" --model closed --max-concurrent-users "$connections" \
      --threads "$threads" --duration "$duration" --warmup 0 --quiet)
    m=$(field "$work/out" achieved_rps)
    echo "$w $m $wcpu $mcpu" >> "$work/rounds"
    python3 -c "w, m, wc, mc, s = $w, $m, $wcpu, $mcpu, $secs
print(f'  round $r: wrk {w:9.0f} req/s ({1e6 * wc / (w * s):.2f} us CPU/req)   mp-bench {m:9.0f} req/s '
      f'({1e6 * mc / (m * s):.2f} us CPU/req)   ratio {m / w:.2f}')"
  done
  python3 - "$work/rounds" "$secs" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
secs = float(sys.argv[2])
w = [r[0] for r in rows]; m = [r[1] for r in rows]
ratios = [b / a for a, b in zip(w, m)]
wus = statistics.median(1e6 * r[2] / (r[0] * secs) for r in rows)
mus = statistics.median(1e6 * r[3] / (r[1] * secs) for r in rows)
print(f"ceiling: best wrk {max(w):.0f} req/s, best mp-bench {max(m):.0f} req/s, best-to-best {max(m) / max(w):.2f}, "
      f"median of round ratios {statistics.median(ratios):.2f} (target >= 1.0); CPU per request: wrk {wus:.2f} us, "
      f"mp-bench {mus:.2f} us ({wus / mus:.2f}x as efficient)")
PY
fi

if want fidelity; then
  echo "== fidelity: --rate $rate for $duration (after a 2 s warm-up)"
  before=$(nginx_requests)
  "$bench" run load --url "$url" --rate "$rate" --duration "$duration" --warmup 2s --connections "$connections" \
    --threads 1 --quiet > "$work/fidelity.ndjson"
  after=$(nginx_requests)
  achieved=$(field "$work/fidelity.ndjson" achieved_rps)
  target=$(field "$work/fidelity.ndjson" target_rps)
  measured=$(field "$work/fidelity.ndjson" duration_s)
  warm=$(field "$work/fidelity.ndjson" config.warmup_s)
  # nginx's count covers the warm-up (a ramp from rate/10: 0.55 x rate x warm-up requests) and
  # counts stub_status itself once.
  server_rate=$(python3 -c "print(($after - $before - 1 - 0.55 * $rate * $warm) / $measured)")
  printf 'fidelity: target %.0f req/s, mp-bench achieved %.1f (%+.2f%%), nginx saw %.1f (%+.2f%%), late %s, dropped %s, p99 %s ms\n' \
    "$target" "$achieved" "$(python3 -c "print(100 * ($achieved / $target - 1))")" "$server_rate" \
    "$(python3 -c "print(100 * ($server_rate / $target - 1))")" "$(field "$work/fidelity.ndjson" late)" \
    "$(field "$work/fidelity.ndjson" dropped)" "$(field "$work/fidelity.ndjson" latency_ms.p99)"
fi

if want ws; then
  echo "== ws: 10,000 connections to mp-serve from one mp-bench process"
  mp_port=$(free_port)
  key=bench-admin-key
  MP_API_KEYS="$key:admin" "$serve" --port "$mp_port" --threads 1 --log-level warn \
    --set websocket.max_connections_per_user=20000 --set websocket.max_total_connections=20000 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$mp_port/healthz" >/dev/null && break; sleep 0.1; done
  "$bench" run load --url "ws://127.0.0.1:$mp_port/ws" --connections 10000 --ramp-rate 5000 --publish-rate 1 \
    --duration "$duration" --warmup 1s --token "$key" --quiet > "$work/ws.ndjson" &
  bpid=$!
  rss=0
  while kill -0 "$bpid" 2>/dev/null; do
    r=$(awk '/VmRSS/ {print $2}' "/proc/$bpid/status" 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$rss" ] && rss=$r
    sleep 0.5
  done
  wait "$bpid" || { echo "generator.sh: the ws run failed" >&2; exit 1; }
  printf 'ws: %s of %s connections open, handshake p99 %s ms, delivery ratio %s, p99 %s ms, mp-bench peak RSS %s KiB\n' \
    "$(field "$work/ws.ndjson" ws.connections_open)" "$(field "$work/ws.ndjson" ws.connections_target)" \
    "$(field "$work/ws.ndjson" ws.handshake_ms.p99)" "$(field "$work/ws.ndjson" ws.delivery_ratio)" \
    "$(field "$work/ws.ndjson" latency_ms.p99)" "$rss"
fi

if want endurance; then
  echo "== endurance: 2,000 req/s for $endurance, mp-bench RSS sampled every 5 s"
  "$bench" run endurance --url "$url" --rate 2000 --duration "$endurance" --warmup 5s --quiet \
    > "$work/endurance.ndjson" &
  bpid=$!
  pids+=($bpid)
  : > "$work/rss"
  while kill -0 "$bpid" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$bpid/status" 2>/dev/null >> "$work/rss" || true
    sleep 5
  done
  wait "$bpid" || true
  # Start: the first sample after the warm-up (the third, at ~10 s); end: the last one.
  python3 - "$work/rss" "$work/endurance.ndjson" <<'PY'
import json, sys
rss = [int(x) for x in open(sys.argv[1]).read().split()]
summary = [json.loads(l) for l in open(sys.argv[2])][-1]
start, end = rss[min(2, len(rss) - 1)], rss[-1]
print(f"endurance: RSS start {start} KiB, end {end} KiB, change {100 * (end - start) / start:+.2f}% "
      f"(target under 5%), max {max(rss)} KiB; {summary['requests']} requests, achieved "
      f"{summary['achieved_rps']:.1f} req/s, p99 {summary['latency_ms']['p99']} ms")
PY
fi
