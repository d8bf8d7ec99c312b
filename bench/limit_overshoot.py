#!/usr/bin/env python3
"""Limit overshoot across 3 instances (issue #7): zero upstream calls beyond the limit in any window.

A private redis-server, the fake OpenAI upstream (tests/fakes/fake_openai.py, which records
every arrival with its time.monotonic() "t"), and --instances mp-serve processes in Redis mode
with ai_processing.provider=openai pointed at the fake and a per-minute and per-hour limit.
Distinct emails (every one a cache miss) go round robin to all instances at --factor times
the per-minute limit, wait_ms=0, for --duration (75 s by default, so the minute window rolls
over). Then the fake's arrivals give the most upstream calls in any sliding 60 s window
(must be <= requests_per_minute) and the total (must be <= requests_per_hour, the run being
shorter than an hour).

Peer, in the same run: the same instances WITHOUT Redis (each limits alone, so expect about
--instances times the limit in a window), for --peer-duration (65 s by default: long enough
for the minute to roll over once).

Usage: bench/limit_overshoot.py [--duration 75] [--peer-duration 65] [--instances 3]
       [--per-minute 60] [--per-hour 100] [--factor 4] [--window-margin-ms 1000]
       [--build-dir build]
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(port, method, path, body=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"limit_overshoot.py: {what} did not come up in {timeout} s")


class Procs:
    """Every process started, stopped by its own PID (TERM, then KILL after a grace)."""

    def __init__(self):
        self.procs = []

    def start(self, args, **kw):
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, **kw)
        self.procs.append(p)
        return p

    def stop(self, p, grace=10):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(grace)
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self.stop(p)


def max_in_window(ts, width):
    """The most timestamps in any half-open window [a, a + width)."""
    ts = sorted(ts)
    best, j = 0, 0
    for i in range(len(ts)):
        while ts[i] - ts[j] >= width:
            j += 1
        best = max(best, i - j + 1)
    return best


def fire(ports, rate, duration, tag):
    """Distinct emails round robin over ports at `rate` per second in all; returns status counts."""
    counts = {}
    lock = threading.Lock()
    per = rate / len(ports)
    start = time.monotonic()

    def sender(k, port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n = 0
        while True:
            due = start + (n + k / len(ports)) / per
            if due - start >= duration:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            seq = n * len(ports) + k
            body = {"email_id": seq, "subject": f"overshoot {tag} {seq}", "sender": "bench@example.com",
                    "request_type": "classification", "priority": "normal", "wait_ms": 0,
                    "content": f"Run {tag}, email {seq}: please confirm the numbers by Friday."}
            try:
                conn.request("POST", "/api/ai/process", json.dumps(body), {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                status = r.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                status = "error"
            with lock:
                counts[status] = counts.get(status, 0) + 1
            n += 1
        conn.close()

    threads = [threading.Thread(target=sender, args=(k, p)) for k, p in enumerate(ports)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


def run(procs, args, fake_port, redis_port, duration, tag, work):
    """One measured run; returns a dict of figures."""
    serve = os.path.join(HERE, args.build_dir, "tools", "mp-serve")
    http_call(fake_port, "POST", "/_reset", {})
    env = dict(os.environ, OPENAI_API_KEY="test-key")
    ports, instances = [], []
    for i in range(args.instances):
        port = free_port()
        cmd = [serve, "--port", str(port), "--threads", "1", "--log-level", "warn",
               "--set", "ai_processing.provider=openai",
               "--set", f"ai_processing.openai.base_url=http://127.0.0.1:{fake_port}/v1",
               "--set", f"ai_processing.rate_limiting.requests_per_minute={args.per_minute}",
               "--set", f"ai_processing.rate_limiting.requests_per_hour={args.per_hour}",
               "--set", f"ai_processing.rate_limiting.window_margin_ms={args.window_margin_ms}",
               "--set", "monitoring.enabled=false"]
        if redis_port:
            cmd += ["--redis", f"redis://127.0.0.1:{redis_port}/0"]
        log = open(os.path.join(work, f"{tag}-{i}.log"), "w")
        instances.append(procs.start(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work))
        ports.append(port)
    for p in ports:
        wait_for(lambda: http_call(p, "GET", "/readyz", timeout=1)[0] == 200, 10, f"mp-serve on {p}")
        if redis_port:
            ready = json.loads(http_call(p, "GET", "/readyz")[1])
            if ready.get("checks", {}).get("redis") != "ok":
                raise RuntimeError(f"limit_overshoot.py: mp-serve on {p} not on Redis: {ready}")
    rate = args.factor * args.per_minute / 60.0
    t0 = time.monotonic()
    counts = fire(ports, rate, duration, tag)
    sent_s = time.monotonic() - t0
    # In-flight calls land; then the instances stop (a drain that called upstream would count too).
    time.sleep(2)
    for p in instances:
        procs.stop(p)
    arrivals = json.loads(http_call(fake_port, "GET", "/_arrivals")[1])["arrivals"]
    ts = [a["t"] for a in arrivals]
    return {
        "sent": sum(counts.values()), "statuses": counts, "sent_s": sent_s, "calls": len(ts),
        "max_minute": max_in_window(ts, 60.0) if ts else 0,
        "span_s": (max(ts) - min(ts)) if ts else 0.0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--duration", type=float, default=75, help="seconds of load in Redis mode (75)")
    ap.add_argument("--peer-duration", type=float, default=65, help="seconds of load without Redis (65)")
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--per-minute", type=int, default=60, help="requests_per_minute (60)")
    ap.add_argument("--per-hour", type=int, default=100, help="requests_per_hour (100; 0: off)")
    ap.add_argument("--factor", type=float, default=4, help="offered load in per-minute limits (4)")
    ap.add_argument("--window-margin-ms", type=int, default=1000, help="rate_limiting.window_margin_ms (1000)")
    ap.add_argument("--build-dir", default="build")
    args = ap.parse_args()

    serve = os.path.join(HERE, args.build_dir, "tools", "mp-serve")
    if not os.access(serve, os.X_OK):
        sys.exit(f"limit_overshoot.py: {serve} missing: run 'make build'")
    for tool in ("redis-server", "redis-cli"):
        if not any(os.access(os.path.join(d, tool), os.X_OK) for d in os.environ["PATH"].split(":")):
            sys.exit(f"limit_overshoot.py: {tool} missing: run 'make deps'")

    procs = Procs()
    # A TERM (the Makefile's Ctrl-C, a timeout) still stops everything started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with tempfile.TemporaryDirectory() as work:
            redis_port = free_port()
            procs.start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no", "--daemonize", "no", "--logfile", os.path.join(work, "redis.log")])
            wait_for(lambda: subprocess.run(["redis-cli", "-p", str(redis_port), "ping"], capture_output=True,
                                            text=True).stdout.strip() == "PONG", 10, "redis-server")
            fake = procs.start(["python3", os.path.join(HERE, "tests", "fakes", "fake_openai.py"), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            m = re.search(r"listening on (\d+)", fake.stdout.readline())
            if not m:
                sys.exit("limit_overshoot.py: the fake upstream did not start")
            fake_port = int(m.group(1))

            L, H, n = args.per_minute, args.per_hour, args.instances
            print(f"== limit overshoot: {n} instances, requests_per_minute={L}, requests_per_hour={H}, "
                  f"window_margin_ms={args.window_margin_ms}, offered {args.factor:g}x the minute limit "
                  f"({args.factor * L / 60:.1f} req/s, distinct emails, wait_ms=0)", flush=True)
            shared = run(procs, args, fake_port, redis_port, args.duration, "redis", work)
            print(f"  redis mode, {args.duration:g} s: {shared['sent']} sent {shared['statuses']}, "
                  f"{shared['calls']} upstream calls over {shared['span_s']:.1f} s, "
                  f"max in any 60 s window {shared['max_minute']}", flush=True)
            peer = run(procs, args, fake_port, None, args.peer_duration, "alone", work)
            print(f"  without redis, {args.peer_duration:g} s: {peer['sent']} sent {peer['statuses']}, "
                  f"{peer['calls']} upstream calls over {peer['span_s']:.1f} s, "
                  f"max in any 60 s window {peer['max_minute']}", flush=True)

            over_min = max(0, shared["max_minute"] - L)
            over_hour = max(0, shared["calls"] - H) if H > 0 else 0
            over = max(over_min, over_hour)
            print()
            print(f"overshoot: {over} calls beyond the limit (max in any 60 s window {shared['max_minute']} of {L}"
                  + (f"; {shared['calls']} in the run of {H} per hour" if H > 0 else
                     f"; {shared['calls']} calls in all") + ")")
            print(f"peer, {n} instances without Redis: max in any 60 s window {peer['max_minute']} of {L} "
                  f"({peer['max_minute'] / L:.2f}x the limit), {peer['calls']} calls in {args.peer_duration:g} s")
            return 1 if over else 0
    finally:
        procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
