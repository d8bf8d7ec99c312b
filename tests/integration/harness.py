"""Shared helpers for the integration tests: start the real binaries, talk raw HTTP.

Every process started here is stopped by its PID when the test ends.
"""
import http.client
import json
import os
import re
import signal
import socket
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

BUILD_DIR = os.environ.get("MP_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE_DIR = os.environ.get("MP_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def tool(name):
    return os.path.join(BUILD_DIR, "tools", name)


def run_tool(name, *args, env=None, timeout=20, stdin=None):
    """Runs a tool to completion (with `stdin` as its input, else none); returns
    CompletedProcess with text output."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run([tool(name), *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, **feed)


class Server:
    """A running mp-serve on a free loopback port."""

    def __init__(self, *args, env=None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("MP_")}
        full_env.update(env or {})
        # Each server keeps its metrics history in a directory of its own, removed at exit.
        self.tmpdir = tempfile.mkdtemp(prefix="mp-serve-test-")
        self.db_path = full_env.setdefault("MP_MONITORING_DB_PATH", os.path.join(self.tmpdir, "metrics.db"))
        self.proc = subprocess.Popen([tool("mp-serve"), "--port", "0", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=full_env,
                                     stdin=subprocess.DEVNULL)
        self.stderr_lines = []
        self._port_found = threading.Event()
        self.port = None
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not self._port_found.wait(15):
            self.kill()
            raise RuntimeError("mp-serve did not start:\n" + "".join(self.stderr_lines))

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            m = re.search(r"listening on http://\[?[^\]\s]+\]?:(\d+)", line)
            if m and self.port is None:
                self.port = int(m.group(1))
                self._port_found.set()
        self._port_found.set()

    def request(self, method, path, body=None, headers=None, timeout=10):
        """One request on a fresh connection; returns (status, headers dict, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def get_json(self, path, headers=None):
        status, hdrs, body = self.request("GET", path, headers=headers)
        return status, json.loads(body)

    def connect(self, timeout=10):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def terminate(self, timeout=15):
        """SIGTERM, then wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._reader.join(5)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def __del__(self):
        shutil.rmtree(getattr(self, "tmpdir", ""), ignore_errors=True)

    def log(self):
        return "".join(self.stderr_lines)


def recv_all(sock, until_closed=True, limit=1 << 20):
    """Reads until the peer closes (or the socket times out)."""
    chunks = []
    try:
        while sum(map(len, chunks)) < limit:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    except (socket.timeout, ConnectionResetError):
        pass
    return b"".join(chunks)


def parse_responses(data):
    """Splits raw bytes into a list of (status, headers, body) for Content-Length responses."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:n]))
        data = rest[n:]
    return out


class ServerTest(unittest.TestCase):
    """A test case with one server per test class."""

    server_args = ()
    server_env = None

    @classmethod
    def setUpClass(cls):
        cls.server = Server(*cls.server_args, env=cls.server_env)

    @classmethod
    def tearDownClass(cls):
        code = cls.server.terminate()
        if code != 0:
            raise AssertionError(f"mp-serve exited {code}:\n{cls.server.log()}")


class FakeUpstream:
    """tests/fakes/fake_openai.py on a free port: scripted answers, recorded arrivals."""

    def __init__(self, *args):
        path = os.path.join(SOURCE_DIR, "tests", "fakes", "fake_openai.py")
        self.proc = subprocess.Popen(["python3", path, "--port", "0", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"fake upstream did not start: {line!r}")
        self.port = int(m.group(1))
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def _call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            return json.loads(data) if data else None
        finally:
            conn.close()

    def script(self, steps, default=None):
        self._call("POST", "/_script", {"steps": steps, "default": default})

    def reset(self):
        self._call("POST", "/_reset", {})

    def arrivals(self):
        return self._call("GET", "/_arrivals")["arrivals"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def post_json(server, path, body, headers=None, timeout=30):
    """POST a JSON body; returns (status, headers, parsed JSON or None)."""
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    status, hdrs, data = server.request("POST", path, body=json.dumps(body).encode(), headers=h, timeout=timeout)
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    return status, hdrs, parsed


def wait_until(predicate, timeout=20, interval=0.05):
    """Polls until predicate() is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
