#!/usr/bin/env bash
# Cache hits from the L2 only (issue #7): one mp-serve in Redis mode with the L1 off
# (ai_processing.cache.max_bytes=0: MemoryCache::put stores nothing larger than the budget,
# and every entry is), answering POST /api/ai/process from a private redis-server, against
# `redis-benchmark -t get` on the same Redis with the same connections, interleaved rounds.
#   distinct  mp-bench round robin over --emails primed emails (wait_ms 5000): every request
#             is its own L2 GET (no two identical requests in flight, so none coalesce)
#   same      mp-bench with one email on every connection (shown, not the figure: identical
#             requests in flight join one lookup, so most answers need no GET at all)
#   redis     redis-benchmark -t get -c CONNECTIONS on a copy of a primed entry (same value)
# Prints req/s of each, mp-serve's CPU per request, and the ratio distinct/redis.
#
# Usage: bench/l2_hit.sh [--duration 10s] [--connections 50] [--server-threads 1]
#        [--emails 2000] [--rounds 2] [--build-dir build]
set -euo pipefail

duration=10s connections=50 server_threads=1 emails=2000 rounds=2 build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    --emails) emails=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "l2_hit.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
serve="$here/$build_dir/tools/mp-serve"
bench="$here/$build_dir/tools/mp-bench"
for bin in "$serve" "$bench"; do
  [ -x "$bin" ] || { echo "l2_hit.sh: $bin missing: run 'make build'" >&2; exit 3; }
done
for t in redis-benchmark redis-cli; do
  command -v "$t" >/dev/null || { echo "l2_hit.sh: $t missing: run 'make deps'" >&2; exit 3; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
# Reverse order: mp-serve before the Redis it uses (else it logs the outage on its way out).
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
  "$here/tests/harness/redis.sh" stop "$work/redis"
  rm -rf "$work"
}
trap cleanup EXIT
secs=$(python3 -c "v='$duration'; print(float(v[:-1]) * {'s': 1, 'm': 60}[v[-1]] if v[-1] in 'sm' else float(v))")
# The test suite's private redis-server: a free loopback port, nothing persisted, stopped by PID.
"$here/tests/harness/redis.sh" start "$work/redis" >/dev/null
rport=$(cat "$work/redis/port")
rcli() { redis-cli -p "$rport" "$@"; }

mport=$(free_port)
"$serve" --port "$mport" --threads "$server_threads" --log-level warn --redis "redis://127.0.0.1:$rport/0" \
  --set ai_processing.cache.max_bytes=0 --set monitoring.enabled=false &
spid=$!
pids+=("$spid")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$mport/healthz" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$mport/api/ai/process"

# Prime: the emails computed once (local provider) and written back to Redis by the L2 thread;
# requests.ndjson is what mp-bench sends round robin, single.json the one-email body.
python3 - "$mport" "$emails" "$work" <<'PY'
import http.client, json, sys
port, n, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
with open(f"{work}/requests.ndjson", "w") as out:
    for i in range(n):
        body = {"email_id": 1000 + i, "subject": f"Q4 report, part {i}", "sender": "alice@example.com",
                "request_type": "classification", "priority": "normal",
                "content": f"Hi team, please send me section {i} of the Q4 report by Friday. "
                           "Can you also confirm the budget numbers are final? Thanks, Alice",
                "wait_ms": 5000}
        conn.request("POST", "/api/ai/process", json.dumps(body), {"Content-Type": "application/json"})
        r = conn.getresponse(); d = json.loads(r.read())
        if r.status != 200 or d.get("status") != "completed":
            sys.exit(f"l2_hit.sh: priming email {i}: {r.status} {d}")
        out.write(json.dumps({"method": "POST", "path": "/api/ai/process",
                              "headers": {"Content-Type": "application/json"}, "body": body}) + "\n")
        if i == 0:
            open(f"{work}/single.json", "w").write(json.dumps(body))
PY
for _ in $(seq 100); do
  [ "$(rcli --scan --pattern 'mp:cache:v1:*' | wc -l)" -ge "$emails" ] && break; sleep 0.1
done
stored=$(rcli --scan --pattern 'mp:cache:v1:*' | wc -l)
[ "$stored" -ge "$emails" ] || { echo "l2_hit.sh: only $stored of $emails keys reached Redis" >&2; exit 1; }
# Check: a request now is answered 200 "cached":true, and not from the L1.
curl -sf -H 'Content-Type: application/json' -d @"$work/single.json" "$url" | grep -q '"cached":true' \
  || { echo "l2_hit.sh: a primed email is not answered as cached" >&2; exit 1; }
metric() { curl -s "http://127.0.0.1:$mport/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
[ "$(metric mp_ai_cache_entries)" = 0 ] || { echo "l2_hit.sh: the L1 stored entries despite max_bytes=0" >&2; exit 1; }
# redis-benchmark's key (no -r: literally key:__rand_int__) holds the same zstd frame.
rcli copy "$(rcli --scan --pattern 'mp:cache:v1:*' | head -1)" 'key:__rand_int__' >/dev/null
value_bytes=$(rcli strlen 'key:__rand_int__')

cpu_ticks() { awk '{print $14 + $15}' "/proc/$spid/stat"; }
hz=$(getconf CLK_TCK)
field() { python3 -c "import json,sys; d=[json.loads(l) for l in open(sys.argv[1])][-1]
for k in sys.argv[2].split('.'): d=d.get(k, 0) if isinstance(d, dict) else 0
print(d)" "$@"; }
mpbench() { # out-file mp-bench-args...; prints "rps cpu_us_per_request ok"
  local out=$1; shift
  local t0 t1 bpid
  timeout $((${secs%.*} + 30)) "$bench" run load --url "$url" --model closed --max-concurrent-users "$connections" \
    --duration "$duration" --warmup 1s --quiet "$@" > "$out" &
  bpid=$!
  # mp-serve's CPU over the measured time only (after the 1 s warm-up).
  sleep 1.05; t0=$(cpu_ticks); sleep "$secs"; t1=$(cpu_ticks)
  wait "$bpid"
  local rps ok
  rps=$(field "$out" achieved_rps); ok=$(field "$out" status.200)
  python3 -c "rps, t, hz, s = $rps, $((t1 - t0)), $hz, $secs
print(f'{rps:.0f} {1e6 * t / hz / (rps * s):.1f} $ok')"
}
# redis-benchmark counts requests, not time: about --duration at 80k GET/s on this VM.
rb_n=$(python3 -c "print(int(80000 * $secs))")
redisbench() { # prints rps
  timeout $((${secs%.*} * 3 + 30)) redis-benchmark -p "$rport" -t get -c "$connections" -n "$rb_n" -P 1 -q \
    2>/dev/null | tr '\r' '\n' | awk '/requests per second/ {print $2}' | tail -1
}

echo "== l2 hits: $emails primed emails ($value_bytes-byte zstd values), $connections connections," \
  "$duration per run, $server_threads server thread(s), $rounds rounds"
: > "$work/rounds"
for r in $(seq "$rounds"); do
  c0=$(metric mp_ai_cache_coalesced_total); l0=$(metric 'mp_ai_cache_l2_lookups{result="hit"}')
  rcli info commandstats > "$work/cs0"
  read -r d_rps d_cpu d_ok < <(mpbench "$work/d.ndjson" --requests "$work/requests.ndjson")
  c1=$(metric mp_ai_cache_coalesced_total); l1=$(metric 'mp_ai_cache_l2_lookups{result="hit"}')
  rcli info commandstats > "$work/cs1"
  # What Redis did per L2 hit of this run (warm-up included on both sides).
  per_hit=$(python3 - "$work/cs0" "$work/cs1" "$((l1 - l0))" <<'PY'
import re, sys
def calls(f):
    return {m[1]: int(m[2]) for m in re.finditer(r"cmdstat_(\w+):calls=(\d+)", open(f).read())}
a, b, hits = calls(sys.argv[1]), calls(sys.argv[2]), max(int(sys.argv[3]), 1)
d = {k: b[k] - a.get(k, 0) for k in b if b[k] - a.get(k, 0) > 0 and k not in ("info",)}
print(", ".join(f"{k.upper()} {v / hits:.2f}" for k, v in sorted(d.items(), key=lambda kv: -kv[1])))
PY
)
  read -r s_rps s_cpu _ < <(mpbench "$work/s.ndjson" --method POST --header 'Content-Type: application/json' \
    --body "$(cat "$work/single.json")")
  c2=$(metric mp_ai_cache_coalesced_total); l2=$(metric 'mp_ai_cache_l2_lookups{result="hit"}')
  g_rps=$(redisbench)
  echo "$d_rps $s_rps $g_rps $d_cpu $s_cpu" >> "$work/rounds"
  printf '  round %s: distinct %7.0f req/s (%s us CPU/req; %s L2 GET hits, %s coalesced, %s answers 200)\n' \
    "$r" "$d_rps" "$d_cpu" "$((l1 - l0))" "$((c1 - c0))" "$d_ok"
  echo "           Redis commands per L2 hit: $per_hit"
  printf '           same     %7.0f req/s (%s us CPU/req; %s L2 GET hits, %s coalesced)\n' \
    "$s_rps" "$s_cpu" "$((l2 - l1))" "$((c2 - c1))"
  printf '           redis-benchmark -t get -c %s: %7.0f req/s   ratio distinct/redis %.3f\n' \
    "$connections" "$g_rps" "$(python3 -c "print($d_rps / $g_rps)")"
done
errors=$(metric 'mp_ai_cache_l2_lookups{result="error"}')
python3 - "$work/rounds" "$errors" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
d, s, g = ([r[i] for r in rows] for i in range(3))
print(f"l2 hit: best mp-serve {max(d):.0f} req/s (distinct emails, every one an L2 GET), best redis-benchmark "
      f"GET {max(g):.0f} req/s, best-to-best ratio {max(d) / max(g):.3f}, median of round ratios "
      f"{statistics.median(a / b for a, b in zip(d, g)):.3f}; mp-serve CPU per request "
      f"{statistics.median(r[3] for r in rows):.1f} us; one email on every connection (coalesced) "
      f"{max(s):.0f} req/s ({statistics.median(r[4] for r in rows):.1f} us CPU/req); L2 errors {sys.argv[2]}")
PY
