"""mp-bench, black box: the real binary against tests/fakes/scripted_http.py (delays, stalls,
scripted statuses, a count of what arrived each second) and, for WebSocket, a real mp-serve.

The contract under test is mp-bench's CLI, exit codes and NDJSON (issue #6): rate accuracy,
CO-correct latency (a 1 s stall shows in the percentiles), thresholds and exit codes, errors
by kind, the NDJSON schema, the closed model, stages and profiles, scalability, abort on
fail, report, compare, the ai and ws targets and mp-monitor ingest. Runs are short (2-6 s at
a few hundred req/s) and every subprocess has a timeout; every process started here is
stopped by its PID.
"""
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import SOURCE_DIR, Server, run_tool, tool

FAKE = os.path.join(SOURCE_DIR, "tests", "fakes", "scripted_http.py")
RUN_TIMEOUT = 60  # seconds: the bound of every mp-bench run (each asks for 2-6 s)
LATENCY_KEYS = ("p50", "p90", "p95", "p99", "p99_9", "max", "mean")
ADMIN = "admin-bench-key-0001"


class ScriptedServer:
    """scripted_http.py on a free loopback port; `cleanup` (addCleanup or addClassCleanup)
    stops it by its PID."""

    def __init__(self, cleanup, script=None):
        self.proc = subprocess.Popen(["python3", FAKE, "--port", "0", "--script", json.dumps(script or {})],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                     stdin=subprocess.DEVNULL)
        cleanup(self.stop)
        self.lines = []
        self.port = None
        found = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.lines.append(line)
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    found.set()
            found.set()
        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not found.wait(15) or self.port is None:
            raise RuntimeError("scripted_http.py did not start:\n" + "".join(self.lines))
        self.url = f"http://127.0.0.1:{self.port}/"
        self.base_url = f"http://127.0.0.1:{self.port}"

    def get(self, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def stats(self):
        return self.get("/_stats")

    def recorded(self):
        return self.get("/_requests")["requests"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.reader.join(5)
        self.proc.stderr.close()


class Run:
    """One finished mp-bench invocation: exit code, parsed NDJSON lines, stderr, wall time."""

    def __init__(self, argv, proc, wall):
        self.argv = argv
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.wall = wall
        self.events = []
        self.bad_lines = []
        for line in proc.stdout.splitlines():
            if not line.strip():
                continue
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.bad_lines.append(line)

    @property
    def summary(self):
        last = self.events[-1] if self.events else None
        return last if isinstance(last, dict) and last.get("type") == "summary" else None

    def intervals(self, warmup=None):
        return [e for e in self.events if e.get("type") == "interval" and (warmup is None or
                                                                          bool(e.get("warmup")) == warmup)]

    def describe(self):
        """The command, its exit, stderr's tail and the summary (or stdout's tail)."""
        s = self.summary
        shown = json.dumps({k: s.get(k) for k in ("requests", "errors", "error_rate", "target_rps", "achieved_rps",
                                                  "latency_ms", "service_ms", "error_kinds", "thresholds",
                                                  "passed", "aborted", "stages", "system_capacity",
                                                  "performance_summary", "ws", "warnings")}) if s else \
            self.stdout[-1500:]
        return (f"\n$ mp-bench {' '.join(self.argv)}\nexit {self.code} after {self.wall:.1f}s\n"
                f"stderr: {self.stderr[-1500:]}\nsummary: {shown}")


class BenchTest(unittest.TestCase):
    def bench(self, *args, timeout=RUN_TIMEOUT, input=None):
        t = time.monotonic()
        if input is None:
            proc = run_tool("mp-bench", *args, timeout=timeout)
        else:
            proc = subprocess.run([tool("mp-bench"), *args], input=input, capture_output=True, text=True,
                                  timeout=timeout)
        return Run(args, proc, time.monotonic() - t)

    def run_ok(self, *args, codes=(0,), **kw):
        """A run that must exit with one of `codes` and end with a summary."""
        r = self.bench(*args, **kw)
        self.assertIn(r.code, codes, r.describe())
        self.assertIsNotNone(r.summary, r.describe())
        return r

    def fake(self, script=None):
        return ScriptedServer(self.addCleanup, script)

    def write(self, name, text):
        d = tempfile.mkdtemp(prefix="mp-bench-test-")
        self.addCleanup(lambda: shutil.rmtree(d, ignore_errors=True))
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def threshold(self, summary, expr):
        entries = [t for t in summary.get("thresholds", []) if t.get("expr") == expr]
        self.assertEqual(len(entries), 1, f"{expr}: {summary.get('thresholds')}")
        return entries[0]

    def assertWithin(self, value, target, fraction, what):
        self.assertLessEqual(abs(value - target), target * fraction,
                             f"{what}: {value} is not within {fraction:.0%} of {target}")


class Rate(BenchTest):
    def test_open_model_holds_the_rate_at_the_client_and_at_the_server(self):
        srv = self.fake()
        r = self.run_ok("run", "load", "--url", srv.url, "--rate", "300", "--duration", "4s", "--warmup", "1s",
                        "--quiet")
        s = r.summary
        self.assertWithin(s["achieved_rps"], 300, 0.03, "summary achieved_rps" + r.describe())
        self.assertEqual(s["rps"], s["achieved_rps"], r.describe())
        self.assertEqual(s["target_rps"], 300, r.describe())
        # What the server saw, in the whole seconds after the warm-up and before the last request.
        st = srv.stats()
        first, last = st["first_ts"], st["last_ts"]
        seconds = {int(k): v for k, v in st["per_second"].items()
                   if int(k) >= first + 1.0 + 0.1 and int(k) + 1 <= last - 0.1}
        self.assertGreaterEqual(len(seconds), 2, f"{st}{r.describe()}")
        for sec, count in sorted(seconds.items()):
            self.assertWithin(count, 300, 0.05, f"the server's count in second {sec} ({st['per_second']})")


class Latency(BenchTest):
    def test_a_one_second_stall_shows_in_p99_as_a_user_felt_it(self):
        # The server freezes for 1 s in the middle of the measured 5 s. With only 4 connections
        # a generator timing from the actual send would see 4 slow requests of 1,000 and hide
        # the stall; timed from the intended send, the ~200 requests due meanwhile waited up to 1 s.
        srv = self.fake({"stalls": [{"at_s": 3.0, "for_s": 1.0}]})
        r = self.run_ok("run", "load", "--url", srv.url, "--rate", "200", "--duration", "5s", "--warmup", "1s",
                        "--connections", "4", "--timeout", "5s", "--quiet")
        s = r.summary
        lat, svc = s["latency_ms"], s["service_ms"]
        self.assertGreaterEqual(lat["p99"], 800, "the stall is hidden (coordinated omission)" + r.describe())
        self.assertLess(lat["p50"], 100, r.describe())
        self.assertLessEqual(svc["p99"], lat["p99"], r.describe())
        self.assertGreaterEqual(lat["max"], 900, r.describe())
        self.assertEqual(s["errors"], 0, r.describe())
        self.assertGreater(s["late"], 0, "requests due during the stall went out late" + r.describe())
        self.assertWithin(s["requests"], 1000, 0.03, "the requests due in 5 s at 200 req/s" + r.describe())


class Thresholds(BenchTest):
    @classmethod
    def setUpClass(cls):
        cls.slow = ScriptedServer(cls.addClassCleanup, {"delay_ms": 20})

    def test_a_breached_threshold_exits_99_with_its_value(self):
        r = self.bench("run", "load", "--url", self.slow.url, "--rate", "100", "--duration", "2s", "--warmup", "0s",
                       "--threshold", "p99<1ms", "--threshold", "p99<5", "--threshold", "p99<1s",
                       "--threshold", "error_rate<1%", "--quiet")
        self.assertEqual(r.code, 99, r.describe())
        s = r.summary
        self.assertIsNotNone(s, r.describe())
        self.assertIs(s["passed"], False, r.describe())
        breached = self.threshold(s, "p99<1ms")
        self.assertEqual((breached["ok"], breached["metric"], breached["op"], breached["limit"], breached["unit"]),
                         (False, "p99", "<", 1, "ms"), breached)
        self.assertGreaterEqual(breached["value"], 15, f"p99 in ms against a 20 ms server: {breached}")
        # A bare number is milliseconds: 5 (ms) is breached by a 20 ms server, 1 s is not.
        self.assertIs(self.threshold(s, "p99<5")["ok"], False, s["thresholds"])
        self.assertIs(self.threshold(s, "p99<1s")["ok"], True, s["thresholds"])
        rate = self.threshold(s, "error_rate<1%")
        self.assertIs(rate["ok"], True, rate)
        self.assertEqual(rate["value"], 0, rate)
        self.assertEqual(s["config"]["thresholds"], ["p99<1ms", "p99<5", "p99<1s", "error_rate<1%"], s["config"])

    def test_thresholds_that_hold_exit_0_and_pass(self):
        r = self.bench("run", "load", "--url", self.slow.url, "--rate", "100", "--duration", "2s", "--warmup", "0s",
                       "--threshold", "p99<500ms", "--threshold", "error_rate<1%", "--threshold", "rps>50",
                       "--quiet")
        self.assertEqual(r.code, 0, r.describe())
        self.assertIs(r.summary["passed"], True, r.describe())
        self.assertTrue(all(t["ok"] for t in r.summary["thresholds"]), r.summary["thresholds"])
        self.assertEqual(len(r.summary["thresholds"]), 3, r.summary["thresholds"])

    def test_a_threshold_on_an_unknown_metric_is_a_usage_error_before_any_request(self):
        srv = self.fake()
        r = self.bench("run", "load", "--url", srv.url, "--rate", "100", "--duration", "2s",
                       "--threshold", "bogus<1", timeout=20)
        self.assertEqual(r.code, 2, r.describe())
        self.assertIn("bogus", r.stderr)
        self.assertEqual(r.events, [], "a start or interval was written" + r.describe())
        self.assertEqual(srv.stats()["requests"], 0, "requests were sent")

    def test_a_bad_duration_is_a_usage_error_naming_the_flag(self):
        srv = self.fake()
        r = self.bench("run", "load", "--url", srv.url, "--duration", "5x", timeout=20)
        self.assertEqual(r.code, 2, r.describe())
        self.assertIn("--duration", r.stderr)
        self.assertEqual(srv.stats()["requests"], 0)


class Errors(BenchTest):
    def test_every_tenth_500_is_counted_by_kind(self):
        srv = self.fake({"status": [{"every": 10, "code": 500}]})
        r = self.run_ok("run", "load", "--url", srv.url, "--rate", "200", "--duration", "3s", "--warmup", "0s",
                        "--quiet")
        s = r.summary
        self.assertGreater(s["requests"], 500, r.describe())
        self.assertAlmostEqual(s["error_kinds"].get("status_500", 0) / s["requests"], 0.1, delta=0.015,
                               msg=r.describe())
        self.assertAlmostEqual(s["error_rate"], 0.1, delta=0.015, msg=r.describe())
        self.assertEqual(s["errors"], sum(s["error_kinds"].values()), r.describe())
        self.assertEqual(s["status"].get("500"), s["error_kinds"]["status_500"], r.describe())
        self.assertEqual(s["ok"] + s["errors"], s["requests"], r.describe())

    def test_nothing_listening_exits_3_with_connect_refused(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        r = self.bench("run", "load", "--url", f"http://127.0.0.1:{port}/", "--rate", "50", "--duration", "2s",
                       "--warmup", "0s", "--quiet", timeout=30)
        self.assertEqual(r.code, 3, r.describe())
        if r.summary is not None:
            self.assertGreater(r.summary["error_kinds"].get("connect_refused", 0), 0, r.describe())
        else:
            self.assertIn("connect_refused", r.stderr, r.describe())


class RecordedRun(BenchTest):
    """One run, kept as NDJSON: its schema, report, compare and mp-monitor ingest."""

    @classmethod
    def setUpClass(cls):
        cls.srv = ScriptedServer(cls.addClassCleanup, {"delay_ms": 1, "status": [{"every": 20, "code": 503}],
                                                       "chunked": True})
        cls.dir = tempfile.mkdtemp(prefix="mp-bench-run-")
        cls.addClassCleanup(lambda: shutil.rmtree(cls.dir, ignore_errors=True))
        cls.argv = ("run", "load", "--url", cls.srv.url, "--rate", "200", "--duration", "3s", "--warmup", "1s",
                    "--run-id", "rec-1", "--quiet")
        t = time.monotonic()
        proc = run_tool("mp-bench", *cls.argv, timeout=RUN_TIMEOUT)
        cls.rec = Run(cls.argv, proc, time.monotonic() - t)
        cls.path = os.path.join(cls.dir, "run.ndjson")
        with open(cls.path, "w") as f:
            f.write(proc.stdout)

    def setUp(self):
        self.assertEqual(self.rec.code, 0, self.rec.describe())
        self.assertIsNotNone(self.rec.summary, self.rec.describe())

    def test_every_line_is_a_typed_event_start_intervals_summary(self):
        r = self.rec
        self.assertEqual(r.bad_lines, [], "stdout lines that are not JSON")
        types = [e.get("type") for e in r.events]
        self.assertEqual(types[0], "start", types)
        self.assertEqual(types[-1], "summary", types)
        self.assertEqual(set(types[1:-1]), {"interval"}, types)
        self.assertGreaterEqual(len(types), 2 + 4, types)
        last_ts = 0
        for e in r.events:
            for key, kind in (("type", str), ("run_id", str), ("test", str), ("ts", (int, float))):
                self.assertIsInstance(e.get(key), kind, f"{key} in {json.dumps(e)[:300]}")
            self.assertEqual((e["run_id"], e["test"]), ("rec-1", "load"), json.dumps(e)[:300])
            self.assertGreater(e["ts"], 1.7e9, e["ts"])
            self.assertGreaterEqual(e["ts"], last_ts, "ts goes back")
            last_ts = e["ts"]
        cfg = r.events[0]["config"]
        self.assertEqual((cfg["target"], cfg["model"], cfg["rate"]), ("http", "open", 200), cfg)
        self.assertEqual((cfg["duration_s"], cfg["warmup_s"]), (3, 1), cfg)
        self.assertEqual(r.summary["config"], cfg)

    def test_intervals_carry_the_series_and_warmup_is_left_out(self):
        r = self.rec
        for e in r.intervals():
            for key in ("t", "dt", "target_rps", "achieved_rps", "requests", "ok", "errors", "late", "dropped",
                        "status", "error_kinds", "generator_cpu", "connections", "warmup", "stage"):
                self.assertIn(key, e, json.dumps(e))
            for block in ("latency_ms", "service_ms"):
                self.assertEqual(set(LATENCY_KEYS) - set(e[block]), set(), json.dumps(e))
            self.assertEqual(e["errors"], sum(e["error_kinds"].values()), json.dumps(e))
            self.assertAlmostEqual(e["achieved_rps"], e["requests"] / e["dt"], delta=0.5, msg=json.dumps(e))
        warm, measured = r.intervals(warmup=True), r.intervals(warmup=False)
        self.assertGreaterEqual(len(warm), 1, "a 1 s warm-up gives a warmup=true interval")
        self.assertGreaterEqual(len(measured), 3)
        self.assertEqual(r.summary["requests"], sum(e["requests"] for e in measured), r.describe())
        self.assertEqual(r.summary["errors"], sum(e["errors"] for e in measured), r.describe())
        self.assertAlmostEqual(r.summary["duration_s"], 3, delta=0.3, msg=r.describe())
        ts = [e["t"] for e in r.intervals()]
        self.assertEqual(ts, sorted(ts))
        # The chunked responses were parsed: 1 in 20 is a 503, the rest are fine.
        self.assertEqual(r.summary["error_kinds"].get("protocol", 0), 0, r.describe())
        self.assertAlmostEqual(r.summary["error_rate"], 0.05, delta=0.015, msg=r.describe())

    def report(self, *args, input=None):
        return self.bench("report", *args, timeout=30, input=input)

    def assert_same_summary(self, got, where):
        want = self.rec.summary
        if got.get("type") != "summary" and isinstance(got.get("summary"), dict):
            got = got["summary"]
        for key in ("requests", "ok", "errors", "error_rate", "achieved_rps", "target_rps", "duration_s"):
            self.assertAlmostEqual(got.get(key), want[key], places=6, msg=f"{where}: {key}")
        for key in ("p50", "p99", "max"):
            self.assertAlmostEqual(got["latency_ms"][key], want["latency_ms"][key], places=6,
                                   msg=f"{where}: latency_ms.{key}")

    def test_report_json_repeats_the_summary(self):
        r = self.report(self.path, "--format", "json")
        self.assertEqual(r.code, 0, r.describe())
        self.assert_same_summary(json.loads(r.stdout), "report --format json")

    def test_report_reads_stdin(self):
        r = self.report("-", "--format", "json", input=self.rec.stdout)
        self.assertEqual(r.code, 0, r.describe())
        self.assert_same_summary(json.loads(r.stdout), "report - --format json")

    def test_report_csv_has_a_row_per_measured_interval(self):
        r = self.report(self.path, "--format", "csv")
        self.assertEqual(r.code, 0, r.describe())
        rows = [line for line in r.stdout.splitlines() if line.strip()]
        self.assertEqual(len(rows) - 1, len(self.rec.intervals(warmup=False)), r.stdout)
        width = len(rows[0].split(","))
        self.assertGreater(width, 3, rows[0])
        self.assertTrue(all(len(row.split(",")) == width for row in rows), r.stdout)

    def test_report_html_is_one_file_with_svg_charts(self):
        out = os.path.join(self.dir, "run.html")
        r = self.report(self.path, "--format", "html", "-o", out)
        self.assertEqual(r.code, 0, r.describe())
        with open(out) as f:
            html = f.read()
        self.assertIn("<svg", html)
        self.assertIn("</html>", html.lower())
        self.assertNotRegex(html, r"""(src|href)=["']?(https?:)?//""", "the report loads something from elsewhere")

    def test_report_table_shows_the_numbers(self):
        r = self.report(self.path, "--format", "table")
        self.assertEqual(r.code, 0, r.describe())
        self.assertIn("p99", r.stdout)
        self.assertIn(f"{self.rec.summary['requests']}", r.stdout)

    def test_compare_a_run_with_itself_finds_no_regression(self):
        r = self.bench("compare", self.path, self.path, timeout=30)
        self.assertEqual(r.code, 0, r.describe())

    def test_mp_monitor_ingests_the_run_as_bench_series(self):
        db = os.path.join(self.dir, "metrics.db")
        p = subprocess.run([tool("mp-monitor"), "ingest", "--db", db], input=self.rec.stdout, capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, r"ingested [1-9]\d* samples")
        q = run_tool("mp-monitor", "query", "--list", "--db", db)
        self.assertEqual(q.returncode, 0, q.stderr)
        for name in ("bench_achieved_rps", "bench_latency_ms_p99", "bench_requests"):
            self.assertIn(name, q.stdout)


class Compare(BenchTest):
    def test_a_slower_run_is_a_regression(self):
        fast, slow = self.fake(), self.fake({"delay_ms": 30})
        paths = {}
        for name, srv in (("fast", fast), ("slow", slow)):
            r = self.run_ok("run", "load", "--url", srv.url, "--rate", "100", "--duration", "2s", "--warmup", "0s",
                            "--quiet")
            paths[name] = self.write(f"{name}.ndjson", r.stdout)
        r = self.bench("compare", paths["fast"], paths["slow"], timeout=30)
        self.assertEqual(r.code, 99, r.describe())
        self.assertIn("p99", r.stdout)
        r = self.bench("compare", paths["fast"], paths["fast"], timeout=30)
        self.assertEqual(r.code, 0, r.describe())
        r = self.bench("compare", paths["fast"], paths["slow"], "--format", "json", timeout=30)
        self.assertEqual(r.code, 99, r.describe())
        json.loads(r.stdout)


class ClosedModel(BenchTest):
    def test_users_with_think_time_set_the_rate(self):
        srv = self.fake({"delay_ms": 10})
        r = self.run_ok("run", "load", "--url", srv.url, "--model", "closed", "--max-concurrent-users", "4",
                        "--think-time", "50ms", "--duration", "3s", "--quiet")
        expected = 4 / (0.050 + 0.010)
        self.assertWithin(r.summary["achieved_rps"], expected, 0.15, "closed model achieved_rps" + r.describe())
        self.assertEqual(r.summary["config"]["model"], "closed", r.describe())
        self.assertLessEqual(srv.stats()["max_in_flight"], 4, "more requests in flight than users")
        measured = r.intervals(warmup=False)
        self.assertTrue(any(e.get("users") == 4 for e in measured), [e.get("users") for e in measured])


class Stages(BenchTest):
    def stage_rates(self, r):
        return [round(st["target_rps"]) for st in r.summary["stages"]]

    def test_stress_steps_the_rate_up(self):
        srv = self.fake()
        r = self.run_ok("run", "stress", "--url", srv.url, "--rate", "100", "--duration", "4s", "--warmup", "0s",
                        "--quiet")
        cfg = r.summary["config"]["stages"]
        self.assertEqual([st["rate"] for st in cfg], [100, 150, 200, 300], cfg)
        self.assertEqual(self.stage_rates(r), [100, 150, 200, 300], r.describe())
        for st in r.summary["stages"]:
            self.assertWithin(st["achieved_rps"], st["target_rps"], 0.1, f"stage {st}")
            self.assertGreater(st["requests"], 0, st)
        self.assertEqual([st["index"] for st in r.summary["stages"]], [0, 1, 2, 3])

    def test_spike_jumps_to_five_times_and_back(self):
        srv = self.fake()
        r = self.run_ok("run", "spike", "--url", srv.url, "--rate", "50", "--duration", "5s", "--warmup", "0s",
                        "--quiet")
        self.assertEqual([st["rate"] for st in r.summary["config"]["stages"]], [50, 250, 50], r.describe())
        self.assertEqual(self.stage_rates(r), [50, 250, 50], r.describe())
        spike = r.summary["stages"][1]
        self.assertGreater(spike["achieved_rps"], 3 * r.summary["stages"][0]["achieved_rps"], r.describe())

    def test_a_profile_gives_the_stages_and_thresholds(self):
        srv = self.fake()
        profile = self.write("profile.toml", 'thresholds = ["p99<500ms"]\n\n'
                                             '[[stages]]\nduration = "2s"\nrate = 100\n\n'
                                             '[[stages]]\nduration = "2s"\nrate = 100\nend_rate = 200\n')
        r = self.run_ok("run", "load", "--url", srv.url, "--profile", profile, "--warmup", "0s", "--quiet")
        cfg = r.summary["config"]
        self.assertEqual([(st["duration_s"], st["rate"], st["end_rate"]) for st in cfg["stages"]],
                         [(2, 100, 100), (2, 100, 200)], cfg)
        self.assertEqual(cfg["thresholds"], ["p99<500ms"], cfg)
        self.assertEqual(self.threshold(r.summary, "p99<500ms")["ok"], True, r.describe())
        stages = r.summary["stages"]
        self.assertEqual(len(stages), 2, r.describe())
        self.assertWithin(stages[0]["achieved_rps"], 100, 0.1, f"stage 0 {stages[0]}")
        # The ramp from 100 to 200 averages 150.
        self.assertWithin(stages[1]["achieved_rps"], 150, 0.1, f"stage 1 {stages[1]}")
        self.assertWithin(r.summary["requests"], 500, 0.1, "requests of 2 s at 100 and a 2 s ramp to 200")


class Scalability(BenchTest):
    def test_the_breaking_point_is_below_the_first_step_that_falls_behind(self):
        # 10 connections to a server that takes 100 ms: at most ~100 req/s.
        srv = self.fake({"delay_ms": 100})
        r = self.run_ok("run", "scalability", "--url", srv.url, "--connections", "10", "--rate", "40",
                        "--step-duration", "1s", "--max-steps", "5", "--warmup", "1s", "--timeout", "5s",
                        "--quiet", codes=(0, 99))
        s = r.summary
        # Steps of 40 req/s, measured; the stepping may stop once the SLA broke.
        stages = [st for st in s["stages"] if not st.get("warmup")]
        targets = [round(st["target_rps"]) for st in stages]
        self.assertEqual(targets, [40, 80, 120, 160, 200][:len(targets)], r.describe())
        behind = [st for st in stages if st["achieved_rps"] < 0.95 * st["target_rps"]]
        self.assertTrue(behind, "no step fell behind" + r.describe())
        bp = s["system_capacity"]["breaking_point"]
        self.assertIsNotNone(bp, r.describe())
        self.assertLess(bp, behind[0]["target_rps"], r.describe())
        self.assertGreaterEqual(bp, 40, "the first step (40 req/s) holds" + r.describe())
        self.assertEqual(s["system_capacity"]["breaking_point_unit"], "req/s", r.describe())
        self.assertGreater(s["performance_summary"]["max_requests_per_second"], 0, r.describe())
        self.assertLess(s["performance_summary"]["max_requests_per_second"], 125, r.describe())


class Abort(BenchTest):
    def test_abort_on_fail_stops_early_with_99(self):
        srv = self.fake({"delay_ms": 20})
        r = self.bench("run", "load", "--url", srv.url, "--rate", "100", "--duration", "30s", "--warmup", "1s",
                       "--threshold", "p99<1ms", "--abort-on-fail", "--abort-grace", "1s", "--quiet")
        self.assertEqual(r.code, 99, r.describe())
        self.assertLess(r.wall, 10, r.describe())
        self.assertIsNotNone(r.summary, r.describe())
        self.assertIs(r.summary["aborted"], True, r.describe())
        self.assertIs(r.summary["passed"], False, r.describe())
        self.assertLess(r.summary["duration_s"], 10, r.describe())


class AiTarget(BenchTest):
    def test_emails_go_to_the_ai_api_with_the_asked_share_of_duplicates(self):
        srv = self.fake()
        r = self.run_ok("run", "load", "--base-url", srv.base_url, "--rate", "100", "--duration", "2s",
                        "--duplicate-ratio", "0.5", "--quiet")
        self.assertEqual(r.summary["config"]["target"], "ai", r.describe())
        self.assertEqual(r.summary["errors"], 0, r.describe())
        self.assertEqual(r.summary["status"].get("202"), r.summary["requests"], r.describe())
        reqs = srv.recorded()
        self.assertGreater(len(reqs), 150, len(reqs))
        self.assertEqual({(q["method"], q["path"]) for q in reqs}, {("POST", "/api/ai/process")})
        seen, duplicates = set(), 0
        for q in reqs:
            email = json.loads(q["body"])
            self.assertIsInstance(email.get("content"), str, q["body"])
            self.assertTrue(email["content"], q["body"])
            self.assertIn("email_id", email, q["body"])
            self.assertIn("json", q["headers"].get("content-type", ""), q["headers"])
            duplicates += q["body"] in seen
            seen.add(q["body"])
        self.assertAlmostEqual(duplicates / len(reqs), 0.5, delta=0.15,
                               msg=f"{duplicates} duplicates in {len(reqs)} requests")


class WebSocket(BenchTest):
    def test_fifty_connections_receive_every_broadcast(self):
        server = Server(env={"MP_API_KEYS": f"{ADMIN}:admin"})

        def stop():
            code = server.terminate()
            server.proc.stdout.close()
            server.proc.stderr.close()
            if code != 0:
                raise AssertionError(f"mp-serve exited {code}:\n{server.log()[-4000:]}")
        self.addCleanup(stop)
        r = self.run_ok("run", "load", "--url", f"ws://127.0.0.1:{server.port}/ws?token={ADMIN}", "--token", ADMIN,
                        "--connections", "50", "--publish-rate", "5", "--duration", "3s", "--quiet")
        s = r.summary
        ws = s.get("ws")
        self.assertIsInstance(ws, dict, r.describe())
        self.assertEqual(s["config"]["target"], "ws", r.describe())
        self.assertEqual((ws["connections_target"], ws["connections_open"]), (50, 50), r.describe())
        self.assertGreater(ws["messages_published"], 0, r.describe())
        self.assertEqual(ws["delivery_ratio"], 1.0, r.describe())
        self.assertEqual(ws["messages_received"], ws["messages_expected"], r.describe())
        self.assertGreater(s["latency_ms"]["p99"], 0, r.describe())
        self.assertLess(s["latency_ms"]["p99"], 1000, r.describe())
        # --duration is the measured time here as for HTTP: 3 s of publishing at 5/s.
        self.assertEqual(s["config"]["duration_s"], 3, s["config"])
        self.assertAlmostEqual(s["duration_s"], 3, delta=1, msg=r.describe())
        self.assertAlmostEqual(ws["messages_published"], 15, delta=3, msg=r.describe())


if __name__ == "__main__":
    unittest.main()
