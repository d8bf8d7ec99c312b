"""The AI API on the embedded defaults (local analyser): process, batch, status, cancel,
validation, cache, ownership, metrics."""
import json
import unittest

from harness import Server, ServerTest, post_json

EMAIL = {
    "email_id": 456,
    "subject": "Q4 report due Friday",
    "sender": "alice@example.com",
    "content": "Hi team, please send me your sections of the Q4 report by Friday. "
               "Can you also confirm whether the budget numbers are final? Thanks, Alice",
    "request_type": "analysis",
    "priority": "high",
    "metadata": {"user_id": "anonymous"},
}


class Process(ServerTest):
    def test_first_call_computes_then_the_same_email_is_cached(self):
        email = dict(EMAIL, email_id=1, content=EMAIL["content"] + " (first)")
        status, headers, body = post_json(self.server, "/api/ai/process", dict(email, wait_ms=5000))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "completed")
        self.assertFalse(body["cached"])
        self.assertEqual(body["email_id"], 1)
        result = body["result"]
        for field in ("category", "urgency", "confidence", "needs_reply", "summary", "action_items", "sentiment"):
            self.assertIn(field, result)
        self.assertTrue(body["request_id"].startswith("req_"))
        status, _, again = post_json(self.server, "/api/ai/process", dict(email, email_id="msg-2"))
        self.assertEqual(status, 200)
        self.assertTrue(again["cached"])
        self.assertEqual(again["email_id"], "msg-2")
        self.assertEqual(again["result"], result)
        # A hit has a record too, readable by its id.
        status, _, data = self.server.request("GET", f"/api/ai/requests/{again['request_id']}")
        self.assertEqual(status, 200)
        self.assertTrue(json.loads(data)["cached"])
        self.assertEqual(json.loads(data)["email_id"], "msg-2")
        # It is final: a long poll answers at once, and it cannot be cancelled.
        status, _, data = self.server.request("GET", f"/api/ai/requests/{again['request_id']}?wait_ms=30000")
        self.assertEqual((status, json.loads(data)["status"]), (200, "completed"))
        status, _, _ = self.server.request("DELETE", f"/api/ai/requests/{again['request_id']}")
        self.assertEqual(status, 409)
        # Whitespace differences are the same email.
        spaced = dict(email, content="  " + email["content"].replace(" ", "   ") + "\n")
        self.assertTrue(post_json(self.server, "/api/ai/process", spaced)[2]["cached"])

    def test_without_wait_it_answers_202_then_long_poll_gets_the_result(self):
        email = dict(EMAIL, content=EMAIL["content"] + " (poll)")
        status, headers, body = post_json(self.server, "/api/ai/process", email)
        self.assertIn(status, (200, 202))
        if status == 202:
            self.assertEqual(headers["location"], "/api/ai/requests/" + body["request_id"])
            self.assertIn(body["status"], ("queued", "processing"))
        status, _, data = self.server.request("GET", f"/api/ai/requests/{body['request_id']}?wait_ms=5000")
        rec = json.loads(data)
        self.assertEqual(status, 200)
        self.assertEqual(rec["status"], "completed")
        self.assertIn("queue_wait_ms", rec["timings"])
        self.assertGreaterEqual(rec["timings"]["total_ms"], rec["timings"]["service_ms"])

    def test_request_types_carry_their_fields(self):
        base = dict(EMAIL, content="Please review the attached contract by Dec 3 and let me know.")
        _, _, c = post_json(self.server, "/api/ai/process", dict(base, request_type="classification", wait_ms=5000))
        self.assertIn("category", c["result"])
        self.assertNotIn("summary", c["result"])
        _, _, s = post_json(self.server, "/api/ai/process", dict(base, request_type="summary", wait_ms=5000))
        self.assertEqual(set(s["result"]), {"summary"})
        _, _, a = post_json(self.server, "/api/ai/process", dict(base, request_type="action_items", wait_ms=5000))
        self.assertEqual(set(a["result"]), {"action_items"})

    def test_cache_refresh_recomputes_and_no_store_does_not_store(self):
        email = dict(EMAIL, content="Lunch on Saturday? Let me know (cache modes).")
        post_json(self.server, "/api/ai/process", dict(email, wait_ms=5000))
        _, _, r = post_json(self.server, "/api/ai/process", dict(email, cache="refresh", wait_ms=5000))
        self.assertFalse(r["cached"])
        other = dict(EMAIL, content="A message nobody caches (no-store).")
        post_json(self.server, "/api/ai/process", dict(other, cache="no-store", wait_ms=5000))
        _, _, again = post_json(self.server, "/api/ai/process", dict(other, wait_ms=5000))
        self.assertFalse(again["cached"])

    def test_unknown_and_completed_requests(self):
        status, _, _ = self.server.request("GET", "/api/ai/requests/req_doesnotexist")
        self.assertEqual(status, 404)
        _, _, body = post_json(self.server, "/api/ai/process", dict(EMAIL, content="done already", wait_ms=5000))
        status, _, data = self.server.request("DELETE", f"/api/ai/requests/{body['request_id']}")
        self.assertEqual(status, 409)
        self.assertEqual(json.loads(data)["error"]["code"], "conflict")


class HitRecords(ServerTest):
    server_args = ("--set", "ai_processing.records.max_entries=3")

    def test_the_oldest_hit_record_gives_way_when_the_ring_is_full(self):
        email = dict(EMAIL, content="ring of hit records", wait_ms=5000)
        post_json(self.server, "/api/ai/process", email)
        ids = [post_json(self.server, "/api/ai/process", dict(email, email_id=i))[2]["request_id"]
               for i in range(5)]
        self.assertEqual(len(set(ids)), 5)
        found = [self.server.request("GET", f"/api/ai/requests/{i}")[0] for i in ids]
        self.assertEqual(found, [404, 404, 200, 200, 200])
        _, _, data = self.server.request("GET", f"/api/ai/requests/{ids[-1]}")
        self.assertEqual(json.loads(data)["email_id"], 4)


class Validation(ServerTest):
    def check(self, body, field, status=400, raw=None, content_type="application/json"):
        data = raw if raw is not None else json.dumps(body).encode()
        s, _, resp = self.server.request("POST", "/api/ai/process", body=data,
                                         headers={"Content-Type": content_type})
        self.assertEqual(s, status, resp)
        err = json.loads(resp)["error"]
        self.assertEqual(err.get("field"), field, err)
        return err

    def test_missing_and_wrong_fields_are_named(self):
        self.check({"email_id": 1}, "content")
        self.check({"content": "x"}, "email_id")
        self.check({"email_id": 1, "content": 5}, "content")
        self.check({"email_id": 1, "content": "   "}, "content")
        self.check({"email_id": [1], "content": "x"}, "email_id")
        self.check(dict(EMAIL, request_type="translate"), "request_type")
        self.check(dict(EMAIL, priority="asap"), "priority")
        self.check(dict(EMAIL, cache="never"), "cache")
        self.check(dict(EMAIL, wait_ms=-1), "wait_ms")
        self.check(dict(EMAIL, wait_ms=10**9), "wait_ms")
        self.check(dict(EMAIL, metadata="alice"), "metadata")
        err = self.check(dict(EMAIL, priorty="high"), "priorty")
        self.assertIn("unknown field", err["message"])
        self.check([EMAIL], "body")

    def test_bad_json_utf8_and_depth(self):
        self.check(None, "body", raw=b'{"email_id": 1, "content": ')
        self.check(None, "body", raw=b'{"email_id": 1, "content": "\xff\xfe bad"}')
        self.check(None, "body", raw=b'{"email_id": 1, "content": "x", "metadata": ' + b'[' * 100 + b']' * 100 + b'}')

    def test_not_json_is_415(self):
        self.check(EMAIL, "Content-Type", status=415, content_type="application/x-www-form-urlencoded")
        self.check(EMAIL, "Content-Type", status=415, content_type="text/plain")

    def test_json_with_charset_is_fine(self):
        s, _, _ = self.server.request("POST", "/api/ai/process", body=json.dumps(EMAIL).encode(),
                                      headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertIn(s, (200, 202))


class BodyLimit(ServerTest):
    server_args = ("--set", "server.max_body_bytes=2048")

    def test_over_the_body_limit_is_413(self):
        s, _, body = post_json(self.server, "/api/ai/process", dict(EMAIL, content="x" * 5000))
        self.assertEqual(s, 413)


class Batch(ServerTest):
    def test_json_array_with_one_bad_item(self):
        items = [dict(EMAIL, email_id=i, content=f"Batch email number {i}. Please reply.") for i in range(3)]
        items.insert(1, {"email_id": 99})
        s, _, body = post_json(self.server, "/api/ai/batch?wait_ms=5000", items)
        self.assertEqual(s, 200, body)
        self.assertEqual(body["accepted"], 3)
        self.assertEqual(body["rejected"], 1)
        self.assertEqual(len(body["results"]), 4)
        self.assertEqual(body["results"][1]["error"]["field"], "content")
        self.assertEqual(body["results"][1]["index"], 1)
        self.assertEqual([r["status"] for i, r in enumerate(body["results"]) if i != 1], ["completed"] * 3)

    def test_ndjson(self):
        lines = "\n".join(json.dumps(dict(EMAIL, email_id=i, content=f"NDJSON email {i}")) for i in range(5))
        s, _, data = self.server.request("POST", "/api/ai/batch?wait_ms=5000", body=lines.encode() + b"\n",
                                         headers={"Content-Type": "application/x-ndjson"})
        body = json.loads(data)
        self.assertEqual(s, 200)
        self.assertEqual(body["accepted"], 5)
        self.assertEqual([r["email_id"] for r in body["results"]], list(range(5)))

    def test_bad_ndjson_line_is_named(self):
        s, _, data = self.server.request("POST", "/api/ai/batch", body=b'{"email_id":1,"content":"a"}\n{oops\n',
                                         headers={"Content-Type": "application/x-ndjson"})
        self.assertEqual(s, 400)
        self.assertIn("line 2", json.loads(data)["error"]["message"])


class Metrics(ServerTest):
    def test_ai_metrics_are_exposed(self):
        post_json(self.server, "/api/ai/process", dict(EMAIL, content="metrics email", wait_ms=5000))
        post_json(self.server, "/api/ai/process", dict(EMAIL, content="metrics email"))
        text = self.server.request("GET", "/metrics")[2].decode()
        for name in ("mp_ai_cache_hits_total 1", "mp_ai_requests_total{", "mp_ai_queue_depth{priority=\"urgent\"}",
                     "mp_ai_queue_wait_seconds_bucket", "mp_ai_total_seconds_bucket", "mp_ai_workers{state=\"active\"}"):
            self.assertIn(name, text)
        status, summary = self.server.get_json("/api/performance/metrics")
        ai = summary["ai"]
        self.assertEqual(ai["cache_hit_rate_percent"], 50.0)
        self.assertIn("p99", ai["ai_response_time_ms"])
        self.assertIn("ai_requests_per_minute", ai)
        self.assertEqual(set(ai["queue_depth"]), {"urgent", "high", "normal", "low", "background"})


class Ownership(ServerTest):
    server_env = {"MP_API_KEYS": "alice-key-0001:user:alice,bob-key-00001:user:bob,admin-key-001:admin"}

    def test_users_see_only_their_own_requests(self):
        alice = {"Authorization": "Bearer alice-key-0001"}
        s, _, body = post_json(self.server, "/api/ai/process", dict(EMAIL, metadata={}, wait_ms=5000), headers=alice)
        self.assertEqual(s, 200, body)
        path = f"/api/ai/requests/{body['request_id']}"
        self.assertEqual(self.server.request("GET", path, headers=alice)[0], 200)
        self.assertEqual(self.server.request("GET", path, headers={"Authorization": "Bearer bob-key-00001"})[0], 404)
        self.assertEqual(self.server.request("GET", path, headers={"Authorization": "Bearer admin-key-001"})[0], 200)
        self.assertEqual(self.server.request("GET", path)[0], 401)

    def test_the_same_body_from_two_callers_belongs_to_each(self):
        body = dict(EMAIL, metadata={}, content="identical bodies, different callers", wait_ms=5000)
        ids = {}
        for who in ("alice-key-0001", "bob-key-00001", "alice-key-0001"):
            s, _, rec = post_json(self.server, "/api/ai/process", body, headers={"Authorization": f"Bearer {who}"})
            self.assertEqual(s, 200, rec)
            ids.setdefault(who, []).append(rec["request_id"])
        bob = {"Authorization": "Bearer bob-key-00001"}
        for rid in ids["alice-key-0001"]:
            self.assertEqual(self.server.request("GET", f"/api/ai/requests/{rid}", headers=bob)[0], 404)
        self.assertEqual(self.server.request("GET", f"/api/ai/requests/{ids['bob-key-00001'][0]}", headers=bob)[0], 200)

    def test_a_user_cannot_act_for_another(self):
        s, _, body = post_json(self.server, "/api/ai/process", dict(EMAIL, metadata={"user_id": "bob"}),
                               headers={"Authorization": "Bearer alice-key-0001"})
        self.assertEqual(s, 403)
        self.assertEqual(body["error"]["field"], "metadata.user_id")


if __name__ == "__main__":
    unittest.main()
