"""WebSocket push on /ws/optimized (the protocol of ARCHITECTURE.md "WebSocket push"):
welcome, topics and their filtering, private topics, auth, connection limits, resume and
gap. test_ws_delivery.py has backpressure, protection, shutdown, metrics and the
pipeline's events.

Clients: Python's `websockets`, tests/ws_client/beast_ws_client.cpp and hand-made frames
(ws_harness.py). Each test starts its own mp-serve with the config it needs.
"""
import asyncio
import json
import re

from harness import post_json
from ws_harness import WAIT, InvalidStatusCode, RawWs, WsTest, metric_value, ws_url

ALICE = "alice-ws-key-00001"
BOB = "bob-ws-key-000001"
ADMIN = "admin-ws-key-0001"
KEYS = {"MP_API_KEYS": f"{ALICE}:user:alice,{BOB}:user:bob,{ADMIN}:admin"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
ID = re.compile(r"^[0-9A-Za-z]+:[0-9]+$")


def task(n, **extra):
    return dict({"topic": "task_updates", "type": "task_updated", "data": {"n": n}}, **extra)


def marker(topic="task_updates"):
    return {"topic": topic, "type": "marker", "data": {}}


def ns(frames):
    return [f.get("data", {}).get("n") if isinstance(f, dict) else f for f in frames]


class Protocol(WsTest):
    def assert_refused_op(self, frames, expected, op):
        """`frames` (the answer to `op`) hold one error frame with the `expected` fields and
        at most an empty subscribed frame besides."""
        errors = [f for f in frames if f.get("type") == "error"]
        self.assertEqual(len(errors), 1, f"{op!r} -> {frames}")
        self.assertEqual({k: errors[0].get(k) for k in expected}, expected, f"{op!r} -> {frames}")
        self.assertTrue(errors[0].get("message"), errors[0])
        for f in frames:
            if f is not errors[0]:
                self.assertEqual((f.get("type"), f.get("topics")), ("subscribed", []), f"{op!r} -> {frames}")

    def test_welcome_comes_first_and_describes_the_connection(self):
        s = self.start_server()

        async def body():
            a = await self.ws(s, user_id="alice", topics="email_updates,task_updates")
            w = await a.recv_type("welcome")
            self.assertEqual(w["user_id"], "alice", w)
            self.assertEqual(sorted(w["topics"]), ["email_updates", "task_updates"], w)
            self.assertIsInstance(w["connection_id"], str, w)
            self.assertTrue(w["connection_id"], w)
            self.assertIsInstance(w["ping_interval_ms"], int, w)
            self.assertGreater(w["ping_interval_ms"], 0, w)
            # /ws is the same endpoint; open mode without user_id is "anonymous".
            b = await self.ws(s, path="/ws")
            wb = await b.recv_type("welcome")
            self.assertEqual((wb["user_id"], wb["topics"]), ("anonymous", []), wb)
            self.assertNotEqual(wb["connection_id"], w["connection_id"])
        self.run_async(body())

    def test_a_broadcast_reaches_only_the_subscribers_of_its_topic(self):
        s = self.start_server()
        tasks = self.beast(ws_url(s, topics="task_updates"), "--expect", "2")
        emails = self.beast(ws_url(s, topics="email_updates"), "--expect", "2")
        both = self.beast(ws_url(s, topics="system_alerts,task_updates"), "--expect", "3")
        for c in (tasks, emails, both):
            c.wait_welcome()
        r = self.broadcast(s, task(1, type="task_created", priority="high"))
        self.assertEqual((r["topic"], r["subscribers"]), ("task_updates", 2), r)
        self.assertRegex(r["id"], ID)
        self.assertEqual(r["id"].split(":")[1], str(r["seq"]), r)
        self.assertEqual(self.broadcast(s, marker("email_updates"))["subscribers"], 1)
        self.assertEqual(self.broadcast(s, {"topic": "system_alerts", "type": "alert", "data": {}})["subscribers"], 1)
        for c in (tasks, emails, both):
            self.assertEqual(c.wait_exit(), 0, c.describe())
        for c in (tasks, both):
            event = c.frames()[1]
            self.assertEqual({k: event.get(k) for k in ("type", "topic", "id", "seq", "priority", "data")},
                             {"type": "task_created", "topic": "task_updates", "id": r["id"], "seq": r["seq"],
                              "priority": "high", "data": {"n": 1}}, c.describe())
            self.assertEqual(event["id"], f"{event['epoch']}:{event['seq']}")
            self.assertIsInstance(event["ts"], float)
        self.assertEqual([f["type"] for f in emails.frames()], ["welcome", "marker"], emails.describe())
        self.assertEqual([f["type"] for f in both.frames()], ["welcome", "task_created", "alert"], both.describe())
        self.assertEqual(both.frames()[2]["priority"], "normal", both.describe())

    def test_ops_answer_and_bad_ops_get_an_error_frame_on_a_connection_that_stays_open(self):
        s = self.start_server()

        async def body():
            c = await self.ws(s)
            await c.recv_type("welcome")
            for op, expected in (
                    ("this is not json", {"code": "invalid_json"}),
                    ({"op": "dance", "ref": 7}, {"code": "unknown_op", "op": "dance", "ref": 7}),
                    ({"op": "subscribe", "topics": ["nope"], "ref": "r1"},
                     {"code": "invalid_topic", "op": "subscribe", "topic": "nope", "ref": "r1"}),
                    ({"op": "subscribe", "ref": "r2"}, {"code": "invalid_request", "op": "subscribe", "ref": "r2"}),
                    ({"op": "subscribe", "topics": "task_updates", "ref": "r3"},
                     {"code": "invalid_request", "op": "subscribe", "ref": "r3"})):
                self.assert_refused_op(await c.answers(op), expected, op)
            await c.send({"op": "ping", "ref": "p1"})
            p = await c.recv_type("pong")
            self.assertEqual(p["ref"], "p1", p)
            self.assertIsInstance(p["ts"], (int, float), p)
            await c.send({"op": "subscribe", "topics": ["task_updates"], "ref": "s1"})
            sub = await c.recv_type("subscribed")
            self.assertEqual((sub["topics"], sub["ref"]), (["task_updates"], "s1"), sub)
            r = await self.abroadcast(s, task(1))
            self.assertEqual(r["subscribers"], 1, r)
            self.assertEqual((await c.recv_type("task_updated"))["data"], {"n": 1})
            await c.send({"op": "unsubscribe", "topics": ["task_updates"], "ref": "u1"})
            u = await c.recv_type("unsubscribed")
            self.assertEqual((u["topics"], u["ref"]), (["task_updates"], "u1"), u)
            self.assertEqual((await self.abroadcast(s, task(2)))["subscribers"], 0)
            await c.send({"op": "ping", "ref": "p2"})
            self.assertEqual((await c.recv_type("pong"))["ref"], "p2", "an event after unsubscribe")
        self.run_async(body())

    def test_a_plain_get_is_refused_426(self):
        # ARCHITECTURE.md: "426 (a GET that is not an upgrade)", with the Upgrade it needs.
        s = self.start_server()
        status, headers, body = s.request("GET", "/ws/optimized")
        self.assertEqual(status, 426, body)
        self.assertEqual(json.loads(body)["error"]["code"], "upgrade_required")

    def test_bad_upgrades_are_400_with_a_json_body(self):
        s = self.start_server()
        status, parsed = self.upgrade_refusal(s, headers={"Sec-WebSocket-Key": ""})
        self.assertEqual(status, 400, f"no Sec-WebSocket-Key: {parsed}")
        # The empty topic of a trailing comma last: the one a lenient parser might let through.
        for query in ("topics=nope", "topics=user:", "topics=user:bob%00", "since=garbage",
                      "since=task_updates@abc", "since=task_updates@e1:notanumber", "since=nope@e1:3",
                      "topics=task_updates,"):
            status, parsed = self.upgrade_refusal(s, query)
            self.assertEqual(status, 400, f"{query}: {parsed}")
            self.assertIn("error", parsed, query)

    def test_a_percent_encoded_query_is_decoded(self):
        # What a browser's URLSearchParams sends for topics=user:alice,task_updates.
        s = self.start_server()

        async def body():
            c = await self.ws(s, user_id="alice", topics="user%3Aalice%2Ctask_updates")
            w = await c.recv_type("welcome")
            self.assertEqual(sorted(w["topics"]), ["task_updates", "user:alice"], w)
        self.run_async(body())

    def test_a_binary_frame_closes_1003(self):
        s = self.start_server()

        async def body():
            c = await self.ws(s)
            await c.recv_type("welcome")
            await c.send(b"\x00\x01binary")
            code, reason, frames = await c.closed()
            self.assertEqual(code, 1003, f"reason {reason!r}, frames {frames}")
            self.assertTrue(reason, "a close without a reason text")
        self.run_async(body())

    def test_invalid_utf8_closes_1007_and_an_unmasked_frame_1002(self):
        s = self.start_server()
        raw = RawWs(s)
        self.addCleanup(raw.close)
        self.assertEqual(raw.status, 101, raw.head)
        raw.send_frame(0x1, b'{"op":"ping","ref":"\xff\xfe"}')
        code, reason, texts = raw.read_close()
        self.assertEqual(code, 1007, f"reason {reason!r}, frames {texts}")
        raw2 = RawWs(s)
        self.addCleanup(raw2.close)
        raw2.send_frame(0x1, b'{"op":"ping"}', mask=False)
        code, reason, texts = raw2.read_close()
        self.assertEqual(code, 1002, f"reason {reason!r}, frames {texts}")


class Auth(WsTest):
    def test_no_or_a_bad_token_is_401_before_the_upgrade(self):
        s = self.start_server(env=KEYS)
        for query in ("", "token=not-a-key"):
            status, parsed = self.upgrade_refusal(s, query)
            self.assertEqual(status, 401, f"{query}: {parsed}")
            self.assertEqual(parsed["error"]["code"], "unauthorized", parsed)
        self.assertEqual(self.run_async(self.refused_status(ws_url(s))), 401)
        beast = self.beast(ws_url(s, topics="task_updates"))
        self.assertEqual(beast.wait_exit(), 1, beast.describe())
        refused = beast.wait_for(lambda e: e["event"] == "refused", "refusal")
        self.assertEqual(refused["status"], 401, refused)
        self.assertEqual(json.loads(refused["body"])["error"]["code"], "unauthorized", refused)

    def test_the_token_names_the_user_by_query_or_header(self):
        s = self.start_server(env=KEYS)

        async def body():
            a = await self.ws(s, token=ALICE)
            self.assertEqual((await a.recv_type("welcome"))["user_id"], "alice")
            b = await self.ws(s, headers={"Authorization": f"Bearer {BOB}"})
            self.assertEqual((await b.recv_type("welcome"))["user_id"], "bob")
            admin_as_bob = await self.ws(s, token=ADMIN, user_id="bob")
            self.assertEqual((await admin_as_bob.recv_type("welcome"))["user_id"], "bob")
        self.run_async(body())
        beast = self.beast(ws_url(s), "--header", f"Authorization: Bearer {ALICE}", "--expect", "1")
        self.assertEqual(beast.wait_welcome()["user_id"], "alice")
        status, parsed = self.upgrade_refusal(s, f"token={ALICE}&user_id=bob")
        self.assertEqual(status, 403, parsed)

    def test_a_private_topic_is_refused_to_another_user(self):
        s = self.start_server(env=KEYS)
        status, parsed = self.upgrade_refusal(s, f"token={ALICE}&topics=task_updates,user:bob")
        self.assertEqual(status, 403, parsed)
        self.assertEqual(self.run_async(self.refused_status(ws_url(s, token=ALICE, topics="user:bob"))), 403)

        async def body():
            a = await self.ws(s, token=ALICE)
            await a.recv_type("welcome")
            frames = await a.answers({"op": "subscribe", "topics": ["user:bob"], "ref": 1})
            errors = [f for f in frames if f["type"] == "error"]
            self.assertEqual(len(errors), 1, frames)
            self.assertEqual({k: errors[0].get(k) for k in ("code", "op", "topic", "ref")},
                             {"code": "forbidden_topic", "op": "subscribe", "topic": "user:bob", "ref": 1}, frames)
            for f in frames:
                if f["type"] == "subscribed":
                    self.assertNotIn("user:bob", f["topics"], frames)
            frames = await a.answers({"op": "subscribe", "topics": ["user:alice"], "ref": 2})
            self.assertEqual([(f["type"], f["topics"], f["ref"]) for f in frames], [("subscribed", ["user:alice"], 2)])
            # Not subscribed to user:bob after all: bob's broadcast counts bob's connections only.
            self.assertEqual((await self.abroadcast(s, {"user_id": "bob", "type": "x", "data": {}},
                                                    AS_ADMIN))["subscribers"], 0)
        self.run_async(body())

    def test_a_user_broadcast_reaches_that_user_only(self):
        s = self.start_server(env=KEYS)

        async def body():
            bob = await self.ws(s, token=BOB, topics="user:bob")
            alice = await self.ws(s, token=ALICE, topics="task_updates,user:alice")
            await bob.recv_type("welcome")
            await alice.recv_type("welcome")
            r = await self.abroadcast(s, {"user_id": "bob", "type": "note", "data": {"x": 1}}, AS_ADMIN)
            self.assertEqual((r["topic"], r["subscribers"]), ("user:bob", 1), r)
            note = await bob.recv_type("note")
            self.assertEqual((note["topic"], note["data"], note["id"]), ("user:bob", {"x": 1}, r["id"]), note)
            await self.abroadcast(s, {"user_id": "alice", "type": "marker", "data": {}}, AS_ADMIN)
            self.assertEqual((await alice.recv_type("marker"))["topic"], "user:alice", "alice got bob's note")
        self.run_async(body())

    def test_broadcast_needs_an_admin_key_and_a_valid_body(self):
        s = self.start_server(env=KEYS)
        self.assertEqual(post_json(s, "/api/ws/broadcast", task(1))[0], 401)
        status, _, body = post_json(s, "/api/ws/broadcast", task(1), headers={"Authorization": f"Bearer {ALICE}"})
        self.assertEqual(status, 403, body)
        self.assertEqual(body["error"]["code"], "forbidden", body)
        self.assertEqual(post_json(s, "/api/ws/broadcast", task(1, topic="nope"), headers=AS_ADMIN)[0], 400)
        status, _, _ = s.request("POST", "/api/ws/broadcast", body=b"{not json",
                                 headers=dict(AS_ADMIN, **{"Content-Type": "application/json"}))
        self.assertEqual(status, 400)
        self.assertEqual(self.broadcast(s, task(1), AS_ADMIN)["subscribers"], 0)


class Limits(WsTest):
    def test_per_user_limit_is_429_and_total_limit_503(self):
        s = self.start_server("websocket.max_total_connections=4", "websocket.max_connections_per_user=2")

        async def body():
            held = {}
            for name in ("alice-1", "alice-2", "bob-1", "bob-2"):
                held[name] = await self.ws(s, user_id=name.split("-")[0])
                await held[name].recv_type("welcome")
                if name == "alice-2":
                    status, parsed = await asyncio.to_thread(self.upgrade_refusal, s, "user_id=alice")
                    self.assertEqual(status, 429, parsed)
                    self.assertEqual(await self.refused_status(ws_url(s, user_id="alice")), 429)
            status, parsed = await asyncio.to_thread(self.upgrade_refusal, s, "user_id=carol")
            self.assertEqual(status, 503, parsed)
            self.assertIn("error", parsed)
            await held["bob-2"].close()

            async def carol():  # bounded: the server counts the close when it has seen it
                for _ in range(int(WAIT / 0.1)):
                    try:
                        return await self.ws(s, user_id="carol")
                    except InvalidStatusCode as e:
                        self.assertEqual(e.status_code, 503)
                        await asyncio.sleep(0.1)
                self.fail("carol still refused after bob closed a connection")
            c = await carol()
            self.assertEqual((await c.recv_type("welcome"))["user_id"], "carol")
            self.assertEqual(metric_value(await asyncio.to_thread(self.metrics, s), "mp_ws_connections"), 4)
        self.run_async(body())


class Resume(WsTest):
    async def collect_events(self, server, count, topics="task_updates"):
        """Connects, receives `count` published events, disconnects; returns them."""
        c = await self.ws(server, topics=topics)
        await c.recv_type("welcome")
        published = [await self.abroadcast(server, task(n)) for n in range(count)]
        got = [await c.recv() for _ in range(count)]
        self.assertEqual([g["id"] for g in got], [p["id"] for p in published], c.seen)
        await c.close()
        return got

    async def expect_marker_next(self, c, server, why):
        await self.abroadcast(server, marker())
        frame = await c.recv()
        self.assertEqual(frame.get("type"), "marker", f"{why}; frames: {c.seen}")

    def test_since_replays_exactly_the_missed_events_in_order(self):
        s = self.start_server()

        async def body():
            last = (await self.collect_events(s, 3))[-1]
            missed = [await self.abroadcast(s, task(n)) for n in range(3, 7)]
            r = await self.ws(s, topics="task_updates", since=f"task_updates@{last['epoch']}:{last['seq']}")
            await r.recv_type("welcome")
            replay = [await r.recv() for _ in range(4)]
            self.assertEqual(ns(replay), [3, 4, 5, 6], r.seen)
            self.assertEqual([f["id"] for f in replay], [m["id"] for m in missed], r.seen)
            self.assertEqual([f["seq"] for f in replay], list(range(last["seq"] + 1, last["seq"] + 5)), r.seen)
            await self.expect_marker_next(r, s, "only the 4 missed events come before a new one")
            # Nothing missed: nothing replayed.
            newest = r.seen[-1]
            r2 = await self.ws(s, topics="task_updates", since=f"task_updates@{newest['epoch']}:{newest['seq']}")
            await r2.recv_type("welcome")
            await self.expect_marker_next(r2, s, "a resume from the newest event replays nothing")
        self.run_async(body())

    def test_a_subscribe_op_with_since_replays_too(self):
        s = self.start_server()

        async def body():
            last = (await self.collect_events(s, 2))[-1]
            for n in range(2, 5):
                await self.abroadcast(s, task(n))
            c = await self.ws(s)
            await c.recv_type("welcome")
            await c.send({"op": "subscribe", "topics": ["task_updates"], "ref": "r",
                          "since": {"task_updates": f"{last['epoch']}:{last['seq']}"}})
            frames = [await c.recv() for _ in range(4)]
            subscribed = [f for f in frames if f["type"] == "subscribed"]
            self.assertEqual(len(subscribed), 1, frames)
            self.assertEqual((subscribed[0]["topics"], subscribed[0]["ref"]), (["task_updates"], "r"), frames)
            self.assertEqual(ns(f for f in frames if f["type"] != "subscribed"), [2, 3, 4], frames)
            await self.expect_marker_next(c, s, "only the 3 missed events")
        self.run_async(body())

    def test_a_gap_frame_when_history_no_longer_reaches_back(self):
        s = self.start_server("websocket.history_size=5")

        async def body():
            last = (await self.collect_events(s, 1))[-1]
            base = last["seq"]
            for n in range(1, 21):
                await self.abroadcast(s, task(n))
            r = await self.ws(s, topics="task_updates", since=f"task_updates@{last['epoch']}:{base}")
            await r.recv_type("welcome")
            gap = await r.recv_type("gap")
            self.assertEqual({k: gap.get(k) for k in ("topic", "epoch", "from_seq", "to_seq", "reason")},
                             {"topic": "task_updates", "epoch": last["epoch"], "from_seq": base + 1,
                              "to_seq": base + 15, "reason": "history_expired"}, gap)
            rest = [await r.recv() for _ in range(5)]
            self.assertEqual(ns(rest), [16, 17, 18, 19, 20], r.seen)
            self.assertEqual([f["seq"] for f in rest], list(range(base + 16, base + 21)), r.seen)
            await self.expect_marker_next(r, s, "the last 5 only")
        self.run_async(body())

    def test_a_gap_frame_when_the_epoch_changed(self):
        s = self.start_server()

        async def body():
            last = (await self.collect_events(s, 2))[-1]
            stale = "0badc0de" if last["epoch"] != "0badc0de" else "0badf00d"
            r = await self.ws(s, topics="task_updates", since=f"task_updates@{stale}:1")
            await r.recv_type("welcome")
            gap = await r.recv_type("gap")
            self.assertEqual((gap["topic"], gap["reason"]), ("task_updates", "epoch_changed"), gap)
            await self.abroadcast(s, marker())
            while (frame := await r.recv())["type"] != "marker":
                self.assertEqual(frame["epoch"], last["epoch"], f"an event of another epoch: {r.seen}")
            seqs = [f["seq"] for f in r.seen[2:-1]]
            self.assertEqual(seqs, sorted(seqs), r.seen)
        self.run_async(body())

    def test_history_expires_by_age(self):
        s = self.start_server("websocket.history_max_age_seconds=1")

        async def body():
            last = (await self.collect_events(s, 1))[-1]
            for n in range(1, 4):
                await self.abroadcast(s, task(n))
            since = f"task_updates@{last['epoch']}:{last['seq']}"
            # Bounded poll: reconnect until the server has aged the 3 events out.
            for _ in range(int(WAIT / 0.25)):
                r = await self.ws(s, topics="task_updates", since=since)
                await r.recv_type("welcome")
                first = await r.recv()
                if first["type"] == "gap":
                    break
                await r.close()
                await asyncio.sleep(0.25)
            else:
                self.fail(f"no gap after {WAIT}s with history_max_age_seconds=1; frames: {r.seen}")
            self.assertEqual((first["from_seq"], first["to_seq"], first["reason"]),
                             (last["seq"] + 1, last["seq"] + 3, "history_expired"), first)
            await self.expect_marker_next(r, s, "the aged-out events are not replayed")
        self.run_async(body())
