"""The performance monitor: mp-serve writes its history to SQLite every second, evaluates
alert rules and notifies a webhook; /api/performance/report and /alerts answer from it;
mp-monitor reads the same file. A kill -9 during writes leaves the file intact."""
import http.server
import json
import os
import sqlite3
import subprocess
import tempfile
import threading
import unittest

from harness import FakeUpstream, Server, post_json, run_tool, tool, wait_until

RULES = """
[monitoring]
collection_interval_seconds = 1
alert_evaluation_interval_seconds = 1

[[monitoring.alerts]]
metric_name = "ai_requests_per_minute"
condition = ">"
value = 0
severity = "warning"
description = "Requests arrive"
"""


class Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hook.received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Monitor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hook = http.server.HTTPServer(("127.0.0.1", 0), Hook)
        cls.hook_thread = threading.Thread(target=cls.hook.serve_forever, daemon=True)
        cls.hook_thread.start()
        cls.dir = tempfile.mkdtemp(prefix="mp-monitor-test-")
        cls.config = os.path.join(cls.dir, "mp.toml")
        with open(cls.config, "w") as f:
            f.write(RULES)
        cls.db = os.path.join(cls.dir, "metrics.db")
        cls.server = Server("--config", cls.config, "--set", f"monitoring.db_path={cls.db}",
                            "--set", f"monitoring.webhooks=http://127.0.0.1:{cls.hook.server_port}/hook")

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.hook.shutdown()

    def monitor(self, *args):
        return run_tool("mp-monitor", "--db", self.db, *args)

    def test_history_alerts_report_and_mp_monitor(self):
        for i in range(5):
            status, _, _ = post_json(self.server, "/api/ai/process",
                                     {"email_id": i, "content": f"Monitor me, number {i}", "wait_ms": 2000})
            self.assertEqual(status, 200)
        # The rule fires within a couple of ticks and the webhook hears of it.
        self.assertTrue(wait_until(lambda: any(h.get("state") == "firing" for h in Hook.received), 15),
                        f"webhook got {Hook.received}; log:\n{self.server.log()}")
        firing = next(h for h in Hook.received if h.get("state") == "firing")
        self.assertEqual(firing["rule"], "ai_requests_per_minute > 0")
        self.assertEqual(firing["severity"], "warning")

        status, _, body = self.server.request("GET", "/api/performance/alerts")
        self.assertEqual(status, 200)
        alerts = json.loads(body)
        self.assertIn("ai_requests_per_minute > 0", [a["rule"] for a in alerts["active"]])
        self.assertTrue(any(r["state"] == "firing" for r in alerts["recent"]))

        status, _, body = self.server.request("GET", "/api/performance/report?hours=1")
        self.assertEqual(status, 200, body)
        report = json.loads(body)
        self.assertGreaterEqual(report["system_health_score"], 0)
        self.assertLessEqual(report["system_health_score"], 100)
        for key in ("health", "sla_compliance", "error_budget_burn", "alerts", "scaling_recommendations",
                    "performance_summary"):
            self.assertIn(key, report)
        self.assertEqual(self.server.request("GET", "/api/performance/report?hours=abc")[0], 400)

        # mp-monitor reads the live file (WAL: readers run beside the writer).
        self.assertTrue(wait_until(lambda: "ai_requests_per_minute" in self.monitor("query", "--list").stdout, 10))
        r = self.monitor("query", "ai_requests_per_minute", "--since", "10m", "--agg", "max", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        points = json.loads(r.stdout)
        self.assertTrue(points and max(p["value"] for p in points) >= 5, points)
        r = self.monitor("query", "process_rss_bytes", "--since", "10m", "--agg", "max", "--format", "json")
        self.assertTrue(json.loads(r.stdout)[0]["value"] > 1e6, r.stdout)
        r = self.monitor("report", "--hours", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("system_health_score", json.loads(r.stdout))
        r = self.monitor("report", "--hours", "1", "--fail-on", "warning")
        self.assertEqual(r.returncode, 99, r.stdout + r.stderr)
        r = self.monitor("alerts", "--active", "--format", "json")
        self.assertIn("ai_requests_per_minute > 0", [a["rule"] for a in json.loads(r.stdout)])
        r = self.monitor("export", "--since", "10m", "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("ts,metric,labels,value"), r.stdout[:200])
        self.assertIn("mp_http_requests_total", r.stdout)

    def test_report_and_alerts_from_a_server_with_url(self):
        """--url asks a running mp-serve (its /api/performance endpoints) instead of the file."""
        base = f"http://127.0.0.1:{self.server.port}"
        r = run_tool("mp-monitor", "report", "--url", base, "--hours", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads(r.stdout)
        self.assertIn("system_health_score", report)
        self.assertIn("sla_compliance", report)
        r = run_tool("mp-monitor", "alerts", "--url", base + "/", "--since", "10m")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("active", json.loads(r.stdout))
        # Nothing listening: exit 3 naming --url; an error status: the server's answer.
        r = run_tool("mp-monitor", "report", "--url", "http://127.0.0.1:1")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("--url http://127.0.0.1:1", r.stderr)
        r = run_tool("mp-monitor", "report", "--url", base + "/nope")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("answered 404", r.stderr)

    def test_bad_flags_name_the_flag(self):
        r = self.monitor("query", "ai_requests_per_minute", "--agg", "median")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--agg", r.stderr)
        r = self.monitor("query", "no_such_metric")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no_such_metric", r.stderr)
        r = run_tool("mp-monitor", "--db", os.path.join(self.dir, "absent.db"), "report")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--db", r.stderr)
        r = self.monitor("query", "x", "--since", "yesterday")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--since", r.stderr)


RULES_TEST = """
[[monitoring.alerts]]
metric_name = "error_rate_percent"
condition = ">"
value = 5.0
clear_value = 4.0
severity = "warning"
for_seconds = 2
escalate_after_seconds = 3

[test]
interval_seconds = 1

[[test.series]]
metric = "error_rate_percent"
values = [1, 7, 7, 7, 4.5, 7, 7, 3, 3]

[[test.expect]]
at = 1
rule = "error_rate_percent > 5"
state = "pending"

[[test.expect]]
at = 3
rule = "error_rate_percent > 5"
state = "firing"
severity = "warning"

[[test.expect]]
at = 4
rule = "error_rate_percent > 5"
state = "firing"

[[test.expect]]
at = 6
rule = "error_rate_percent > 5"
state = "firing"
severity = "critical"

[[test.expect]]
at = 7
rule = "error_rate_percent > 5"
state = "resolved"
"""


class Tools(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mp-monitor-tools-")

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_test_rules_passes_and_fails_with_99(self):
        path = self.write("rules.toml", RULES_TEST)
        r = run_tool("mp-monitor", "test-rules", path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("5 of 5 expectations met", r.stdout)
        wrong = self.write("wrong.toml", RULES_TEST.replace('state = "pending"', 'state = "firing"'))
        r = run_tool("mp-monitor", "test-rules", wrong)
        self.assertEqual(r.returncode, 99, r.stdout + r.stderr)
        self.assertIn("FAIL step 1", r.stdout)
        bad = self.write("bad.toml", RULES_TEST.replace('condition = ">"', 'condition = "=>"'))
        r = run_tool("mp-monitor", "test-rules", bad)
        self.assertEqual(r.returncode, 2)
        self.assertIn("monitoring.alerts[0].condition", r.stderr)

    def test_ingest_stores_bench_ndjson_as_series_and_watch_shows_metrics(self):
        db = os.path.join(self.dir, "ci.db")
        lines = "".join(json.dumps({"type": "interval", "run_id": "r1", "ts": 1796000000 + i,
                                    "rps": 1000 + i, "latency": {"p99_ms": 20 + i}}) + "\n" for i in range(10))
        lines += json.dumps({"type": "summary", "run_id": "r1", "ts": 1796000010, "rps": 1004.5}) + "\n"
        r = subprocess.run([tool("mp-monitor"), "--db", db, "ingest"], input=lines, capture_output=True, text=True,
                           timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ingested 21 samples from 11 lines", r.stderr)
        r = run_tool("mp-monitor", "--db", db, "query", "bench_latency_p99_ms", "--since", "1796000000",
                     "--until", "1796000100", "--agg", "max", "--step", "3600", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)[0]["value"], 29)
        r = subprocess.run([tool("mp-monitor"), "--db", db, "ingest"], input="{not json\n", capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertIn("line 1", r.stderr)
        r = run_tool("mp-monitor", "--db", db, "watch", "--count", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ai_response_time_ms", r.stdout)


class BurnRate(unittest.TestCase):
    def test_failing_upstream_pages_through_the_burn_rate_alert(self):
        fake = FakeUpstream()
        d = tempfile.mkdtemp(prefix="mp-monitor-burn-")
        server = Server("--set", "ai_processing.provider=openai",
                        "--set", f"ai_processing.openai.base_url={fake.base_url}",
                        "--set", "ai_processing.retry.max_attempts=1",
                        "--set", "ai_processing.circuit_breaker.failure_threshold=0",
                        "--set", "monitoring.collection_interval_seconds=1",
                        "--set", "monitoring.alert_evaluation_interval_seconds=1",
                        "--set", f"monitoring.db_path={os.path.join(d, 'm.db')}", env={"OPENAI_API_KEY": "k"})
        try:
            fake.script([], default={"status": 500, "body": {"error": {"message": "down"}}})
            for i in range(10):
                post_json(server, "/api/ai/process", {"email_id": i, "content": f"will fail {i}", "wait_ms": 3000})

            def paged():
                _, _, body = server.request("GET", "/api/performance/alerts")
                return [a for a in json.loads(body)["active"] if a["rule"] == "error_budget_burn_page"]
            self.assertTrue(wait_until(paged, 15), server.log())
            self.assertEqual(paged()[0]["severity"], "critical")
            _, _, body = server.request("GET", "/api/performance/report?hours=1")
            burn = json.loads(body)["error_budget_burn"]
            self.assertTrue(any(a.get("active") for a in burn["alerts"]), burn)
        finally:
            server.terminate()
            fake.stop()


class Durability(unittest.TestCase):
    def test_kill_9_during_writes_leaves_the_database_intact(self):
        d = tempfile.mkdtemp(prefix="mp-monitor-kill-")
        db = os.path.join(d, "metrics.db")
        server = Server("--set", f"monitoring.db_path={db}", "--set", "monitoring.collection_interval_seconds=1")
        try:
            # Traffic makes many series, so each tick's transaction is a large one.
            for i in range(30):
                post_json(server, "/api/ai/process", {"email_id": i, "content": f"kill test {i}"})
            wait_until(lambda: os.path.exists(db + "-wal") and os.path.getsize(db + "-wal") > 0, 10)
        finally:
            server.kill()
        conn = sqlite3.connect(db)
        try:
            self.assertEqual(conn.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertGreater(conn.execute("SELECT count(*) FROM samples").fetchone()[0], 0)
        finally:
            conn.close()


if __name__ == "__main__":
    unittest.main()
