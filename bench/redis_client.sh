#!/usr/bin/env bash
# The Redis client layer (issue #7 item 1): a blocking connection on a dedicated thread
# (mp's choice) against a hiredis async adapter on the Asio reactor, both driven from one
# io_context thread by bench/redis_client.cpp. Starts a private redis-server on a free
# loopback port, seeds one VALUE-byte key, then for each batch size and each K (requests in
# flight) runs both modes, alternating which goes first, --rounds times. Prints the median
# of the rounds per mode and the ratio async/thread of ops/s, p50, p99, the I/O thread's
# CPU per op and the process's CPU per op.
#
# Usage: bench/redis_client.sh [--ks "1 16 256"] [--batches "1 16"] [--requests 100000]
#        [--max-seconds 5] [--rounds 3] [--value-bytes 200] [--build-dir build]
set -euo pipefail

ks="1 16 256" batches="1 16" requests=100000 max_seconds=5 rounds=3 value_bytes=200 build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --ks) ks=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --max-seconds) max_seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --value-bytes) value_bytes=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "redis_client.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/$build_dir/bench/mp-bench-redis-client"
[ -x "$bin" ] || { echo "redis_client.sh: $bin missing: run 'make build'" >&2; exit 3; }
command -v redis-cli >/dev/null || { echo "redis_client.sh: redis-cli missing: run 'make deps'" >&2; exit 3; }

work=$(mktemp -d)
cleanup() { "$here/tests/harness/redis.sh" stop "$work/redis"; rm -rf "$work"; }
trap cleanup EXIT
# The test suite's private redis-server: a free loopback port, nothing persisted, stopped by PID.
"$here/tests/harness/redis.sh" start "$work/redis" >/dev/null
port=$(cat "$work/redis/port")
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

key=mp:bench:rcl
head -c "$value_bytes" /dev/zero | tr '\0' v | cli -x set "$key" >/dev/null
[ "$(cli strlen "$key")" -eq "$value_bytes" ] || { echo "redis_client.sh: seeding $key failed" >&2; exit 1; }

echo "== redis client: redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$port," \
  "GET of a $value_bytes-byte value, $requests requests (at most ${max_seconds} s) per run," \
  "$rounds rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
one() { # mode k batch: appends one JSON line
  timeout $((${max_seconds%.*} + 60)) "$bin" --mode "$1" --url "redis://127.0.0.1:$port/0" --key "$key" \
    --outstanding "$2" --batch "$3" --requests "$requests" --max-seconds "$max_seconds" >> "$work/runs.ndjson"
}
for b in $batches; do
  for k in $ks; do
    for r in $(seq "$rounds"); do
      if [ $((r % 2)) -eq 1 ]; then one thread "$k" "$b"; one async "$k" "$b"; else one async "$k" "$b"; one thread "$k" "$b"; fi
    done
    echo "   batch $b, K $k: done" >&2
  done
done

python3 - "$work/runs.ndjson" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
cols = [("ops_per_s", "ops/s", "{:.0f}"), ("p50_us", "p50 us", "{:.1f}"), ("p99_us", "p99 us", "{:.1f}"),
        ("io_cpu_us_per_op", "I/O thread CPU us/op", "{:.2f}"), ("process_cpu_us_per_op", "process CPU us/op", "{:.2f}")]
print("| batch | K | " + " | ".join(f"{h}: thread / async (ratio)" for _, h, _ in cols) + " |")
print("|---|---|" + "---|" * len(cols))
configs = sorted({(r["batch"], r["outstanding"]) for r in runs})
for b, k in configs:
    med = {m: {c: statistics.median(r[c] for r in runs if (r["batch"], r["outstanding"], r["mode"]) == (b, k, m))
               for c, _, _ in cols} for m in ("thread", "async")}
    cells = [f"{f.format(med['thread'][c])} / {f.format(med['async'][c])} ({med['async'][c] / med['thread'][c]:.2f})"
             for c, _, f in cols]
    print(f"| {b} | {k} | " + " | ".join(cells) + " |")
errors = sum(r["errors"] for r in runs)
print(f"redis client: {len(runs)} runs, median of rounds, ratio async/thread; errors {errors}")
PY
