#!/usr/bin/env bash
# What the shared queue (issue #7 item 4) costs a request: mp-bench's ai target (distinct
# emails, so every request misses the caches; each long-polled to its result with --wait)
# against one mp-serve on the local analyser in three modes, side by side in one run:
#   embedded      no Redis (the peer)
#   redis-local   --redis with redis.shared_queue=false (L2 and limits in Redis, queue here)
#   redis-shared  --redis (the default): enqueue, claim and finish through Redis Streams
#   redis-strict  the same with ai_processing.queue.aging_ms=0: what aging costs the claim
# Prints achieved req/s, p50 and p99 (submit to result) for each, and the shared queue's
# p50 over the embedded one's. A private redis-server on a free loopback port, killed by PID.
#
# Usage: bench/shared_queue.sh [--rate 1000] [--duration 10s] [--build-dir build]
set -euo pipefail

rate=1000 duration=10s build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "shared_queue.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
serve="$here/$build_dir/tools/mp-serve" bench="$here/$build_dir/tools/mp-bench"
if [ ! -x "$serve" ] || [ ! -x "$bench" ]; then
  echo "shared_queue.sh: $serve or $bench missing: run 'make build'" >&2
  exit 3
fi

work=$(mktemp -d)
serve_pid=''
stop() { # PID: TERM, wait, then KILL
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}
cleanup() { stop "$serve_pid"; "$here/tests/harness/redis.sh" stop "$work/redis"; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The test suite's private redis-server: a free loopback port, nothing persisted, stopped by PID.
"$here/tests/harness/redis.sh" start "$work/redis" >/dev/null
rport=$(cat "$work/redis/port")

run() { # NAME, mp-serve flags...
  local name=$1; shift
  local port; port=$(free_port)
  redis-cli -p "$rport" flushall >/dev/null
  "$serve" --port "$port" --set monitoring.enabled=false "$@" 2>"$work/$name.log" &
  serve_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/$name.log" && break; sleep 0.05; done
  "$bench" run load --base-url "http://127.0.0.1:$port" --rate "$rate" --duration "$duration" \
    --wait 10s --quiet > "$work/$name.ndjson" || true
  stop "$serve_pid"; serve_pid=
  python3 - "$name" "$work/$name.ndjson" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
s = [json.loads(l) for l in open(path) if '"summary"' in l][-1]
lat = s["latency_ms"]
print(f"{name:13} {s['achieved_rps']:10.0f} {lat['p50']:9.2f} {lat['p99']:9.2f} {s['errors']:7d}")
PY
}

echo "rate $rate req/s for $duration, distinct emails, each waited for (--wait 10s)"
printf '%-13s %10s %9s %9s %7s\n' mode "req/s" "p50 ms" "p99 ms" errors
run embedded | tee "$work/a"
run redis-local --redis "redis://127.0.0.1:$rport/0" --set redis.shared_queue=false | tee "$work/b"
run redis-shared --redis "redis://127.0.0.1:$rport/0" | tee "$work/c"
run redis-strict --redis "redis://127.0.0.1:$rport/0" --set ai_processing.queue.aging_ms=0
python3 - "$work/a" "$work/c" <<'PY'
import sys
a, c = (open(p).read().split() for p in sys.argv[1:3])
print(f"shared queue p50 / embedded p50: {float(c[2]) / max(float(a[2]), 1e-9):.2f}x"
      f" (+{float(c[2]) - float(a[2]):.2f} ms a request)")
PY
