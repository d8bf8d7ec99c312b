"""mp-serve against a fake OpenAI-compatible upstream over real HTTP: the retry loop,
Retry-After, limits and budget never overshot, coalescing, priority, cancellation."""
import json
import re
import threading
import time
import unittest

from harness import FakeUpstream, Server, post_json, wait_until

EMAIL = {"email_id": 1, "subject": "Status", "sender": "bob@example.com",
         "content": "Can you send the status update today?", "request_type": "classification"}


def openai_server(fake, *extra):
    return Server("--set", "ai_processing.provider=openai",
                  "--set", f"ai_processing.openai.base_url={fake.base_url}",
                  "--set", "ai_processing.retry.base_delay_ms=50",
                  "--set", "ai_processing.circuit_breaker.failure_threshold=0",
                  *extra, env={"OPENAI_API_KEY": "test-key"})


class UpstreamTest(unittest.TestCase):
    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.fake = FakeUpstream()
        cls.server = openai_server(cls.fake, *cls.server_args)

    @classmethod
    def tearDownClass(cls):
        code = cls.server.terminate()
        cls.fake.stop()
        if code != 0:
            raise AssertionError(f"mp-serve exited {code}:\n{cls.server.log()}")

    def setUp(self):
        self.fake.reset()

    def process(self, **fields):
        email = dict(EMAIL, **fields)
        email.setdefault("wait_ms", 15000)
        return post_json(self.server, "/api/ai/process", email, timeout=30)


class RetryLoop(UpstreamTest):
    def test_a_normal_answer_is_validated_and_costed(self):
        s, _, body = self.process(content="A normal call, costed from usage.")
        self.assertEqual(s, 200, body)
        self.assertEqual(body["result"]["category"], "work")
        self.assertEqual(body["attempts"], 1)
        self.assertEqual(body["model"], "gpt-5-nano")
        arrival = self.fake.arrivals()[0]
        self.assertEqual(arrival["headers"].get("authorization"), "Bearer test-key")
        self.assertGreater(body["cost_usd"], 0)
        self.assertLess(body["cost_usd"], 0.001)

    def test_429_with_retry_after_is_honoured(self):
        self.fake.script([{"status": 429, "headers": {"Retry-After": "1"}}])
        s, _, body = self.process(content="Rate limited once.")
        self.assertEqual(s, 200, body)
        self.assertEqual(body["attempts"], 2)
        a = self.fake.arrivals()
        self.assertEqual(len(a), 2)
        self.assertGreaterEqual(a[1]["t"] - a[0]["t"], 0.95)  # waited as told, not the 50 ms back-off

    def test_5xx_and_bad_answers_are_retried(self):
        self.fake.script([{"status": 500}, {"status": 503}, {"malformed": True}])
        s, _, body = self.process(content="Three bad answers, then a good one.")
        self.assertEqual(s, 200, body)
        self.assertEqual(body["attempts"], 4)
        self.assertEqual(len(self.fake.arrivals()), 4)

    def test_an_invalid_schema_answer_is_a_failed_attempt(self):
        self.fake.script([{"invalid_schema": True}])
        s, _, body = self.process(content="Missing category the first time.")
        self.assertEqual(s, 200, body)
        self.assertEqual(body["attempts"], 2)

    def test_400_is_not_retried(self):
        self.fake.script([{"status": 400, "body": {"error": {"message": "bad model"}}}])
        s, _, body = self.process(content="Refused upstream.")
        self.assertEqual(s, 502, body)
        self.assertEqual(body["status"], "failed")
        self.assertEqual(body["attempts"], 1)
        self.assertEqual(body["error"]["upstream_status"], 400)
        self.assertIn("bad model", body["error"]["message"])

    def test_after_the_last_attempt_it_fails_with_the_upstream_error(self):
        self.fake.script([{"status": 503}] * 4)
        s, _, body = self.process(content="Always unavailable.")
        self.assertEqual(s, 502, body)
        self.assertEqual(body["attempts"], 4)
        self.assertEqual(body["error"]["upstream_status"], 503)
        self.assertEqual(len(self.fake.arrivals()), 4)

    def test_failures_are_not_cached(self):
        self.fake.script([{"status": 400}])
        self.process(content="Fails, then works.")
        s, _, body = self.process(content="Fails, then works.")
        self.assertEqual(s, 200)
        self.assertFalse(body["cached"])
        _, _, third = self.process(content="Fails, then works.")
        self.assertTrue(third["cached"])


class Coalescing(UpstreamTest):
    def test_concurrent_duplicates_make_one_call(self):
        self.fake.script([], default={"delay_ms": 1200})
        results = []

        def one(i):
            results.append(self.process(email_id=i, content="The same email, twenty times at once."))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(self.fake.arrivals()), 1)
        self.assertEqual([r[0] for r in results], [200] * 20)
        self.assertEqual(sum(1 for r in results if r[2]["coalesced"]), 19)
        self.assertEqual(len({json.dumps(r[2]["result"], sort_keys=True) for r in results}), 1)


class RateLimit(UpstreamTest):
    server_args = ("--set", "ai_processing.rate_limiting.requests_per_minute=3")

    def test_requests_per_minute_is_never_overshot(self):
        ids = []
        for i in range(6):
            s, _, body = self.process(email_id=i, content=f"limited email {i}", wait_ms=0)
            self.assertIn(s, (200, 202))
            ids.append(body["request_id"])
        wait_until(lambda: len(self.fake.arrivals()) >= 3, timeout=10)
        time.sleep(1.0)  # anything over the limit would have arrived by now
        self.assertEqual(len(self.fake.arrivals()), 3)
        statuses = [json.loads(self.server.request("GET", f"/api/ai/requests/{i}")[2])["status"] for i in ids]
        self.assertEqual(statuses.count("completed"), 3)
        self.assertEqual(statuses.count("queued"), 3)  # limited requests wait; they do not fail
        # A queued request can be cancelled.
        queued = ids[statuses.index("queued")]
        s, _, data = self.server.request("DELETE", f"/api/ai/requests/{queued}")
        self.assertEqual(s, 200, data)
        rec = json.loads(self.server.request("GET", f"/api/ai/requests/{queued}")[2])
        self.assertEqual(rec["status"], "cancelled")


class Budget(UpstreamTest):
    # With max_output_tokens equal to what the fake bills (60), the reservation is close
    # to the real cost, so the budget admits only a few requests an hour.
    server_args = ("--set", "ai_processing.openai.max_output_tokens=60",
                   "--set", "ai_processing.rate_limiting.cost_limit_per_hour=0.0002")

    def test_the_budget_is_never_exceeded(self):
        ids = []
        for i in range(12):
            _, _, body = self.process(email_id=i, content=f"budget email {i} " + "x" * 200, wait_ms=0)
            ids.append(body["request_id"])
        time.sleep(2.0)
        recs = [json.loads(self.server.request("GET", f"/api/ai/requests/{i}")[2]) for i in ids]
        done = [r for r in recs if r["status"] == "completed"]
        spent = sum(r["cost_usd"] for r in done)
        self.assertGreater(len(done), 0)
        self.assertLess(len(done), 12)
        self.assertLessEqual(spent, 0.0002 + 1e-12)
        self.assertEqual(len(self.fake.arrivals()), len(done))
        status, summary = self.server.get_json("/api/performance/metrics")
        self.assertGreaterEqual(summary["ai"]["budget_remaining_usd"], 0)


class Priority(UpstreamTest):
    server_args = ("--set", "ai_processing.num_workers=1", "--set", "ai_processing.min_workers=1")

    def test_urgent_work_overtakes_background_work(self):
        # The filler holds the only worker long enough for the rest to queue behind it,
        # however slow this machine is.
        self.fake.script([{"delay_ms": 1500}], default={"delay_ms": 50})
        post_json(self.server, "/api/ai/process", dict(EMAIL, content="filler", model="filler"))
        wait_until(lambda: len(self.fake.arrivals()) >= 1)
        for i in range(5):
            post_json(self.server, "/api/ai/process",
                      dict(EMAIL, content=f"background {i}", priority="background", model=f"bg-{i}"))
        post_json(self.server, "/api/ai/process", dict(EMAIL, content="urgent", priority="urgent", model="urgent"))
        wait_until(lambda: len(self.fake.arrivals()) >= 7, timeout=20)
        order = [a["model"] for a in self.fake.arrivals()]
        self.assertEqual(order[0], "filler")
        self.assertEqual(order[1], "urgent", order)
        self.assertEqual(order[2:], [f"bg-{i}" for i in range(5)])


class WorkerScaling(UpstreamTest):
    server_args = ("--set", "ai_processing.min_workers=1", "--set", "ai_processing.num_workers=4",
                   "--set", "ai_processing.rate_limiting.requests_per_minute=0")

    def test_the_pool_grows_one_step_a_second_under_a_backlog(self):
        self.fake.script([], default={"delay_ms": 300})
        for i in range(40):
            post_json(self.server, "/api/ai/process", dict(EMAIL, email_id=i, content=f"scaling {i}", wait_ms=0))

        def active():
            text = self.server.request("GET", "/metrics")[2].decode()
            m = re.search(r'^mp_ai_workers\{state="active"\} (\d+)', text, re.M)
            return int(m.group(1)) if m else 0

        self.assertEqual(active(), 1)
        self.assertEqual(wait_until(lambda: active() >= 4, timeout=15), True)
        # It never went past the configured maximum.
        self.assertLessEqual(active(), 4)


class CircuitBreaker(unittest.TestCase):
    def test_consecutive_failures_open_it_and_a_probe_closes_it(self):
        fake = FakeUpstream()
        server = Server("--set", "ai_processing.provider=openai",
                        "--set", f"ai_processing.openai.base_url={fake.base_url}",
                        "--set", "ai_processing.retry.max_attempts=1",
                        "--set", "ai_processing.circuit_breaker.failure_threshold=2",
                        "--set", "ai_processing.circuit_breaker.open_ms=1500", env={"OPENAI_API_KEY": "k"})
        try:
            fake.script([{"status": 500}, {"status": 500}])
            for i in range(2):
                s, _, body = post_json(server, "/api/ai/process", dict(EMAIL, email_id=i, content=f"fails {i}",
                                                                    wait_ms=5000))
                self.assertEqual(body["status"], "failed")
            s, _, body = post_json(server, "/api/ai/process", dict(EMAIL, content="waits for the breaker"))
            self.assertIn(body["status"], ("queued", "processing"))
            time.sleep(0.5)
            self.assertEqual(len(fake.arrivals()), 2)  # open: nothing goes upstream
            status, _, data = server.request("GET", f"/api/ai/requests/{body['request_id']}?wait_ms=5000")
            rec = json.loads(data)
            self.assertEqual(rec["status"], "completed")  # the half-open probe succeeded
            a = fake.arrivals()
            self.assertEqual(len(a), 3)
            self.assertGreaterEqual(a[2]["t"] - a[1]["t"], 1.4)
            text = server.request("GET", "/metrics")[2].decode()
            self.assertIn("mp_ai_circuit_open 0", text)
        finally:
            self.assertEqual(server.terminate(), 0)
            fake.stop()


if __name__ == "__main__":
    unittest.main()
