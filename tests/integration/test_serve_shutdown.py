"""SIGTERM drains: stop accepting, finish in-flight requests, close idle ones, exit 0."""
import signal
import socket
import time
import unittest

from harness import Server, parse_responses, recv_all


class Shutdown(unittest.TestCase):
    def test_sigterm_when_idle_exits_zero(self):
        s = Server()
        self.assertEqual(s.request("GET", "/healthz")[0], 200)
        self.assertEqual(s.terminate(), 0)
        self.assertIn("stopped", s.log())

    def test_sigint_exits_zero(self):
        s = Server()
        s.proc.send_signal(signal.SIGINT)
        self.assertEqual(s.proc.wait(15), 0)

    def test_in_flight_request_is_finished_then_exit_zero(self):
        s = Server()
        conn = s.connect()
        try:
            # Half a request: headers promise a body that has not arrived yet.
            conn.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
            time.sleep(0.3)
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertIsNone(s.proc.poll(), "server exited with a request in flight")
            conn.sendall(b"56789")
            responses = parse_responses(recv_all(conn))
        finally:
            conn.close()
        self.assertEqual(len(responses), 1)
        self.assertEqual(responses[0][0], 405)  # answered, not dropped
        self.assertEqual(responses[0][1].get("connection"), "close")
        self.assertEqual(s.proc.wait(15), 0)

    def test_idle_keep_alive_connections_are_closed_on_drain(self):
        s = Server()
        conn = s.connect()
        try:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b"200 OK", conn.recv(4096))
            s.proc.send_signal(signal.SIGTERM)
            self.assertEqual(conn.recv(4096), b"")  # closed by the server
        finally:
            conn.close()
        self.assertEqual(s.proc.wait(15), 0)

    def test_no_new_connections_after_drain(self):
        s = Server()
        port = s.port
        self.assertEqual(s.terminate(), 0)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()

    def test_readyz_reports_draining(self):
        s = Server()
        conn = s.connect()
        try:
            # A readiness probe caught mid-request by SIGTERM is answered 503 draining.
            conn.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.2)
            s.proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            conn.sendall(b"\r\n")
            responses = parse_responses(recv_all(conn))
            self.assertEqual(responses[0][0], 503)
            self.assertIn(b'"draining"', responses[0][2])
        finally:
            conn.close()
        self.assertEqual(s.proc.wait(15), 0)

    def test_shutdown_timeout_cuts_off_a_stuck_client(self):
        s = Server("--set", "server.shutdown_timeout_ms=300", "--set", "server.read_timeout_ms=60000")
        conn = s.connect()
        try:
            conn.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
            time.sleep(0.2)
            s.proc.send_signal(signal.SIGTERM)
            self.assertEqual(s.proc.wait(15), 0)
        finally:
            conn.close()
        self.assertIn("shutdown timeout", s.log())


if __name__ == "__main__":
    unittest.main()
