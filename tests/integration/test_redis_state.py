"""mp-serve in Redis mode (issue #7): two or three instances act as one.

The cache is shared (computed on A, a hit on B: one upstream call), the limits hold for all
instances together (arrivals counted at the fake upstream), a bad --redis is a config error,
and a Redis that goes away mid-run degrades the service instead of stopping it, and comes
back. The suite's redis-server (ctest fixture `redis`) serves the first tests in a database
of their own; the restart test starts and kills a redis-server of its own, by PID.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import FakeUpstream, Server, post_json, run_tool, wait_until

DB = 6


def suite_redis_port():
    with open(os.path.join(os.environ["MP_REDIS_STATE"], "port")) as f:
        return int(f.read())


def redis_cmd(port, *args, db=DB):
    """One command over a raw socket (RESP) in database `db`. Returns the reply: bytes for
    status, integer and bulk replies (None for a nil), a list for an array."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        payload = "".join(f"*{len(c)}\r\n" + "".join(f"${len(str(a))}\r\n{a}\r\n" for a in c)
                          for c in (["SELECT", str(db)], list(args)))
        s.sendall(payload.encode())
        f = s.makefile("rb")

        def read():
            line = f.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2]
            if kind == b"*":
                return [read() for _ in range(int(rest))]
            return rest

        read()  # SELECT's +OK
        return read()


def email(i, **extra):
    e = {"email_id": i, "subject": f"Report {i}", "sender": "carol@example.com",
         "content": f"Please review the report number {i} before the meeting.", "request_type": "summary"}
    e.update(extra)
    return e


def openai_server(fake, redis_url, *extra):
    return Server("--redis", redis_url, "--set", "ai_processing.provider=openai",
                  "--set", f"ai_processing.openai.base_url={fake.base_url}",
                  "--set", "ai_processing.retry.base_delay_ms=50",
                  "--set", "ai_processing.circuit_breaker.failure_threshold=0",
                  "--set", "monitoring.enabled=false", *extra, env={"OPENAI_API_KEY": "test-key"})


class SharedState(unittest.TestCase):
    def setUp(self):
        self.port = suite_redis_port()
        self.url = f"redis://127.0.0.1:{self.port}/{DB}"
        redis_cmd(self.port, "FLUSHDB")
        self.fake = FakeUpstream()
        self.addCleanup(self.fake.stop)

    def start(self, *extra):
        s = openai_server(self.fake, self.url, *extra)
        self.addCleanup(s.terminate)
        return s

    def test_a_result_computed_on_a_is_a_hit_on_b(self):
        a, b = self.start(), self.start()
        s, _, first = post_json(a, "/api/ai/process", email(1, wait_ms=10000))
        self.assertEqual((s, first["status"], first["cached"]), (200, "completed", False), first)
        # The L2 write-back is asynchronous (batched): it lands within a moment.
        wait_until(lambda: redis_cmd(self.port, "EXISTS", first_key(a, first)) == b"1", timeout=5)
        s, _, second = post_json(b, "/api/ai/process", email(1, wait_ms=10000))
        self.assertEqual((s, second["status"], second["cached"]), (200, "completed", True), second)
        self.assertEqual(second["result"], first["result"])
        self.assertEqual(len(self.fake.arrivals()), 1, "B must not call the upstream again")
        # B's L1 now has it too, and the servers' counters reached the shared stats.
        s, _, third = post_json(b, "/api/ai/process", email(1, wait_ms=10000))
        self.assertTrue(third["cached"])
        self.assertTrue(wait_until(lambda: redis_cmd(self.port, "HGET", "mp:cache:stats", "l2_hits") == b"1", timeout=5))

    def test_a_stored_result_is_in_the_index_mp_cache_flush_reads(self):
        a = self.start()
        s, _, first = post_json(a, "/api/ai/process", email(7, wait_ms=10000))
        self.assertEqual((s, first["status"]), (200, "completed"), first)
        key = first_key(a, first)
        digest = bytes.fromhex(key.rsplit(":", 1)[1])
        hour = int(time.time()) // 3600
        lists = [f"mp:cache:index:v1:summary:{h}" for h in (hour, hour - 1)]  # stored across the hour
        self.assertTrue(wait_until(lambda: any(redis_cmd(self.port, "LRANGE", l, "0", "-1") == [digest]
                                               for l in lists), timeout=5))
        index = next(l for l in lists if redis_cmd(self.port, "EXISTS", l) == b"1")
        # It outlives every key it names: the end of its hour, the TTL (default 1 day), an hour.
        self.assertGreater(int(redis_cmd(self.port, "TTL", index)), 86400)
        self.assertGreater(int(redis_cmd(self.port, "TTL", key)), 86400 - 60)
        out = run_tool("mp-cache", "--redis", self.url, "flush", "--yes")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["deleted"], 1)
        self.assertEqual(redis_cmd(self.port, "EXISTS", key, index), b"0")

    def test_mp_cache_flush_and_del_reach_every_instances_l1(self):
        """A result in A's and B's L1 is not answered from there once mp-cache deleted it
        from Redis: each instance hears of the delete and drops its own copy."""
        a, b = self.start(), self.start()
        # On another database of the same Redis: another deployment, which must not hear it.
        other = openai_server(self.fake, f"redis://127.0.0.1:{self.port}/{DB - 1}")
        self.addCleanup(other.terminate)
        for i in (21, 22):
            s, _, r = post_json(a, "/api/ai/process", email(i, wait_ms=10000))
            self.assertEqual((s, r["cached"]), (200, False), r)
        wait_until(lambda: len(redis_cmd(self.port, "KEYS", "mp:cache:v1:*")) == 2, timeout=5)
        for server in (a, b):  # B fills its L1 from the L2
            for i in (21, 22):
                self.assertTrue(post_json(server, "/api/ai/process", email(i, wait_ms=10000))[2]["cached"])
        self.assertEqual(len(self.fake.arrivals()), 2)
        key = redis_cmd(self.port, "SCAN", "0", "MATCH", "mp:cache:v1:*", "COUNT", "1000")[1][0].decode()
        out = run_tool("mp-cache", "--redis", self.url, "del", key)
        self.assertEqual(out.returncode, 0, out.stderr)
        wait_until(lambda: "dropped 1 L1 entry" in b.log(), timeout=5)
        out = run_tool("mp-cache", "--redis", self.url, "flush", "--yes")
        self.assertEqual(out.returncode, 0, out.stderr)
        r = json.loads(out.stdout)
        self.assertEqual((r["deleted"], r["servers_notified"]), (1, 2), r)
        self.assertTrue(wait_until(lambda: all(s.log().count("dropped 1 L1 entry") == 2 for s in (a, b)),
                                   timeout=5), a.log() + b.log())
        for i in (21, 22):
            s, _, r = post_json(a, "/api/ai/process", email(i, wait_ms=10000))
            self.assertEqual((s, r["cached"]), (200, False), r)
        wait_until(lambda: len(redis_cmd(self.port, "KEYS", "mp:cache:v1:*")) == 2, timeout=5)
        for server in (a, b):  # the shared queue may have run either on B: both now hold both
            for i in (21, 22):
                self.assertTrue(post_json(server, "/api/ai/process", email(i, wait_ms=10000))[2]["cached"])
        self.assertEqual(len(self.fake.arrivals()), 4, "computed again once, then shared through the L2")
        # import --replace rewrites a value: the instances drop their old copy and read the new one.
        line = json.loads(run_tool("mp-cache", "--redis", self.url, "export").stdout.splitlines()[0])
        line["value"]["summary"] = "rewritten by an import"
        out = run_tool("mp-cache", "--redis", self.url, "import", "--replace", stdin=json.dumps(line) + "\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(wait_until(lambda: all(s.log().count("dropped 1 L1 entry") == 3 for s in (a, b)), timeout=5),
                        a.log() + b.log())
        self.assertNotIn("dropped", other.log())
        answers = [post_json(server, "/api/ai/process", email(i, wait_ms=10000))[2]
                   for server in (a, b) for i in (21, 22)]
        self.assertEqual(sum(r["result"]["summary"] == "rewritten by an import" for r in answers), 2, answers)

    def test_the_rate_limit_holds_across_instances(self):
        limit = ("--set", "ai_processing.rate_limiting.requests_per_minute=4")
        servers = [self.start(*limit) for _ in range(3)]
        for i in range(15):
            s, _, body = post_json(servers[i % 3], "/api/ai/process", email(100 + i, wait_ms=0))
            self.assertIn(s, (200, 202), body)
        wait_until(lambda: len(self.fake.arrivals()) >= 4, timeout=10)
        time.sleep(1.5)  # anything over the limit would have arrived by now
        self.assertEqual(len(self.fake.arrivals()), 4, "three instances share one requests/minute window")
        used = redis_cmd(self.port, "ZCARD", "mp:limit:attempts")
        self.assertEqual(used, b"4")

    def test_a_bad_redis_url_is_a_config_error(self):
        r = run_tool("mp-serve", "--port", "0", "--redis", "http://nope")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("redis.url", r.stderr)


def first_key(server, record):
    """The cache key of a record, from the server's shared cache (there is one)."""
    keys = []
    deadline = time.monotonic() + 5
    while not keys and time.monotonic() < deadline:
        keys = redis_cmd(suite_redis_port(), "SCAN", "0", "MATCH", "mp:cache:v1:*", "COUNT", "1000")[1]
        time.sleep(0.05)
    return keys[0].decode() if keys else "mp:cache:v1:none"


class RedisGoesAway(unittest.TestCase):
    """A private redis-server, killed and restarted on the same port mid-run."""

    def start_redis(self):
        self.redis = subprocess.Popen(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", self.dir],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.ping(), timeout=10)

    def ping(self):
        try:
            return redis_cmd(self.redis_port, "PING", db=0) == b"PONG"
        except OSError:
            return False

    def setUp(self):
        if shutil.which("redis-server") is None:
            self.skipTest("redis-server missing: run 'make deps'")
        self.dir = tempfile.mkdtemp(prefix="mp-redis-restart-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.redis_port = s.getsockname()[1]
        self.start_redis()
        self.addCleanup(lambda: self.redis.poll() is None and (self.redis.kill(), self.redis.wait()))

    def test_the_service_degrades_and_recovers(self):
        srv = Server("--redis", f"redis://127.0.0.1:{self.redis_port}/0", "--set", "monitoring.enabled=false")
        self.addCleanup(srv.terminate)
        self.assertEqual(srv.get_json("/readyz")[1]["status"], "ready")
        s, _, first = post_json(srv, "/api/ai/process", email(1, wait_ms=5000))
        self.assertEqual(s, 200, first)

        self.redis.kill()
        self.redis.wait()
        self.assertTrue(wait_until(lambda: srv.get_json("/readyz")[1]["status"] == "degraded", timeout=10),
                        srv.get_json("/readyz"))
        # Still serving: an L1 hit, and new work done by this instance alone.
        s, _, again = post_json(srv, "/api/ai/process", email(1, wait_ms=5000))
        self.assertEqual((s, again["cached"]), (200, True), again)
        s, _, fresh = post_json(srv, "/api/ai/process", email(2, wait_ms=5000), timeout=30)
        self.assertEqual((s, fresh["status"]), (200, "completed"), fresh)
        status, _, metrics = srv.request("GET", "/metrics")
        self.assertIn(b"mp_redis_up 0", metrics)
        # The shared queue was unreachable: the request was queued and run here instead.
        self.assertRegex(metrics, rb'mp_ai_shared_queue_events\{event="local_fallback"\} [1-9]')

        self.start_redis()
        self.assertTrue(wait_until(lambda: srv.get_json("/readyz")[1]["status"] == "ready", timeout=15))
        s, _, third = post_json(srv, "/api/ai/process", email(3, wait_ms=5000))
        self.assertEqual((s, third["status"]), (200, "completed"), third)
        # Through the shared queue again, on a Redis that lost its streams (groups re-created).
        self.assertTrue(wait_until(lambda: redis_cmd(self.redis_port, "HGET", f"mp:req:{third['request_id']}",
                                                     "status", db=0) == b"completed", timeout=5))
        # Back in use: the new result reaches the fresh Redis.
        self.assertTrue(wait_until(lambda: redis_cmd(self.redis_port, "DBSIZE", db=0) != b"0", timeout=5))


if __name__ == "__main__":
    unittest.main()
