"""The shared queue (issue #7 item 4): instances behind one Redis share one request queue.

A request accepted by one instance is recorded in Redis before its 202, may be processed by
any instance, and is answered (and long-polled) on any; a kill -9 of an instance mid-run
loses nothing, because its claims are reclaimed by another after the visibility timeout;
a request still queued can be cancelled through any instance. The suite's redis-server
serves these tests in a database of their own; the fake upstream is slow on purpose, so
work is still queued and in flight when the tests look.
"""
import re
import time
import unittest

from harness import FakeUpstream, post_json, wait_until
from test_redis_state import email, openai_server, redis_cmd, suite_redis_port

DB = 7


def metric(server, event):
    """The value of mp_ai_shared_queue_events{event=...} on `server`."""
    text = server.request("GET", "/metrics")[2].decode()
    m = re.search(r'^mp_ai_shared_queue_events\{event="%s"\} (\S+)$' % event, text, re.M)
    return float(m.group(1)) if m else 0.0


class SharedQueue(unittest.TestCase):
    def setUp(self):
        self.port = suite_redis_port()
        self.url = f"redis://127.0.0.1:{self.port}/{DB}"
        redis_cmd(self.port, "FLUSHDB", db=DB)
        self.fake = FakeUpstream()
        self.addCleanup(self.fake.stop)

    def start(self, *extra, workers=1):
        s = openai_server(self.fake, self.url, "--set", f"ai_processing.num_workers={workers}",
                          "--set", f"ai_processing.min_workers={workers}",
                          # The default 20/min would hold back the reruns of a killed instance's work.
                          "--set", "ai_processing.rate_limiting.requests_per_minute=1000", *extra)
        self.addCleanup(s.terminate)
        return s

    def poll(self, server, rid, timeout=30):
        """Long-polls `rid` on `server` until it is final (or `timeout`); returns (status, body)."""
        deadline = time.monotonic() + timeout
        while True:
            s, body = server.get_json(f"/api/ai/requests/{rid}?wait_ms=5000")
            if s != 200 or body["status"] not in ("queued", "processing") or time.monotonic() > deadline:
                return s, body

    def record(self, rid, field="status"):
        return redis_cmd(self.port, "HGET", f"mp:req:{rid}", field, db=DB)

    def test_a_request_accepted_by_a_is_answered_and_long_polled_on_b(self):
        self.fake.script([], default={"delay_ms": 300})
        a, b = self.start(), self.start()
        s, _, queued = post_json(a, "/api/ai/process", email(1, wait_ms=0))
        self.assertEqual((s, queued["status"]), (202, "queued"), queued)
        rid = queued["request_id"]
        # The 202 comes after the request is in Redis: no instance's death can lose it now.
        self.assertIn(self.record(rid), (b"queued", b"processing", b"completed"))
        s, polled = b.get_json(f"/api/ai/requests/{rid}?wait_ms=10000")
        self.assertEqual((s, polled["status"], polled["request_id"]), (200, "completed", rid), polled)
        self.assertIn("summary", polled["result"])
        s, on_a = a.get_json(f"/api/ai/requests/{rid}")
        self.assertEqual((s, on_a["status"]), (200, "completed"), on_a)
        self.assertEqual(on_a["result"], polled["result"])
        self.assertEqual(len(self.fake.arrivals()), 1)
        s, missing = b.get_json("/api/ai/requests/req_00000000000000000000000000000000")
        self.assertEqual((s, missing["error"]["code"]), (404, "not_found"), missing)

    def test_work_accepted_by_one_instance_is_shared_by_all(self):
        self.fake.script([], default={"delay_ms": 400})
        a, b = self.start(), self.start()
        ids = []
        for i in range(8):
            s, _, body = post_json(a, "/api/ai/process", email(10 + i, wait_ms=0))
            self.assertEqual(s, 202, body)
            ids.append(body["request_id"])
        for rid in ids:
            s, body = self.poll(a, rid)
            self.assertEqual((s, body["status"]), (200, "completed"), body)
        self.assertGreater(metric(b, "claimed"), 0, "B has a free worker: it takes some of A's work")
        self.assertGreater(metric(a, "claimed"), 0)
        self.assertEqual(metric(a, "claimed") + metric(b, "claimed"), 8)
        self.assertEqual(len(self.fake.arrivals()), 8)
        self.assertEqual(redis_cmd(self.port, "XLEN", "mp:queue:normal", db=DB), b"0", "finished entries are removed")

    def test_a_batch_accepted_by_a_is_answered_on_b(self):
        self.fake.script([], default={"delay_ms": 100})
        a, b = self.start(), self.start()
        s, _, batch = post_json(a, "/api/ai/batch", [email(50 + i) for i in range(3)])
        self.assertEqual((s, batch["accepted"]), (200, 3), batch)
        for item in batch["results"]:
            self.assertIn(self.record(item["request_id"]), (b"queued", b"processing", b"completed"))
            s, body = self.poll(b, item["request_id"])
            self.assertEqual((s, body["status"]), (200, "completed"), body)

    def test_a_kill_9_mid_run_loses_no_request(self):
        self.fake.script([], default={"delay_ms": 500})
        fast = ("--set", "redis.visibility_timeout_ms=1500")
        a, b = self.start(*fast, workers=2), self.start(*fast, workers=2)
        ids = []
        for i in range(20):
            s, _, body = post_json((a, b)[i % 2], "/api/ai/process", email(100 + i, wait_ms=0))
            self.assertEqual(s, 202, body)
            ids.append(body["request_id"])
        # A holds claims (two running, two waiting for its workers) when it dies.
        self.assertTrue(wait_until(lambda: metric(a, "claimed") >= 4, timeout=5))
        a.kill()
        for rid in ids:
            s, body = self.poll(b, rid)
            self.assertEqual((s, body["status"]), (200, "completed"), (rid, body))
        self.assertGreater(metric(b, "reclaimed"), 0, "B ran what A had claimed")
        arrived = {a["content_sha256"] for a in self.fake.arrivals()}
        self.assertEqual(len(arrived), 20, "every request reached the upstream")
        self.assertEqual(redis_cmd(self.port, "XPENDING", "mp:queue:normal", "mp:workers", db=DB)[0], b"0")

    def test_a_request_that_keeps_losing_its_instance_fails_as_abandoned(self):
        self.fake.script([], default={"delay_ms": 3000})
        once = ("--set", "redis.visibility_timeout_ms=1000", "--set", "redis.max_deliveries=1")
        a = self.start(*once)
        s, _, body = post_json(a, "/api/ai/process", email(500, wait_ms=0))
        self.assertEqual(s, 202, body)
        self.assertTrue(wait_until(lambda: len(self.fake.arrivals()) == 1, timeout=5))
        a.kill()  # mid-call: its one delivery is used up
        b = self.start(*once)
        s, failed = self.poll(b, body["request_id"])
        self.assertEqual((s, failed["status"]), (200, "failed"), failed)
        self.assertIn("abandoned", failed["error"]["message"])
        self.assertEqual(metric(b, "abandoned"), 1)
        self.assertEqual(len(self.fake.arrivals()), 1, "not run again")

    def test_a_queued_request_is_cancelled_through_another_instance(self):
        self.fake.script([], default={"delay_ms": 1000})
        a, b = self.start(), self.start()
        ids = []
        for i in range(6):
            s, _, body = post_json(a, "/api/ai/process", email(200 + i, wait_ms=0))
            ids.append(body["request_id"])
        # Two per instance are claimed (one running, one next); a background one waits in Redis.
        s, _, last = post_json(a, "/api/ai/process", email(300, wait_ms=0, priority="background"))
        self.assertEqual(s, 202, last)
        s, _, data = b.request("DELETE", f"/api/ai/requests/{last['request_id']}")
        self.assertEqual(s, 200, data)
        s, body = a.get_json(f"/api/ai/requests/{last['request_id']}")
        self.assertEqual((s, body["status"]), (200, "cancelled"), body)
        s, _, again = b.request("DELETE", f"/api/ai/requests/{last['request_id']}")
        self.assertEqual(s, 200, again)  # cancelling twice is still cancelled
        for rid in ids:
            s, body = self.poll(b, rid)
            self.assertEqual(body["status"], "completed", body)
        # A request that has run cannot be cancelled any more.
        s, _, late = b.request("DELETE", f"/api/ai/requests/{ids[0]}")
        self.assertIn(s, (404, 409), late)
        self.assertEqual(len(self.fake.arrivals()), 6, "the cancelled request never ran")

    def test_a_shutdown_gives_its_unstarted_claims_back(self):
        self.fake.script([], default={"delay_ms": 600})
        slow = ("--set", "redis.visibility_timeout_ms=60000")
        a, b = self.start(*slow), self.start(*slow)
        ids = []
        for i in range(6):
            s, _, body = post_json(a, "/api/ai/process", email(400 + i, wait_ms=0))
            ids.append(body["request_id"])
        self.assertTrue(wait_until(lambda: metric(a, "claimed") >= 2, timeout=5))
        self.assertEqual(a.terminate(), 0, a.log())
        # Given back, not left for the minute-long visibility timeout (longer than the polls).
        for rid in ids:
            s, body = self.poll(b, rid)
            self.assertEqual(body["status"], "completed", body)
        self.assertGreater(metric(b, "reclaimed"), 0)

    def test_the_consumers_of_stopped_instances_are_removed(self):
        """Each start is a new consumer in the group (once it has read something); once a
        stopped one holds nothing and has been idle for ten visibility timeouts, a live
        instance removes it."""
        self.fake.script([], default={"delay_ms": 300})
        quick = ("--set", "redis.visibility_timeout_ms=500")
        a, b = self.start(*quick), self.start(*quick)
        stream = "mp:queue:normal"

        def owners():
            r = redis_cmd(self.port, "XINFO", "CONSUMERS", stream, "mp:workers", db=DB)
            # Names are host-pid-random; an error reply before the group exists.
            return sorted(int(c[1].decode().split("-")[-2]) for c in r) if isinstance(r, list) else []

        ids = [post_json(a, "/api/ai/process", email(500 + i, wait_ms=0))[2]["request_id"] for i in range(8)]
        for rid in ids:
            self.assertEqual(self.poll(b, rid)[1]["status"], "completed")
        self.assertEqual(owners(), sorted([a.proc.pid, b.proc.pid]), "both took work")
        self.assertEqual(a.terminate(), 0, a.log())
        self.assertTrue(wait_until(lambda: owners() == [b.proc.pid], timeout=20), owners())
        self.assertIn("removed 1 idle consumer", b.log())
        # B keeps its own, and it still takes work.
        s, _, body = post_json(b, "/api/ai/process", email(600, wait_ms=10000))
        self.assertEqual((s, body["status"]), (200, "completed"), body)
    def test_aging_lifts_a_waiting_request_across_the_shared_levels(self):
        """Behind a steady stream of high-priority work a background request is not left for
        last: each aging period it waits in Redis lifts it one level, as in the local queue."""
        self.fake.script([], default={"delay_ms": 150})
        a = self.start("--set", "ai_processing.queue.aging_ms=400")
        s, _, bg = post_json(a, "/api/ai/process", email(700, wait_ms=0, priority="background"))
        self.assertEqual(s, 202, bg)
        highs = [post_json(a, "/api/ai/process", email(701 + i, wait_ms=0, priority="high"))[2]["request_id"]
                 for i in range(16)]
        # 16 x 150 ms of high work; the background one counts as high after 3 x 400 ms.
        s, done = self.poll(a, bg["request_id"])
        self.assertEqual(done["status"], "completed", done)
        waiting = [rid for rid in highs if a.get_json(f"/api/ai/requests/{rid}")[1]["status"] != "completed"]
        self.assertGreaterEqual(len(waiting), 3, "the background request overtook the last high ones")
        for rid in highs:
            self.assertEqual(self.poll(a, rid)[1]["status"], "completed")


if __name__ == "__main__":
    unittest.main()
