"""mp-cache against the suite's redis-server (database 9, emptied before each test) and, with
--server, against a real mp-serve's admin endpoints.

Values are seeded with `mp-cache import` (Python's stdlib has no zstd); import itself is
checked by reading the raw bytes back over a socket.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import unittest

from harness import Server, tool

DB = 9
TTL = 86400  # ai_processing.cache.ttl_seconds, the default
TYPES = ["classification", "summary", "action_items", "analysis"]
ADMIN = "cache-admin-key-0001"
USER = "cache-user-key-00001"


def redis_port():
    with open(os.path.join(os.environ["MP_REDIS_STATE"], "port")) as f:
        return int(f.read())


class Resp:
    """A minimal RESP client: enough for SELECT, GET, TTL, INFO and friends."""

    def __init__(self, port, db=DB):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.call("SELECT", str(db))

    def close(self):
        self.sock.close()

    def call(self, *args):
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.sock.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        return self._read()

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError(f"bad reply {line!r}")


def key(type_, i):
    return f"mp:cache:v1:{type_}:{hashlib.sha256(f'{type_}{i}'.encode()).hexdigest()}"


def entry(type_, i, age=0):
    """An export/import line whose key is `age` seconds old (TTL - age remaining)."""
    return {"key": key(type_, i), "ttl_s": TTL - age,
            "value": {"category": "work", "summary": f"email {i} of {type_}", "n": i}}


def mp_cache(*args, stdin="", env=None, timeout=60):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MP_")}
    full_env.update(env or {})
    return subprocess.run([tool("mp-cache"), *args], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def ndjson(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class CacheRedis(unittest.TestCase):
    def setUp(self):
        self.port = redis_port()
        self.url = f"redis://127.0.0.1:{self.port}/{DB}"
        self.r = Resp(self.port)
        self.r.call("FLUSHDB")

    def tearDown(self):
        self.r.call("FLUSHDB")
        self.r.close()

    def cache(self, *args, **kw):
        return mp_cache("--redis", self.url, *args, **kw)

    def seed(self, entries):
        out = self.cache("import", stdin="".join(json.dumps(e) + "\n" for e in entries))
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def seed_mix(self):
        """Two keys of each type, fresh, plus one old summary and one old analysis (2 h)."""
        entries = [entry(t, i) for t in TYPES for i in range(2)]
        entries += [entry("summary", 10, age=7200), entry("analysis", 11, age=7200)]
        self.seed(entries)
        return entries

    def test_import_writes_zstd_frames_with_ttl_and_keeps_existing_keys(self):
        e = entry("summary", 1, age=100)
        self.assertEqual(self.seed([e]), {"imported": 1, "existing": 0, "bad_lines": 0})
        raw = self.r.call("GET", e["key"])
        self.assertEqual(raw[:4], b"\x28\xb5\x2f\xfd", "a zstd frame")
        self.assertTrue(TTL - 110 <= self.r.call("TTL", e["key"]) <= TTL - 100)
        if shutil.which("zstd"):
            plain = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, check=True).stdout
            self.assertEqual(json.loads(plain), e["value"])
        # NX by default: a second import keeps what is there; --replace overwrites.
        changed = dict(e, value={"category": "personal"})
        self.assertEqual(self.seed([changed]), {"imported": 0, "existing": 1, "bad_lines": 0})
        self.assertEqual(self.r.call("GET", e["key"]), raw)
        out = self.cache("import", "--replace", "--ttl", "1h", stdin=json.dumps(changed) + "\n")
        self.assertEqual(json.loads(out.stdout)["imported"], 1)
        self.assertTrue(3590 <= self.r.call("TTL", e["key"]) <= 3600)
        self.assertEqual(json.loads(self.cache("get", e["key"]).stdout), {"category": "personal"})

    def test_import_names_bad_lines_and_stores_the_good_ones(self):
        lines = [json.dumps(entry("summary", 1)), "not json", json.dumps({"key": "other:key", "value": {}}),
                 json.dumps({"key": key("summary", 2), "value": "a string"}), json.dumps(entry("analysis", 3))]
        out = self.cache("import", stdin="\n".join(lines) + "\n")
        self.assertEqual(out.returncode, 1)
        for n in (2, 3, 4):
            self.assertIn(f"line {n}:", out.stderr)
        self.assertNotIn("line 1:", out.stderr)
        self.assertEqual(json.loads(out.stdout), {"imported": 2, "existing": 0, "bad_lines": 3})
        self.assertEqual(self.r.call("EXISTS", key("summary", 1), key("analysis", 3)), 2)

    def test_ls_lists_ndjson_with_filters(self):
        entries = self.seed_mix()
        self.r.call("SET", "mp:cache:stats", "not a cache key")
        self.r.call("SET", "unrelated", "x")
        out = self.cache("ls")
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = ndjson(out.stdout)
        self.assertEqual(sorted(r["key"] for r in rows), sorted(e["key"] for e in entries))
        for r in rows:
            self.assertEqual(set(r), {"key", "type", "bytes", "ttl_s", "age_s"})
            self.assertEqual(r["bytes"], self.r.call("STRLEN", r["key"]))
            self.assertEqual(r["age_s"], TTL - r["ttl_s"])
        summary = ndjson(self.cache("ls", "--type", "summary").stdout)
        self.assertEqual({r["type"] for r in summary}, {"summary"})
        self.assertEqual(len(summary), 3)
        old = ndjson(self.cache("ls", "--older-than", "1h").stdout)
        self.assertEqual(sorted(r["key"] for r in old), sorted([key("summary", 10), key("analysis", 11)]))
        self.assertEqual(len(ndjson(self.cache("ls", "--type", "summary", "--older-than", "3600").stdout)), 1)
        prefix = key("analysis", 0)[:28]
        matched = ndjson(self.cache("ls", "--pattern", prefix + "*").stdout)
        self.assertEqual([r["key"] for r in matched], [key("analysis", 0)])
        self.assertEqual(len(ndjson(self.cache("ls", "--pattern", "mp:cache:v1:action_items:*").stdout)), 2)
        self.assertEqual(len(ndjson(self.cache("ls", "--limit", "3").stdout)), 3)

    def test_get_prints_pretty_json_and_a_missing_key_exits_1(self):
        e = entry("classification", 5)
        self.seed([e])
        out = self.cache("get", e["key"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout), e["value"])
        self.assertIn("\n  \"n\": 5", out.stdout, "indented")
        missing = self.cache("get", key("classification", 6))
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no such key", missing.stderr)

    def test_stats_counts_bytes_types_ttl_spread_and_hit_rate(self):
        entries = self.seed_mix()
        self.r.call("HSET", "mp:cache:stats", "hits", "30", "misses", "10", "l2_hits", "5", "l2_misses", "5",
                    "stores", "10")
        out = self.cache("stats", "--format", "json")
        self.assertEqual(out.returncode, 0, out.stderr)
        s = json.loads(out.stdout)
        self.assertEqual(s["keys"], len(entries))
        self.assertEqual(s["bytes"], sum(self.r.call("STRLEN", e["key"]) for e in entries))
        self.assertEqual(s["bytes_method"], "strlen")
        self.assertEqual({t: v["keys"] for t, v in s["by_type"].items()},
                         {"classification": 2, "summary": 3, "action_items": 2, "analysis": 3})
        self.assertTrue(TTL - 7210 <= s["ttl_s"]["min"] <= TTL - 7200)
        self.assertTrue(TTL - 10 <= s["ttl_s"]["max"] <= TTL)
        self.assertTrue(s["ttl_s"]["min"] <= s["ttl_s"]["p50"] <= s["ttl_s"]["max"])
        self.assertEqual(s["hit_rate_percent"], 75.0)
        self.assertEqual(s["l2_hit_rate_percent"], 50.0)
        self.assertEqual(s["counters"]["stores"], 10)
        table = self.cache("stats", "--format", "table").stdout
        self.assertIn("summary", table)
        self.assertIn("hit rate 75.0%", table)

    def test_del_from_arguments_and_from_ls_on_stdin(self):
        self.seed_mix()
        out = self.cache("del", key("classification", 0), key("classification", 99))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout), {"deleted": 1, "requested": 2})
        listed = self.cache("ls", "--type", "summary").stdout
        out = self.cache("del", "-", stdin=listed)
        self.assertEqual(json.loads(out.stdout)["deleted"], 3)
        left = ndjson(self.cache("ls").stdout)
        self.assertEqual(len(left), 6)
        self.assertNotIn("summary", {r["type"] for r in left})
        # Plain keys, one a line, work too.
        out = self.cache("del", "-", stdin=f"{key('analysis', 0)}\n\n{key('analysis', 1)}\n")
        self.assertEqual(json.loads(out.stdout)["deleted"], 2)
        # Anything but a cache key is refused before anything is deleted.
        bad = self.cache("del", key("analysis", 11), "mp:cache:stats")
        self.assertEqual(bad.returncode, 2)
        self.assertIn("not a cache key", bad.stderr)
        self.assertEqual(self.r.call("EXISTS", key("analysis", 11)), 1)

    def test_flush_refuses_without_yes_when_stdin_is_not_a_terminal(self):
        self.seed_mix()
        out = self.cache("flush")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--yes", out.stderr)
        self.assertIn("not a terminal", out.stderr)
        self.assertEqual(len(ndjson(self.cache("ls").stdout)), 10)

    def test_flush_dry_run_counts_and_deletes_nothing(self):
        self.seed_mix()
        out = self.cache("flush", "--dry-run", "--type", "summary")
        self.assertEqual(out.returncode, 0, out.stderr)
        r = json.loads(out.stdout)
        self.assertEqual((r["dry_run"], r["matched"], r["deleted"]), (True, 3, 0))
        self.assertEqual(len(ndjson(self.cache("ls").stdout)), 10)

    def test_flush_by_type_by_age_and_everything(self):
        self.seed_mix()
        self.r.call("SET", "unrelated", "x")
        self.r.call("HSET", "mp:cache:stats", "hits", "1")
        out = self.cache("flush", "--yes", "--older-than", "1h")
        self.assertEqual(json.loads(out.stdout)["deleted"], 2)
        out = self.cache("flush", "--yes", "--type", "action_items")
        self.assertEqual(json.loads(out.stdout)["deleted"], 2)
        self.assertEqual({r["type"] for r in ndjson(self.cache("ls").stdout)}, {"classification", "summary", "analysis"})
        out = self.cache("flush", "--yes")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["deleted"], 6)
        self.assertEqual(self.cache("ls").stdout, "")
        self.assertEqual(self.r.call("EXISTS", "unrelated", "mp:cache:stats"), 2)

    def test_flush_many_keys_in_batches(self):
        entries = [entry(TYPES[i % 4], i) for i in range(5000)]
        self.assertEqual(self.seed(entries)["imported"], 5000)
        out = self.cache("flush", "--yes", "--format", "table")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("5000", out.stdout)
        self.assertEqual(self.r.call("DBSIZE"), 0)

    def test_flush_across_many_batches_deletes_exactly_the_matching_keys(self):
        """Thousands of keys (many SCAN batches): --older-than and --type select exactly their
        keys, and keys that only look like cache keys survive every flush."""
        entries = [entry(TYPES[i % 4], i, age=7200 if i % 5 == 0 else 0) for i in range(4000)]
        self.assertEqual(self.seed(entries)["imported"], 4000)
        junk = ["mp:cache:v1:bogus:" + "a" * 64, "mp:cache:v1:summary:", "mp:cache:v1::x",
                "mp:cache:v2:summary:" + "b" * 64, "mp:cache:v1:summaryx:c", "unrelated"]
        for k in junk:
            self.r.call("SET", k, "x")
        old = {e["key"] for e in entries if e["ttl_s"] < TTL - 3600}
        out = self.cache("flush", "--yes", "--older-than", "1h")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["deleted"], len(old))
        self.assertEqual(self.r.call("EXISTS", *old), 0)
        summary = {e["key"] for e in entries if e["key"] not in old and ":summary:" in e["key"]}
        out = self.cache("flush", "--yes", "--type", "summary")
        self.assertEqual(json.loads(out.stdout)["deleted"], len(summary))
        self.assertEqual(self.r.call("EXISTS", *summary), 0)
        rest = {e["key"] for e in entries} - old - summary
        self.assertEqual(self.r.call("EXISTS", *rest), len(rest))
        out = self.cache("flush", "--yes")
        self.assertEqual(json.loads(out.stdout)["deleted"], len(rest))
        self.assertEqual(sorted(k.decode() for k in self.r.call("KEYS", "*")), sorted(junk))

    def index(self, type_):
        """The digests of the index bucket of `type_` for this hour (or the last, at the turn)."""
        hour = int(time.time()) // 3600
        for h in (hour, hour - 1):
            members = self.r.call("LRANGE", f"mp:cache:index:v1:{type_}:{h}", "0", "-1")
            if members:
                return members
        return []

    def test_import_indexes_what_it_stores(self):
        entries = self.seed_mix()
        self.assertEqual(sorted(self.index("summary")),
                         sorted(bytes.fromhex(e["key"].rsplit(":", 1)[1]) for e in entries if ":summary:" in e["key"]))
        hour = int(time.time()) // 3600
        ttl = max(self.r.call("TTL", f"mp:cache:index:v1:classification:{h}") for h in (hour, hour - 1))
        self.assertGreater(ttl, TTL, "the bucket outlives the keys it names")

    def test_flush_empties_the_index_and_sweeps_what_it_does_not_name(self):
        """The index speeds a flush up; it is never trusted to be complete or current."""
        entries = [entry(TYPES[i % 4], i) for i in range(2000)]
        self.seed(entries)
        # Written by something other than mp (no index), and one deleted by hand (a stale digest).
        unindexed = [key(t, 10_000 + i) for t in TYPES for i in range(50)]
        for k in unindexed:
            self.r.call("SET", k, "x", "EX", str(TTL))
        self.r.call("DEL", entries[0]["key"])
        self.r.call("SET", "unrelated", "x")
        out = self.cache("flush", "--yes", "--type", "summary")
        self.assertEqual(out.returncode, 0, out.stderr)
        summary = [k for k in [e["key"] for e in entries] + unindexed if ":summary:" in k]
        self.assertEqual(json.loads(out.stdout)["deleted"], len(summary))
        self.assertEqual(self.r.call("EXISTS", *summary), 0)
        self.assertEqual(self.index("summary"), [], "the summary bucket was emptied")
        self.assertEqual(len(self.index("analysis")), 500, "other types' buckets are left as they are")
        out = self.cache("flush", "--yes")
        self.assertEqual(out.returncode, 0, out.stderr)
        r = json.loads(out.stdout)
        self.assertEqual(r["deleted"], 2000 + 200 - 1 - len(summary))
        self.assertGreaterEqual(r["matched"], r["deleted"])
        self.assertEqual([k.decode() for k in self.r.call("KEYS", "*")], ["unrelated"], "keys and index gone")

    def test_flush_by_age_decides_by_ttl_not_by_the_index(self):
        """An import dates its keys by their TTL, so an hour-old key sits in this hour's bucket:
        --older-than must still find it, and leave the young keys of that bucket alone."""
        self.seed_mix()
        out = self.cache("flush", "--yes", "--older-than", "1h")
        self.assertEqual(json.loads(out.stdout)["deleted"], 2)
        self.assertEqual(len(ndjson(self.cache("ls").stdout)), 8)
        self.assertEqual(len(self.index("summary")), 3, "the index is left to the next full flush")

    def test_export_then_import_round_trips(self):
        entries = self.seed_mix()
        out = self.cache("export")
        self.assertEqual(out.returncode, 0, out.stderr)
        exported = ndjson(out.stdout)
        self.assertEqual(len(exported), len(entries))
        by_key = {e["key"]: e for e in entries}
        for line in exported:
            self.assertEqual(set(line), {"key", "ttl_s", "value"})
            self.assertEqual(line["value"], by_key[line["key"]]["value"])
            self.assertLessEqual(abs(line["ttl_s"] - by_key[line["key"]]["ttl_s"]), 10)
        self.assertEqual(len(ndjson(self.cache("export", "--type", "analysis").stdout)), 3)
        self.cache("flush", "--yes")
        self.assertEqual(self.seed(exported)["imported"], len(entries))
        self.assertEqual(json.loads(self.cache("get", key("summary", 10)).stdout), by_key[key("summary", 10)]["value"])

    def test_scan_never_keys(self):
        self.seed_mix()
        self.r.call("CONFIG", "RESETSTAT")
        for args in (["stats"], ["ls", "--type", "summary"], ["export"], ["flush", "--dry-run"], ["flush", "--yes"]):
            self.assertEqual(self.cache(*args).returncode, 0, args)
        stats = self.r.call("INFO", "commandstats").decode()
        self.assertIn("cmdstat_scan", stats)
        self.assertNotIn("cmdstat_keys", stats)

    def test_unreachable_redis_exits_3(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        out = mp_cache("--redis", f"redis://127.0.0.1:{closed}/0", "stats")
        self.assertEqual(out.returncode, 3, out.stderr)
        self.assertIn("mp-cache: error:", out.stderr)

    def test_bad_flags_and_no_cache_exit_2(self):
        for args in (["ls", "--bogus"], ["flush", "--type", "nope", "--yes"], ["ls", "--older-than", "5x"],
                     ["import", "--ttl", "0"], ["get"], ["--redis", "http://x", "stats"]):
            with self.subTest(args=args):
                self.assertEqual(self.cache(*args).returncode, 2)
        out = mp_cache("stats")
        self.assertEqual(out.returncode, 2)
        self.assertIn("--server", out.stderr)

    def test_config_file_names_redis_like_mp_serve(self):
        self.seed([entry("summary", 1)])
        path = os.path.join(os.environ["MP_REDIS_STATE"], "cache-test.toml")
        with open(path, "w") as f:
            f.write(f'[redis]\nurl = "{self.url}"\n')
        out = mp_cache("--config", path, "ls")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual([r["key"] for r in ndjson(out.stdout)], [key("summary", 1)])


class CacheServer(unittest.TestCase):
    """--server: the admin endpoints of an mp-serve without Redis (its L1)."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(env={"MP_API_KEYS": f"{ADMIN}:admin,{USER}:user:alice"})
        cls.base = f"http://127.0.0.1:{cls.server.port}"

    @classmethod
    def tearDownClass(cls):
        code = cls.server.terminate()
        if code != 0:
            raise AssertionError(f"mp-serve exited {code}:\n{cls.server.log()}")

    def cache(self, *args, key=ADMIN, **kw):
        return mp_cache("--server", self.base, *args, env={"MP_API_KEY": key}, **kw)

    def setUp(self):
        self.assertEqual(self.cache("flush", "--yes").returncode, 0)
        entries = [entry(t, i) for t in TYPES for i in range(2)] + [entry("summary", 10, age=7200)]
        out = self.cache("import", stdin="".join(json.dumps(e) + "\n" for e in entries))
        self.assertEqual(json.loads(out.stdout), {"imported": 9, "existing": 0, "bad_lines": 0}, out.stderr)
        self.entries = entries

    def add_fresh_entry_later(self):
        time.sleep(2.1)
        out = self.cache("import", stdin=json.dumps(entry("summary", 20)) + "\n")
        self.assertEqual(json.loads(out.stdout)["imported"], 1, out.stderr)

    def test_ls_with_filters(self):
        rows = ndjson(self.cache("ls").stdout)
        self.assertEqual(sorted(r["key"] for r in rows), sorted(e["key"] for e in self.entries))
        self.assertEqual(len(ndjson(self.cache("ls", "--type", "summary").stdout)), 3)
        # The L1 knows when each entry was stored: ages are real, not derived from the TTL.
        self.add_fresh_entry_later()
        old = ndjson(self.cache("ls", "--older-than", "2s").stdout)
        self.assertEqual(sorted(r["key"] for r in old), sorted(e["key"] for e in self.entries))
        self.assertEqual(len(ndjson(self.cache("ls", "--pattern", "mp:cache:v1:analysis:*").stdout)), 2)
        self.assertEqual(len(ndjson(self.cache("ls", "--limit", "4").stdout)), 4)

    def test_get_del_stats_export(self):
        e = self.entries[0]
        self.assertEqual(json.loads(self.cache("get", e["key"]).stdout), e["value"])
        self.assertEqual(json.loads(self.cache("del", e["key"], key("summary", 77)).stdout),
                         {"deleted": 1, "requested": 2})
        self.assertEqual(self.cache("get", e["key"]).returncode, 1)
        s = json.loads(self.cache("stats", "--format", "json").stdout)
        self.assertEqual(s["keys"], 8)
        self.assertEqual(s["by_type"]["summary"]["keys"], 3)
        exported = ndjson(self.cache("export", "--type", "summary").stdout)
        self.assertEqual(len(exported), 3)
        self.assertEqual({x["key"]: x["value"] for x in exported}[key("summary", 10)], entry("summary", 10)["value"])

    def test_ls_pipes_into_del(self):
        listed = self.cache("ls", "--type", "analysis").stdout
        self.assertEqual(json.loads(self.cache("del", "-", stdin=listed).stdout)["deleted"], 2)
        self.assertEqual(len(ndjson(self.cache("ls").stdout)), 7)

    def test_flush_dry_run_then_for_real(self):
        r = json.loads(self.cache("flush", "--dry-run", "--type", "summary").stdout)
        self.assertEqual((r["matched"], r["deleted"]), (3, 0))
        self.assertEqual(self.cache("flush", "--type", "summary").returncode, 2, "no --yes on a pipe")
        self.add_fresh_entry_later()
        r = json.loads(self.cache("flush", "--yes", "--older-than", "2s").stdout)
        self.assertEqual(r["deleted"], 9)
        self.assertEqual([x["key"] for x in ndjson(self.cache("ls").stdout)], [key("summary", 20)])
        r = json.loads(self.cache("flush", "--yes").stdout)
        self.assertEqual(r["deleted"], 1)
        self.assertEqual(self.cache("ls").stdout, "")

    def test_a_real_result_is_listed(self):
        email = {"email_id": 1, "subject": "Lunch?", "sender": "bob@example.com", "content": "Lunch on Friday?",
                 "request_type": "summary", "wait_ms": 5000}
        status, _, body = self.server.request("POST", "/api/ai/process", body=json.dumps(email).encode(),
                                              headers={"Content-Type": "application/json",
                                                       "Authorization": f"Bearer {ADMIN}"})
        self.assertEqual(status, 200, body)
        result = json.loads(body)["result"]
        rows = [r for r in ndjson(self.cache("ls", "--type", "summary").stdout)
                if r["key"] not in {e["key"] for e in self.entries}]
        self.assertEqual(len(rows), 1)
        self.assertEqual(json.loads(self.cache("get", rows[0]["key"]).stdout), result)

    def test_a_user_key_gets_403(self):
        out = self.cache("ls", key=USER)
        self.assertEqual(out.returncode, 2)
        self.assertIn("403", out.stderr)
        for method, path in (("GET", "/api/admin/cache/stats"), ("GET", "/api/admin/cache/keys"),
                             ("POST", "/api/admin/cache/flush"), ("DELETE", f"/api/admin/cache/keys/{key('summary', 1)}")):
            status, _, body = self.server.request(method, path, headers={"Authorization": f"Bearer {USER}"})
            self.assertEqual(status, 403, path)
            self.assertEqual(json.loads(body)["error"]["code"], "forbidden")
            status, _, body = self.server.request(method, path)
            self.assertEqual(status, 401, path)
        self.assertEqual(len(ndjson(self.cache("ls").stdout)), 9, "nothing was deleted")


if __name__ == "__main__":
    unittest.main()
