#!/usr/bin/env python3
"""Pipeline benchmarks against the fake OpenAI-compatible upstream, on loopback.

  bench/pipeline_bench.py priority   [--background 10000] [--urgent 100] [--service-ms 20]
  bench/pipeline_bench.py limiter    [--limit 30] [--backlog 100] [--duration 150]
  bench/pipeline_bench.py coalescing [--requests 1000] [--distinct 100]
  bench/pipeline_bench.py all

Each prints its figure and the ratio to its target (issue #3), starts its own mp-serve and
fake upstream on free ports, and stops them (by PID) when done. --build-dir picks the build.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Proc:
    def __init__(self, argv, pattern, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env)
        self.port = None
        deadline = time.time() + 15
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if not line:
                break
            m = re.search(pattern, line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.stop()
            raise SystemExit(f"pipeline_bench: {argv[0]} did not start")
        threading.Thread(target=lambda: [None for _ in self.p.stdout], daemon=True).start()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()


def call(port, method, path, body=None, headers=None, timeout=60):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)
    finally:
        conn.close()


def start(args, *sets):
    fake = Proc(["python3", os.path.join(ROOT, "tests", "fakes", "fake_openai.py"), "--port", "0"], r"listening on (\d+)")
    argv = [os.path.join(ROOT, args.build_dir, "tools", "mp-serve"), "--port", "0", "--log-level", "info",
            "--set", "ai_processing.provider=openai",
            "--set", f"ai_processing.openai.base_url=http://127.0.0.1:{fake.port}/v1",
            "--set", "ai_processing.circuit_breaker.failure_threshold=0"]
    for s in sets:
        argv += ["--set", s]
    serve = Proc(argv, r"listening on http://[^:]+:(\d+)", env={"OPENAI_API_KEY": "bench"})
    return fake, serve


def email(i, **kw):
    return dict({"email_id": i, "content": f"Benchmark email {i}: please confirm the schedule.",
                 "request_type": "classification"}, **kw)


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q * len(v) + 0.5)) - 1))]


def bench_priority(args):
    fake, serve = start(args, "ai_processing.num_workers=1", "ai_processing.min_workers=1",
                        "ai_processing.rate_limiting.requests_per_minute=0",
                        "ai_processing.rate_limiting.requests_per_hour=0",
                        "ai_processing.rate_limiting.cost_limit_per_hour=0",
                        f"ai_processing.queue.max_per_level={args.background + 10}",
                        "ai_processing.queue.aging_ms=0", "ai_processing.max_batch=1000")
    try:
        call(fake.port, "POST", "/_script", {"steps": [], "default": {"delay_ms": args.service_ms}})
        for start_i in range(0, args.background, 1000):
            batch = [email(i, priority="background") for i in range(start_i, min(args.background, start_i + 1000))]
            status, body = call(serve.port, "POST", "/api/ai/batch", batch)
            assert status == 200 and body["accepted"] == len(batch), body
        waits, services = [], []
        for k in range(args.urgent):
            status, rec = call(serve.port, "POST", "/api/ai/process",
                               email(10**9 + k, priority="urgent", wait_ms=10000))
            assert rec["status"] == "completed", rec
            waits.append(rec["timings"]["queue_wait_ms"])
            services.append(rec["timings"]["service_ms"])
            time.sleep(args.service_ms * 2.5 / 1000)
        _, summary = call(serve.port, "GET", "/api/performance/metrics")
        depth = summary["ai"]["queue_depth"]["background"]
        service = sorted(services)[len(services) // 2]
        p99 = percentile(waits, 0.99)
        print(f"priority: {args.background} background queued (still {depth} queued at the end), "
              f"{args.urgent} urgent requests")
        print(f"  urgent queue wait p50 {percentile(waits, 0.5):.2f} ms, p99 {p99:.2f} ms; "
              f"one service time (median) {service:.2f} ms")
        print(f"  ratio p99 wait / service time: {p99 / service:.2f} (target < 1.00)")
        return p99 < service
    finally:
        serve.stop()
        fake.stop()


def bench_limiter(args):
    fake, serve = start(args, f"ai_processing.rate_limiting.requests_per_minute={args.limit}",
                        "ai_processing.rate_limiting.requests_per_hour=0",
                        "ai_processing.rate_limiting.cost_limit_per_hour=0", "ai_processing.max_batch=1000")
    try:
        batch = [email(i) for i in range(args.backlog)]
        status, body = call(serve.port, "POST", "/api/ai/batch", batch)
        assert status == 200, body
        t0 = time.monotonic()
        time.sleep(args.duration)
        _, data = call(fake.port, "GET", "/_arrivals")
        times = sorted(a["t"] for a in data["arrivals"])
        # Most: any 60 s window (sliding, anchored at each arrival). Least: the use of each
        # whole minute from the first arrival while requests were still waiting, i.e.
        # does the limiter leave capacity unused when there is a backlog.
        most = max(sum(1 for u in times[i:] if u < t + 60) for i, t in enumerate(times))
        least = None
        k = 0
        while times and times[0] + (k + 1) * 60 <= times[-1]:
            n = sum(1 for u in times if times[0] + k * 60 <= u < times[0] + (k + 1) * 60)
            least = n if least is None else min(least, n)
            k += 1
        print(f"limiter: limit {args.limit}/min, backlog {args.backlog}, {len(times)} arrivals in "
              f"{time.monotonic() - t0:.0f} s")
        print(f"  most arrivals in any 60 s window: {most} (target <= {args.limit}); "
              f"fewest in a whole minute while backlog remained: {least} (target >= {args.limit - 1})")
        print(f"  ratio most/limit: {most / args.limit:.2f} (target <= 1.00)")
        return most <= args.limit and (least is None or least >= args.limit - 1)
    finally:
        serve.stop()
        fake.stop()


def bench_coalescing(args):
    fake, serve = start(args, "ai_processing.rate_limiting.requests_per_minute=0",
                        "ai_processing.rate_limiting.requests_per_hour=0",
                        "ai_processing.rate_limiting.cost_limit_per_hour=0")
    try:
        call(fake.port, "POST", "/_script", {"steps": [], "default": {"delay_ms": 300}})
        reqs = [email(i, content=f"Coalescing email {i % args.distinct}: can you review it?", wait_ms=20000)
                for i in range(args.requests)]
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=200) as pool:
            results = list(pool.map(lambda r: call(serve.port, "POST", "/api/ai/process", r), reqs))
        took = time.monotonic() - t0
        _, data = call(fake.port, "GET", "/_arrivals")
        calls = len(data["arrivals"])
        ok = sum(1 for s, b in results if s == 200 and b["status"] == "completed")
        shared = sum(1 for s, b in results if b and (b["coalesced"] or b["cached"]))
        print(f"coalescing: {args.requests} concurrent requests over {args.distinct} distinct emails in {took:.1f} s")
        print(f"  completed {ok}, answered without a call {shared}, upstream calls {calls} "
              f"(target exactly {args.distinct})")
        print(f"  ratio calls/distinct: {calls / args.distinct:.2f} (target 1.00)")
        return calls == args.distinct and ok == args.requests
    finally:
        serve.stop()
        fake.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", choices=["priority", "limiter", "coalescing", "all"])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--background", type=int, default=10000)
    ap.add_argument("--urgent", type=int, default=100)
    ap.add_argument("--service-ms", type=int, default=20)
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--backlog", type=int, default=100)
    ap.add_argument("--duration", type=int, default=150)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--distinct", type=int, default=100)
    args = ap.parse_args()
    benches = {"priority": bench_priority, "limiter": bench_limiter, "coalescing": bench_coalescing}
    chosen = benches if args.which == "all" else {args.which: benches[args.which]}
    ok = all([fn(args) for fn in chosen.values()])
    sys.exit(0 if ok else 99)


if __name__ == "__main__":
    main()
