"""mp-serve's HTTP surface: endpoints, errors, limits, keep-alive, pipelining."""
import json
import socket
import os
import re
import shutil
import subprocess
import time
import unittest

from harness import ServerTest, Server, parse_responses, recv_all


class Endpoints(ServerTest):
    def test_healthz(self):
        status, headers, body = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(json.loads(body), {"status": "ok"})

    def test_head_is_get_without_a_body(self):
        with self.server.connect() as s:
            s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = recv_all(s)
        head, _, rest = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), data)
        self.assertIn(b"Content-Length: 15", head)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200"), rest)  # no body between the two answers

    def test_readyz(self):
        status, body = self.server.get_json("/readyz")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ready")

    def test_unknown_path_is_json_404(self):
        status, headers, body = self.server.request("GET", "/no/such/thing")
        self.assertEqual(status, 404)
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], "not_found")
        self.assertIn("/no/such/thing", err["message"])

    def test_wrong_method_is_json_405_with_allow(self):
        status, headers, body = self.server.request("POST", "/healthz", body=b"{}")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET")
        self.assertEqual(json.loads(body)["error"]["code"], "method_not_allowed")

    def test_metrics_exposition_counts_requests_and_passes_promtool(self):
        for _ in range(3):
            self.server.request("GET", "/healthz")
        self.server.request("GET", "/missing")
        status, headers, body = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain; version=0.0.4"))
        text = body.decode()
        m = re.search(r'^mp_http_requests_total\{route="/healthz",method="GET",status="200"\} (\d+)$', text, re.M)
        self.assertIsNotNone(m, text)
        self.assertGreaterEqual(int(m.group(1)), 3)
        self.assertRegex(text, r'mp_http_requests_total\{route="unmatched",method="GET",status="404"\} [1-9]')
        self.assertIn('mp_http_request_duration_seconds_bucket{route="/healthz",status="200",le="+Inf"}', text)
        self.assertIn("# TYPE mp_http_request_duration_seconds histogram", text)
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool missing: run 'make deps'")
        check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_performance_metrics_snapshot(self):
        self.server.request("GET", "/healthz")
        status, body = self.server.get_json("/api/performance/metrics")
        self.assertEqual(status, 200)
        self.assertGreater(body["http"]["requests_total"], 0)
        self.assertIn("p99_ms", body["http"]["response_time_ms"])
        self.assertIn("error_rate_percent", body["http"])
        self.assertIn("mp_http_requests_total", body["metrics"])
        self.assertGreaterEqual(body["uptime_seconds"], 0)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        with self.server.connect() as s:
            for _ in range(5):
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while b'{"status":"ok"}' not in data:
                    chunk = s.recv(4096)
                    self.assertTrue(chunk, "server closed a keep-alive connection")
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 200"))

    def test_pipelined_requests_are_answered_in_order(self):
        with self.server.connect() as s:
            reqs = b"".join(
                f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                for p in ["/healthz", "/nope", "/readyz", "/healthz"])
            s.sendall(reqs + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            responses = parse_responses(recv_all(s))
        self.assertEqual([r[0] for r in responses], [200, 404, 200, 200, 200])
        self.assertEqual(responses[-1][1].get("connection"), "close")

    def test_expect_100_continue_is_answered_before_the_body(self):
        with self.server.connect(timeout=5) as s:
            s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            self.assertEqual(s.recv(4096), b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(b"body")
            data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 405"), data)

    def test_http10_closes_unless_keep_alive(self):
        with self.server.connect() as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            data = recv_all(s)
        self.assertTrue(data.startswith(b"HTTP/1.0 200"), data)

    def test_malformed_request_gets_400_and_server_stays_up(self):
        with self.server.connect() as s:
            s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
            responses = parse_responses(recv_all(s))
        self.assertEqual(responses[0][0], 400)
        self.assertEqual(json.loads(responses[0][2])["error"]["code"], "bad_request")
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)

    def test_bad_content_length_gets_400(self):
        with self.server.connect() as s:
            s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
            responses = parse_responses(recv_all(s))
        self.assertEqual(responses[0][0], 400)

    def test_oversized_headers_get_431(self):
        with self.server.connect() as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
            responses = parse_responses(recv_all(s))
        self.assertEqual(responses[0][0], 431)
        self.assertEqual(json.loads(responses[0][2])["error"]["code"], "headers_too_large")

    def test_protocol_errors_are_counted(self):
        with self.server.connect() as s:
            s.sendall(b"\x00\x01garbage\r\n\r\n")
            recv_all(s)
        text = self.server.request("GET", "/metrics")[2].decode()
        self.assertRegex(text, r'mp_http_protocol_errors_total\{status="400"\} [1-9]')


class Garbage(ServerTest):
    def test_random_and_mutated_requests_never_take_the_server_down(self):
        import random
        rng = random.Random(7)
        good = (b"POST /api/ai/process HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 40\r\n\r\n{\"email_id\":1,\"content\":\"hello there\"}")
        for i in range(300):
            if i % 3 == 0:
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
            else:
                b = bytearray(good)
                for _ in range(rng.randrange(1, 6)):
                    b[rng.randrange(len(b))] = rng.randrange(256)
                data = bytes(b)
            with self.server.connect(timeout=5) as s:
                try:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    recv_all(s)
                except OSError:
                    pass
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)
        self.assertIsNone(self.server.proc.poll())


class Limits(ServerTest):
    server_args = ("--set", "server.max_body_bytes=1024", "--set", "server.idle_timeout_ms=300",
                   "--set", "server.read_timeout_ms=700", "--threads", "1")

    def test_body_over_limit_gets_413_and_server_stays_up(self):
        status, headers, body = self.server.request("POST", "/healthz", body=b"x" * 5000)
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(body)["error"]["code"], "payload_too_large")
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)

    def test_body_under_limit_is_read(self):
        status, _, _ = self.server.request("POST", "/healthz", body=b"x" * 1000)
        self.assertEqual(status, 405)  # routed, so it was read whole

    def test_idle_keep_alive_connection_is_closed(self):
        with self.server.connect(timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = recv_all(s)  # returns when the server closes the idle connection
        self.assertEqual(parse_responses(data)[0][0], 200)

    def test_slow_request_is_cut_off(self):
        # Slowloris: one header byte at a time keeps the connection busy but never done.
        with self.server.connect(timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")
            closed = False
            for _ in range(100):
                try:
                    s.sendall(b"X")
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                s.settimeout(0.1)
                try:
                    if s.recv(1) == b"":
                        closed = True
                        break
                except TimeoutError:
                    pass
                except ConnectionResetError:
                    closed = True
                    break
            self.assertTrue(closed, "a request trickling in was never cut off")


class ConnectionLimit(ServerTest):
    server_args = ("--set", "server.max_connections=2", "--threads", "1")

    def test_connections_past_the_limit_get_503(self):
        a, b = self.server.connect(), self.server.connect()
        try:
            a.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            b.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b"200 OK", a.recv(4096))
            self.assertIn(b"200 OK", b.recv(4096))
            with self.server.connect() as c:
                responses = parse_responses(recv_all(c))
            self.assertEqual(responses[0][0], 503)
            self.assertEqual(json.loads(responses[0][2])["error"]["code"], "unavailable")
        finally:
            a.close()
            b.close()
        # Capacity comes back once they close.
        for _ in range(50):
            try:
                if self.server.request("GET", "/healthz")[0] == 200:
                    break
            except Exception:
                pass
            time.sleep(0.1)
        else:
            self.fail("server did not recover after connections closed")


if __name__ == "__main__":
    unittest.main()
