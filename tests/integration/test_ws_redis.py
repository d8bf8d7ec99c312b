"""WebSocket fan-out across mp-serve instances through Redis (ARCHITECTURE.md, "Across
instances"): a broadcast on one instance reaches the clients of every instance, once and in
order; a client resumes on another instance than the one it left; a trimmed stream gives
a gap; Redis going away leaves each instance serving its own clients, and coming back
restores the fan-out; the pipeline's events cross instances too.

Two or three mp-serve instances on the suite's redis-server (database 8, flushed before
each test); the degraded-mode test starts and kills a redis-server of its own.
"""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import uuid

from harness import Server, post_json, wait_until
from ws_harness import WAIT, WsTest, metric_value

DB = 8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def suite_redis_port():
    state = os.environ.get("MP_REDIS_STATE")
    try:
        with open(os.path.join(state, "port")) as f:
            return int(f.read())
    except (TypeError, OSError, ValueError):
        raise unittest.SkipTest("no suite redis-server: set MP_REDIS_STATE (tests/harness/redis.sh)")


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), "-n", str(DB), *args], capture_output=True, text=True,
                          timeout=10, stdin=subprocess.DEVNULL)


def task(n, **extra):
    return dict({"topic": "task_updates", "type": "task_updated", "data": {"n": n}}, **extra)


def events(frames):
    """The events among `frames` (gap notices and others left out)."""
    return [f for f in frames if "seq" in f]


class Fanout(WsTest):
    def setUp(self):
        self.redis_port = suite_redis_port()
        flushed = redis_cli(self.redis_port, "FLUSHDB")
        self.assertEqual(flushed.stdout.strip(), "OK", flushed.stderr)

    def start(self, *settings, port=None):
        args = ["--redis", f"redis://127.0.0.1:{port or self.redis_port}/{DB}"]
        for s in settings:
            args += ["--set", s]
        server = Server(*args)

        def stop():
            code = server.terminate()
            server.proc.stdout.close()
            server.proc.stderr.close()
            if code != 0:
                raise AssertionError(f"mp-serve exited {code}:\n{server.log()[-4000:]}")
        self.addCleanup(stop)
        return server

    def connected(self, *servers, value=1):
        for s in servers:
            self.wait_metric(s, "mp_ws_redis_connected", lambda v: v == value,
                             f"mp_ws_redis_connected == {value}")

    async def recv_events(self, client, n):
        """The next `n` events of `client`, failing on any other frame but a gap notice."""
        out = []
        while len(out) < n:
            f = await client.recv()
            if f.get("type") == "gap":
                continue
            self.assertIn("seq", f, f"not an event: {client.summary()}")
            out.append(f)
        return out

    async def fence(self, server, *clients):
        """Broadcasts a marker and reads each client up to it; returns what came before."""
        await self.abroadcast(server, {"topic": "task_updates", "type": "marker", "data": {}})
        before = []
        for c in clients:
            frames = []
            while (f := await c.recv())["type"] != "marker":
                frames.append(f)
            before.append(frames)
        return before

    def test_a_broadcast_on_one_instance_reaches_every_instance_once_in_order(self):
        a, b = self.start(), self.start()
        self.connected(a, b)

        async def body():
            ca = await self.ws(a, topics="task_updates")
            cb = await self.ws(b, topics="task_updates")
            for c in (ca, cb):
                await c.recv_type("welcome")
            sent = [await self.abroadcast(a if n % 2 else b, task(n)) for n in range(1, 7)]
            seqs = [r["seq"] for r in sent]
            self.assertEqual(seqs, list(range(seqs[0], seqs[0] + 6)), f"one sequence for both: {sent}")
            self.assertEqual(len({r["id"].split(":")[0] for r in sent}), 1, f"one epoch: {sent}")
            for c in (ca, cb):
                got = await self.recv_events(c, 6)
                self.assertEqual([(f["data"]["n"], f["id"], f["seq"]) for f in got],
                                 [(n, r["id"], r["seq"]) for n, r in zip(range(1, 7), sent)], c.summary())
            # Nothing twice: the next frame of each is the next event.
            self.assertEqual(await self.fence(b, ca, cb), [[], []])
        self.run_async(body())
        self.assertGreaterEqual(self.metric(a, "mp_ws_redis_published_total"), 3)
        self.assertGreaterEqual(self.metric(b, "mp_ws_redis_received_total"), 7)

    def metric(self, server, name, **labels):
        return metric_value(self.metrics(server), name, **labels)

    def test_a_client_that_left_one_instance_resumes_on_another(self):
        a, b = self.start(), self.start()
        self.connected(a, b)

        async def body():
            ca = await self.ws(a, topics="task_updates")
            await ca.recv_type("welcome")
            await self.abroadcast(a, task(1))
            first = (await self.recv_events(ca, 1))[0]
            await ca.close()
            for n, s in ((2, a), (3, b), (4, a)):
                await self.abroadcast(s, task(n))
            # A private topic nobody listens to: a resume on C asks Redis's stream itself.
            mine = [await self.abroadcast(s, {"user_id": "dana", "type": "note", "data": {"n": n}})
                    for n, s in ((1, a), (2, b), (3, a))]
            since = f"task_updates@{first['id']}"
            # B has been listening all along; C starts now and knows only Redis's stream.
            c = await asyncio.to_thread(self.start)
            await asyncio.to_thread(self.connected, c)
            cb = await self.ws(b, since=since)
            cc = await self.ws(c, since=since)
            for client in (cb, cc):
                await client.recv_type("welcome")
                got = [await client.recv() for _ in range(3)]
                self.assertEqual([(f.get("type"), f.get("data", {}).get("n")) for f in got],
                                 [("task_updated", 2), ("task_updated", 3), ("task_updated", 4)], client.summary())
                self.assertEqual([f["seq"] for f in got], [first["seq"] + i for i in (1, 2, 3)], client.summary())
            await self.abroadcast(a, task(5))
            for client in (cb, cc):
                self.assertEqual([f["data"]["n"] for f in await self.recv_events(client, 1)], [5], client.summary())
            self.assertEqual(await self.fence(a, cb, cc), [[], []])
            dana = await self.ws(c, user_id="dana", since=f"user:dana@{mine[0]['id']}")
            await dana.recv_type("welcome")
            got = [await dana.recv() for _ in range(2)]
            self.assertEqual([(f.get("id"), f.get("data", {}).get("n")) for f in got],
                             [(mine[1]["id"], 2), (mine[2]["id"], 3)], dana.summary())
            self.assertEqual(await asyncio.to_thread(self.metric, c, "mp_ws_redis_resumes_total"), 1)
        self.run_async(body())

    def test_a_resume_past_the_trimmed_stream_gets_a_gap(self):
        a, b = self.start("websocket.history_size=3"), self.start("websocket.history_size=3")
        self.connected(a, b)

        async def body():
            ca = await self.ws(a, topics="task_updates")
            await ca.recv_type("welcome")
            await self.abroadcast(a, task(1))
            first = (await self.recv_events(ca, 1))[0]
            await ca.close()
            last = None
            for n in range(2, 12):
                last = await self.abroadcast(a if n % 2 else b, task(n))
            since = f"task_updates@{first['id']}"
            c = await asyncio.to_thread(self.start, "websocket.history_size=3")
            await asyncio.to_thread(self.connected, c)
            for server in (b, c):
                client = await self.ws(server, since=since)
                await client.recv_type("welcome")
                gap = await client.recv_type("gap")
                self.assertEqual({k: gap[k] for k in ("topic", "epoch", "from_seq", "to_seq", "reason")},
                                 {"topic": "task_updates", "epoch": first["epoch"], "from_seq": first["seq"] + 1,
                                  "to_seq": last["seq"] - 3, "reason": "history_expired"}, client.summary())
                got = [await client.recv() for _ in range(3)]
                self.assertEqual([f.get("data", {}).get("n") for f in got], [9, 10, 11], client.summary())
        self.run_async(body())

    def test_without_redis_each_instance_serves_its_own_clients_and_recovers(self):
        if not shutil.which("redis-server"):
            self.skipTest("redis-server missing: run 'make deps'")
        port = free_port()
        workdir = self.enterContext(tempfile.TemporaryDirectory(prefix="mp-wsredis-"))

        def redis_start():
            proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                     "--appendonly", "no", "--dir", workdir],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
            self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait(10)))
            self.assertTrue(wait_until(lambda: subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG",
                timeout=WAIT), "redis-server did not start")
            return proc

        redis = redis_start()
        a, b = self.start(port=port), self.start(port=port)
        self.connected(a, b)

        async def body():
            nonlocal redis
            ca = await self.ws(a, topics="task_updates")
            cb = await self.ws(b, topics="task_updates")
            for c in (ca, cb):
                await c.recv_type("welcome")
            await self.abroadcast(a, task(1))
            for c in (ca, cb):
                self.assertEqual([f["data"]["n"] for f in await self.recv_events(c, 1)], [1], c.summary())
            redis.kill()
            redis.wait(10)
            await asyncio.to_thread(self.connected, a, b, value=0)
            # Local delivery goes on, under a local epoch (announced by a gap notice).
            r = await self.abroadcast(a, task(2))
            got = await self.recv_events(ca, 1)
            self.assertEqual((got[0]["data"]["n"], got[0]["id"]), (2, r["id"]), ca.summary())
            self.assertGreaterEqual(await asyncio.to_thread(self.metric, a, "mp_ws_redis_local_total"), 1)
            redis = await asyncio.to_thread(redis_start)
            await asyncio.to_thread(self.connected, a, b)
            # Cross-instance delivery resumes (the publisher's back-off may keep the first
            # ones local for a few seconds).
            deadline = time.monotonic() + WAIT
            n = 100
            while True:
                n += 1
                await self.abroadcast(a, task(n))
                if await self.event_within(cb, n, 1.0):
                    break
                self.assertLess(time.monotonic(), deadline, f"B never got A's broadcasts again: {cb.summary()}")
            # And the other way, to every client once.
            r = await self.abroadcast(b, task(1000))
            for c in (ca, cb):
                self.assertTrue(await self.event_within(c, 1000, WAIT), c.summary())
                self.assertEqual(c.seen[-1]["seq"], r["seq"], c.summary())
            for frames in await self.fence(b, ca, cb):
                self.assertEqual([f for f in frames if f.get("data", {}).get("n") == 1000], [], frames)
        self.run_async(body())

    async def event_within(self, client, n, timeout):
        """Reads `client` until the event with data n (True), or `timeout` passes (False)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                text = await asyncio.wait_for(client.conn.recv(), left)
            except asyncio.TimeoutError:
                return False
            client.seen.append(json.loads(text))
            if client.seen[-1].get("data", {}).get("n") == n:
                return True
        return False

    def test_an_email_processed_on_one_instance_is_pushed_to_clients_of_another(self):
        a, b = self.start(), self.start()
        self.connected(a, b)
        email_id = f"wsr-{uuid.uuid4().hex[:12]}"
        email = {"email_id": email_id, "subject": "Budget review", "sender": "dan@example.com",
                 "request_type": "analysis", "priority": "high",
                 "content": f"Can we meet on Tuesday to review the budget? Ref {email_id}."}

        async def body():
            cb = await self.ws(b, topics="email_updates")
            await cb.recv_type("welcome")
            status, _, resp = await asyncio.to_thread(post_json, a, "/api/ai/process", email)
            self.assertIn(status, (200, 202), resp)
            self.assertFalse(resp.get("cached"), resp)
            e = await cb.recv_type("email_processed")
            self.assertEqual((e["topic"], e["data"]["email_id"], e["data"]["request_id"], e["data"]["status"]),
                             ("email_updates", email_id, resp["request_id"], "completed"), e)
        self.run_async(body())


if __name__ == "__main__":
    unittest.main()
