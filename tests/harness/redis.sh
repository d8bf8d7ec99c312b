#!/usr/bin/env bash
# Starts or stops a private redis-server for the test suite.
#   redis.sh start DIR   picks a free loopback port, starts redis there, writes DIR/port
#   redis.sh stop DIR    stops the one started in DIR, by its PID
# Nothing is persisted and nothing listens beyond 127.0.0.1.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?state directory}

case "$cmd" in
start)
  command -v redis-server >/dev/null || { echo "redis.sh: redis-server missing: run 'make deps'" >&2; exit 3; }
  mkdir -p "$dir"
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    kill "$(cat "$dir/pid")" || true
  fi
  for _ in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize yes --pidfile "$dir/pid" --logfile "$dir/redis.log" --dir "$dir"
    for _ in $(seq 50); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
        echo "$port" > "$dir/port"
        echo "redis-server on 127.0.0.1:$port (pid $(cat "$dir/pid"))"
        exit 0
      fi
      sleep 0.1
    done
  done
  echo "redis.sh: redis-server did not start; see $dir/redis.log" >&2
  exit 1
  ;;
stop)
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/pid" "$dir/port"
  fi
  ;;
*) echo "redis.sh: unknown command $cmd (start, stop)" >&2; exit 2 ;;
esac
