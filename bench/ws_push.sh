#!/usr/bin/env bash
# WebSocket push (issue #4): bench/ws_load (build/bench/ws_load) holds 10,000 connections to
# one mp-serve and, side by side in the same run with the same client, to the Node `ws`
# broadcast server in bench/node. Prints, with the targets:
#   idle      mp-serve's RSS per idle connection (VmRSS held - before) / N   (<= 8 KiB)
#   fan-out   deliveries/s broadcasting in bursts to every subscriber  (>= 1,000,000/s, >= 5x node)
#   latency   publish-to-receipt p50/p99 at 10 broadcasts/s            (p99 <= 10 ms), and the
#             machine's floor: the same broadcasts as bare send(2) calls (mp-bench-tcp-floor)
#   delivery  every message reached every subscriber in fan-out and latency (mp-serve: exit 1 if not)
#
# Usage: bench/ws_push.sh [--connections 10000] [--ramp 5000] [--fanout-count 200] [--burst 50]
#        [--payload-bytes 64] [--latency-seconds 10] [--latency-rate 10] [--server-threads 2]
#        [--client-threads 1] [--only idle|fanout|latency] [--no-node] [--out DIR]
#        [--build-dir build] [--serve PATH] [--ws-load PATH]
# --out keeps every ws_load JSON result there. The Node peer needs `make bench-deps`; without
# it the script measures mp-serve alone and says so. Loopback only; raises `ulimit -n` itself.
set -euo pipefail

connections=10000 ramp=5000 fanout_count=200 burst=50 payload=64 latency_seconds=10 latency_rate=10
server_threads=2 client_threads=1 only='' use_node=1 out='' build_dir=build serve='' ws_load=''
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) connections=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    --fanout-count) fanout_count=$2; shift 2 ;;
    --burst) burst=$2; shift 2 ;;
    --payload-bytes) payload=$2; shift 2 ;;
    --latency-seconds) latency_seconds=$2; shift 2 ;;
    --latency-rate) latency_rate=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    --client-threads) client_threads=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --no-node) use_node=0; shift ;;
    --out) out=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --serve) serve=$2; shift 2 ;;
    --ws-load) ws_load=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "ws_push.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$only" in ''|idle|fanout|latency) ;; *) echo "ws_push.sh: --only idle|fanout|latency" >&2; exit 2 ;; esac

here=$(cd "$(dirname "$0")/.." && pwd)
serve=${serve:-$here/$build_dir/tools/mp-serve}
ws_load=${ws_load:-$here/$build_dir/bench/ws_load}
tcp_floor=$here/$build_dir/bench/mp-bench-tcp-floor
for bin in "$serve" "$ws_load" "$tcp_floor"; do
  [ -x "$bin" ] || { echo "ws_push.sh: $bin missing: run 'make build'" >&2; exit 3; }
done
command -v curl >/dev/null || { echo "ws_push.sh: curl missing: run 'make deps'" >&2; exit 3; }
if [ "$use_node" = 1 ]; then
  if ! command -v node >/dev/null; then
    echo "ws_push.sh: node missing: the Node ws peer is skipped (run 'make deps bench-deps')" >&2; use_node=0
  elif [ ! -d "$here/bench/node/node_modules/ws" ]; then
    echo "ws_push.sh: bench/node/node_modules missing: the Node ws peer is skipped (run 'make bench-deps')" >&2
    use_node=0
  fi
fi

# Each side of a loopback connection is a descriptor: the client and the server each need
# one per connection, plus their own.
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((connections + 256)) ]; then
  echo "ws_push.sh: ulimit -n is $(ulimit -n) (hard limit), too low for $connections connections" >&2; exit 3
fi

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
[ -n "$out" ] && mkdir -p "$out"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_healthy() { # port pid name
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "ws_push.sh: $3 did not start" >&2; exit 1
}
# get FILE a.b.c: one field of a ws_load result.
get() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print(str(v).lower() if isinstance(v,bool) else v)' "$1" "$2"; }

mp_port=$(free_port)
"$serve" --port "$mp_port" --threads "$server_threads" --log-level warn \
  --set websocket.max_connections_per_user=$((connections * 2)) \
  --set websocket.max_total_connections=$((connections * 2)) &
mp_pid=$!
pids+=("$mp_pid")
wait_healthy "$mp_port" "$mp_pid" mp-serve
servers="mp"
if [ "$use_node" = 1 ]; then
  node_port=$(free_port)
  node "$here/bench/node/ws_server.js" "$node_port" >"$work/node.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  wait_healthy "$node_port" "$node_pid" "the node ws server"
  servers="mp node"
fi
port_of() { if [ "$1" = mp ]; then echo "$mp_port"; else echo "$node_port"; fi; }
pid_of() { if [ "$1" = mp ]; then echo "$mp_pid"; else echo "$node_pid"; fi; }
name_of() { if [ "$1" = mp ]; then echo mp-serve; else echo "node ws"; fi; }

# load NAME SERVER ARGS...: one ws_load run against SERVER (mp|node); the JSON in $work/NAME.json.
load() {
  local name=$1 server=$2; shift 2
  local port; port=$(port_of "$server")
  "$ws_load" --url "ws://127.0.0.1:$port/ws/optimized?topics=email_updates" --connections "$connections" \
    --ramp-per-second "$ramp" --threads "$client_threads" --watch-pid "$(pid_of "$server")" "$@" \
    >"$work/$name.json" 2>"$work/$name.log" || {
    echo "ws_push.sh: ws_load failed ($name):" >&2; tail -5 "$work/$name.log" >&2; exit 1; }
  [ -n "$out" ] && cp "$work/$name.json" "$out/"
  local failed; failed=$(get "$work/$name.json" failed)
  [ "$failed" = 0 ] || echo "  $name: $failed connections failed: $(get "$work/$name.json" failures)"
  sleep 1 # let the server finish closing before the next run
}
publish_args() { echo --publish-url "http://127.0.0.1:$(port_of "$1")/api/ws/broadcast" --payload-bytes "$payload"; }

# delivery NAME: the completeness check of one publishing run, printed; false when incomplete.
delivery_ok=1
delivery() {
  local f="$work/$1.json" all
  all=$(get "$f" delivered_all)
  printf '  %-14s %s: %s of %s deliveries, per connection %s..%s of %s published, dropped %s, seq gaps %s, lost %s\n' \
    "$1" "$([ "$all" = true ] && echo ok || echo INCOMPLETE)" "$(get "$f" messages)" "$(get "$f" expected)" \
    "$(get "$f" per_connection.min)" "$(get "$f" per_connection.max)" "$(get "$f" published)" \
    "$(get "$f" dropped_events)" "$(get "$f" seq_gaps)" "$(get "$f" lost)"
  [ "$all" = true ] || { [[ $1 == mp-* ]] && delivery_ok=0; }
}
ratio() { awk "BEGIN{printf \"%.2f\", ($2 > 0) ? $1 / $2 : 0}"; }
verdict() { awk "BEGIN{print ($1) ? \"met\" : \"MISSED\"}"; }

echo "ws_push.sh: $connections connections, mp-serve $server_threads threads, ws_load $client_threads thread(s)," \
  "peers: $servers"

if [ -z "$only" ] || [ "$only" = idle ]; then
  echo
  echo "== idle: $connections connections held 3 s"
  for s in $servers; do
    load "$s-idle" "$s" --idle --duration 3
    f="$work/$s-idle.json"
    printf '  %-9s %s connected, RSS %s -> %s KiB: %s KiB per connection; handshake p50 %s ms p99 %s ms\n' \
      "$(name_of "$s")" "$(get "$f" connected)" "$(get "$f" server.rss_kib_before)" "$(get "$f" server.rss_kib_held)" \
      "$(get "$f" server.rss_kib_per_connection)" "$(get "$f" handshake_ms.p50)" "$(get "$f" handshake_ms.p99)"
  done
  per=$(get "$work/mp-idle.json" server.rss_kib_per_connection)
  echo "  mp-serve RSS per idle connection: $per KiB (target <= 8 KiB: $(verdict "$per <= 8"))"
fi

if [ -z "$only" ] || [ "$only" = fanout ]; then
  echo
  echo "== fan-out: $fanout_count broadcasts in bursts of $burst to $connections subscribers, $payload-byte pad"
  for s in $servers; do
    # The client wakes every 20 ms at most: throughput, not latency, so fewer, fuller reads.
    # shellcheck disable=SC2046
    load "$s-fanout" "$s" $(publish_args "$s") --publish-count "$fanout_count" --burst "$burst" \
      --coalesce-us 20000 --duration 120 --drain-timeout 20
    f="$work/$s-fanout.json"
    printf '  %-9s %10s deliveries/s (%s in %s s; publish p50 %s ms; server CPU %s s, client CPU %s s)\n' \
      "$(name_of "$s")" "$(get "$f" deliveries_per_second)" "$(get "$f" messages)" "$(get "$f" delivery_seconds)" \
      "$(get "$f" publish_ms.p50)" "$(get "$f" server.cpu_seconds)" "$(get "$f" client.cpu_seconds)"
  done
  mp_rate=$(get "$work/mp-fanout.json" deliveries_per_second)
  echo "  mp-serve: $mp_rate deliveries/s (target >= 1,000,000: $(verdict "$mp_rate >= 1000000"))"
  if [ "$use_node" = 1 ]; then
    node_rate=$(get "$work/node-fanout.json" deliveries_per_second)
    r=$(ratio "$mp_rate" "$node_rate")
    echo "  ratio mp-serve/node ws: $r (target >= 5: $(verdict "$r >= 5"))"
  fi
fi

if [ -z "$only" ] || [ "$only" = latency ]; then
  count=$((latency_seconds * latency_rate))
  echo
  echo "== latency: $latency_rate broadcasts/s for $latency_seconds s to $connections subscribers"
  for s in $servers; do
    # shellcheck disable=SC2046
    load "$s-latency" "$s" $(publish_args "$s") --publish-rate "$latency_rate" --publish-count "$count" \
      --duration $((latency_seconds + 5)) --drain-timeout 10
    f="$work/$s-latency.json"
    printf '  %-9s p50 %s ms  p90 %s ms  p99 %s ms  max %s ms  (%s deliveries)\n' "$(name_of "$s")" \
      "$(get "$f" latency_ms.p50)" "$(get "$f" latency_ms.p90)" "$(get "$f" latency_ms.p99)" \
      "$(get "$f" latency_ms.max)" "$(get "$f" messages)"
  done
  # The machine's floor, no server at all: one send(2) per connection from as many threads
  # as mp-serve has, read by one epoll thread in another process (bench/tcp_floor.cpp).
  "$tcp_floor" --connections "$connections" --rate "$latency_rate" --count "$count" --warm "$latency_rate" \
    --writers "$server_threads" --payload-bytes $((payload + 120 > 256 ? 256 : payload + 120)) \
    >"$work/floor-latency.json" 2>"$work/floor.log" || {
    echo "ws_push.sh: mp-bench-tcp-floor failed:" >&2; tail -5 "$work/floor.log" >&2; exit 1; }
  [ -n "$out" ] && cp "$work/floor-latency.json" "$out/"
  f="$work/floor-latency.json"
  printf '  %-9s p50 %s ms  p90 %s ms  p99 %s ms  max %s ms  (%s deliveries; CPU %s us to send, %s us to read each)\n' \
    "tcp floor" "$(get "$f" latency_ms.p50)" "$(get "$f" latency_ms.p90)" "$(get "$f" latency_ms.p99)" \
    "$(get "$f" latency_ms.max)" "$(get "$f" deliveries)" "$(get "$f" writer_cpu_us_per_delivery)" \
    "$(get "$f" reader_cpu_us_per_delivery)"
  p99=$(get "$work/mp-latency.json" latency_ms.p99)
  floor_p99=$(get "$f" latency_ms.p99)
  echo "  mp-serve p99: $p99 ms (target <= 10 ms: $(verdict "$p99 <= 10")); the floor's p99: $floor_p99 ms," \
    "mp-serve/floor $(ratio "$p99" "$floor_p99")"
fi

if [ -z "$only" ] || [ "$only" != idle ]; then
  echo
  echo "== delivery: every message to every subscriber"
  for s in $servers; do
    for t in fanout latency; do
      [ -f "$work/$s-$t.json" ] && delivery "$s-$t"
    done
  done
  [ "$delivery_ok" = 1 ] || { echo "ws_push.sh: mp-serve lost messages" >&2; exit 1; }
fi
exit 0
