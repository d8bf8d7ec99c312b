#!/usr/bin/env bash
# mp-cache flush of 1,000,000 keys: seeds N `mp:cache:v1:<type>:<sha256>` keys (a 200-byte
# value, EX 86400) into a private redis-server on a free loopback port with
# `redis-cli --pipe`, with the index mp-serve writes beside them (ai/cache_index.hpp: per
# type and hour a list of the digests, RPUSHed in batches, EXPIREAT), then times
# `mp-cache flush --yes` against `redis-cli --scan --pattern 'mp:cache:*' | xargs
# redis-cli unlink`, reseeding before each. Prints both times, the ratio peer/mp-cache
# (target >= 3) and the memory the index costs.
# --no-index seeds the keys alone, as something other than mp would have written them:
# then the flush is all sweep (SCAN plus UNLINK).
#
# Usage: bench/cache_flush.sh [--keys 1000000] [--rounds 1] [--build-dir build] [--no-index]
set -euo pipefail

keys=1000000 rounds=1 build_dir=build index=1
while [ $# -gt 0 ]; do
  case "$1" in
    --keys) keys=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-index) index=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "cache_flush.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
cache="$here/$build_dir/tools/mp-cache"
[ -x "$cache" ] || { echo "cache_flush.sh: $cache missing: run 'make build'" >&2; exit 3; }

work=$(mktemp -d)
cleanup() { "$here/tests/harness/redis.sh" stop "$work/redis"; rm -rf "$work"; }
trap cleanup EXIT
# The test suite's private redis-server: a free loopback port, nothing persisted, stopped by PID.
"$here/tests/harness/redis.sh" start "$work/redis" >/dev/null
port=$(cat "$work/redis/port")
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

# One RESP file of N SETs (and the index), written once and piped in before every flush.
python3 - "$keys" "$index" > "$work/seed.resp" <<'PY'
import hashlib, sys, time
n, index = int(sys.argv[1]), sys.argv[2] == "1"
types = [b"classification", b"summary", b"action_items", b"analysis"]
value = bytes(range(200))
out = sys.stdout.buffer
def command(*args):
    out.write(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
hour = int(time.time()) // 3600
expire_at = str((hour + 1) * 3600 + 86400 + 3600).encode()
pending = {t: [] for t in types}
def index_flush(t):
    lst = b"mp:cache:index:v1:" + t + b":" + str(hour).encode()
    command(b"RPUSH", lst, *pending[t])
    command(b"EXPIREAT", lst, expire_at)
    pending[t].clear()
for i in range(n):
    t = types[i % 4]
    digest = hashlib.sha256(str(i).encode()).digest()
    command(b"SET", b"mp:cache:v1:" + t + b":" + digest.hex().encode(), value, b"EX", b"86400")
    if index:
        pending[t].append(digest)
        if len(pending[t]) == 256:  # batches as mp-serve writes them; the list is the same
            index_flush(t)
for t in types:
    if pending[t]:
        index_flush(t)
PY
lists=$(( index ? 4 : 0 ))

seed() {
  cli flushall >/dev/null
  timeout 300 redis-cli -h 127.0.0.1 -p "$port" --pipe < "$work/seed.resp" >/dev/null
  local n
  n=$(cli dbsize)
  [ "$n" -eq $((keys + lists)) ] || { echo "cache_flush.sh: seeded $n keys, wanted $((keys + lists))" >&2; exit 1; }
}
used_memory() { cli info memory | tr -d '\r' | sed -n 's/^used_memory://p'; }

timed() { # command...; prints seconds
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.3f}')"
}

mp_flush() { timeout 300 "$cache" --redis "redis://127.0.0.1:$port/0" flush --yes --format json >/dev/null; }
peer_flush() {
  timeout 300 bash -c "redis-cli -h 127.0.0.1 -p $port --scan --pattern 'mp:cache:*' | xargs redis-cli -h 127.0.0.1 -p $port unlink >/dev/null"
}

best_mp='' best_peer=''
for r in $(seq "$rounds"); do
  seed
  t_mp=$(timed mp_flush)
  [ "$(cli dbsize)" -eq 0 ] || { echo "cache_flush.sh: mp-cache flush left keys behind" >&2; exit 1; }
  seed
  t_peer=$(timed peer_flush)
  [ "$(cli dbsize)" -eq 0 ] || { echo "cache_flush.sh: the redis-cli pipeline left keys behind" >&2; exit 1; }
  echo "round $r: mp-cache flush ${t_mp} s, redis-cli --scan | xargs redis-cli unlink ${t_peer} s ($keys keys)"
  best_mp=$(python3 -c "print(min(float('${best_mp:-inf}'), $t_mp))")
  best_peer=$(python3 -c "print(min(float('${best_peer:-inf}'), $t_peer))")
done

if [ "$index" -eq 1 ]; then # what the index costs in memory and in Redis time, per key
  cli config resetstat >/dev/null
  seed
  cli info commandstats | tr -d '\r' | python3 -c "
import re, sys
usec = {m[1]: int(m[2]) for m in re.finditer(r'cmdstat_(\w+):calls=\d+,usec=(\d+)', sys.stdin.read())}
n = $keys
print(f\"index writes: {(usec.get('rpush', 0) + usec.get('expireat', 0)) / n:.2f} us of Redis a key, against {usec['set'] / n:.2f} for the SET\")"
  with=$(used_memory)
  cli --scan --pattern 'mp:cache:index:*' | xargs redis-cli -h 127.0.0.1 -p "$port" del >/dev/null
  without=$(used_memory)
  echo "index memory: $(( (with - without) / keys )) bytes a key, against $(( without / keys )) for the entry ($(python3 -c "print(f'+{100 * ($with - $without) / $without:.1f}%')"))"
fi

ratio=$(python3 -c "print(f'{$best_peer / $best_mp:.2f}')")
echo "mp-cache flush: ${best_mp} s for $keys keys; redis-cli --scan | xargs redis-cli unlink: ${best_peer} s"
echo "ratio: ${ratio}x faster (target >= 3)"
