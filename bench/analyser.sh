#!/usr/bin/env bash
# Local analyser throughput: runs mp-bench-analyser (2,000 distinct generated ~2 KB emails,
# analysed round-robin on one thread) and prints emails/second and the ratio to the
# 20,000/s-per-core target. Builds nothing.
#
# Usage: bench/analyser.sh [--build-dir build] [--seconds 3] [--rounds 1]
set -euo pipefail

build_dir=build seconds=3 rounds=1
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "analyser.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/$build_dir/bench/mp-bench-analyser"
[ -x "$bin" ] || { echo "analyser.sh: $bin missing: build the mp-bench-analyser target" >&2; exit 3; }

for round in $(seq 1 "$rounds"); do
  [ "$rounds" -gt 1 ] && echo "round $round of $rounds"
  "$bin" --seconds "$seconds"
done
