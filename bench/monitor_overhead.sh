#!/usr/bin/env bash
# Collector overhead (issue #5): two idle mp-serve side by side for the same time, one
# collecting every second into SQLite, one with monitoring off. Prints each one's CPU
# (from /proc/PID/stat) and the collector's share of one core (target <= 1%).
#
# Usage: bench/monitor_overhead.sh [--seconds 30] [--build-dir build]
set -euo pipefail

seconds=30 build_dir=build
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "monitor_overhead.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
serve="$here/$build_dir/tools/mp-serve"
[ -x "$serve" ] || { echo "monitor_overhead.sh: $serve missing: run 'make build'" >&2; exit 3; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$serve" --port 0 --log-level warn --set monitoring.collection_interval_seconds=1 \
  --set monitoring.alert_evaluation_interval_seconds=1 --set "monitoring.db_path=$work/on.db" &
pids+=($!)
"$serve" --port 0 --log-level warn --set monitoring.enabled=false &
pids+=($!)
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
a0=$(ticks "${pids[0]}") b0=$(ticks "${pids[1]}")
sleep "$seconds"
a1=$(ticks "${pids[0]}") b1=$(ticks "${pids[1]}")
on=$(awk "BEGIN{printf \"%.3f\", ($a1 - $a0) / $hz}")
off=$(awk "BEGIN{printf \"%.3f\", ($b1 - $b0) / $hz}")
share=$(awk "BEGIN{printf \"%.2f\", 100 * (($a1 - $a0) - ($b1 - $b0)) / $hz / $seconds}")
samples=$(python3 -c "import sqlite3; print(sqlite3.connect('$work/on.db').execute('select count(*) from samples').fetchone()[0])")
echo "idle for $seconds s: collecting every 1 s ${on} s CPU, monitoring off ${off} s CPU"
echo "samples written: $samples ($(awk "BEGIN{printf \"%.0f\", $samples / $seconds}") per tick)"
echo "collector overhead: ${share}% of one core (target <= 1%)"
