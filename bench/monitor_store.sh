#!/usr/bin/env bash
# The metrics history in SQLite: runs mp-bench-store, which prints (a) the batched ingest
# rate for 20, 100 and 1,000 series in writes of 1,000 samples, with bytes per sample on
# disk, beside a naive autocommit INSERT per sample; (b) the report's 24-hour queries
# (20 metrics x avg and p99 at step 300 s over 1.7M one-second samples). About a minute.
# Builds nothing; the files go to a temporary directory (or --dir, kept).
#
# Usage: bench/monitor_store.sh [--build-dir build] [--dir DIR] [--rounds 1] [-- mp-bench-store flags]
set -euo pipefail

build_dir=build dir="" rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "monitor_store.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/$build_dir/bench/mp-bench-store"
[ -x "$bin" ] || { echo "monitor_store.sh: $bin missing: build the mp-bench-store target" >&2; exit 3; }

args=("$@")
[ -n "$dir" ] && args=(--dir "$dir" "${args[@]}")
for round in $(seq 1 "$rounds"); do
  [ "$rounds" -gt 1 ] && echo "round $round of $rounds"
  "$bin" "${args[@]}"
done
