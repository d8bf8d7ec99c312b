"""WebSocket helpers for test_ws.py: three independent clients of /ws/optimized.

- `Ws`: Python's `websockets` (Debian's python3-websockets, 10.x: the asyncio client);
- `BeastClient`: tests/ws_client/beast_ws_client.cpp, driven as a subprocess that prints
  one JSON line per event;
- `RawWs`: hand-made frames on a plain socket, for what the other two refuse to send
  (invalid UTF-8, unmasked frames).

Every wait is a bounded poll that fails with what did arrive; no test measures time.
"""
import asyncio
import base64
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import unittest

from harness import BUILD_DIR, Server, post_json, wait_until

try:
    import websockets
except ImportError:
    # Debian installs python3-websockets for /usr/bin/python3 only; an interpreter found
    # first on PATH (pyenv, a venv) does not search its dist-packages.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import websockets
    finally:
        sys.path.remove("/usr/lib/python3/dist-packages")
from websockets.exceptions import ConnectionClosed, InvalidStatusCode

BEAST_CLIENT = os.environ.get("MP_WS_CLIENT") or os.path.join(BUILD_DIR, "tests", "beast_ws_client")
WAIT = 15  # seconds: the bound of every wait for a frame, an exit or a metric
K_WS_PATH = "/ws/optimized"


def ws_url(server, path=K_WS_PATH, **params):
    """ws://127.0.0.1:PORT/ws/optimized?k=v&...; values are sent as they are (':', ',' and
    '@' are legal in a query)."""
    query = "&".join(f"{k}={v}" for k, v in params.items() if v is not None)
    return f"ws://127.0.0.1:{server.port}{path}" + (f"?{query}" if query else "")


def parse_metrics(text):
    """Prometheus exposition -> list of (name, {label: value}, float)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels = head.partition("{")
        pairs = {}
        for item in labels.rstrip("}").split(","):
            if "=" in item:
                k, _, v = item.partition("=")
                pairs[k.strip()] = v.strip().strip('"')
        try:
            out.append((name, pairs, float(value)))
        except ValueError:
            pass
    return out


def metric_value(samples, name, **labels):
    """The sum of `name` over the series whose labels include `labels`; 0 when absent."""
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items()))


def brief(frame, limit=200):
    """A frame for a failure message: its `data` elided when the frame is long."""
    if isinstance(frame, dict) and len(json.dumps(frame)) > limit:
        return {k: v for k, v in frame.items() if k != "data"} | {"data": "..."}
    return frame


def upgrade_headers(key="dGhlIHNhbXBsZSBub25jZQ=="):
    return {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13"}


class Ws:
    """One `websockets` connection; recv() fails the test with the frames seen so far."""

    def __init__(self, test, conn):
        self.test = test
        self.conn = conn
        self.seen = []
        self._fences = 0

    @classmethod
    async def open(cls, test, url, headers=None, **kwargs):
        # No client pings: the server's pings (answered by the library's reader) are the
        # ones under test.
        conn = await websockets.connect(url, extra_headers=headers, ping_interval=None, max_size=None,
                                        open_timeout=WAIT, close_timeout=5, **kwargs)
        return cls(test, conn)

    def summary(self, head=10, tail=10):
        """The frames seen so far, the first `head` and last `tail`, big data cut short."""
        shown = [brief(f) for f in self.seen]
        if len(shown) > head + tail:
            shown = shown[:head] + [f"... {len(shown) - head - tail} more ..."] + shown[-tail:]
        return shown

    async def send(self, frame):
        await self.conn.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))

    async def recv(self, timeout=WAIT):
        try:
            text = await asyncio.wait_for(self.conn.recv(), timeout)
        except asyncio.TimeoutError:
            self.test.fail(f"no frame within {timeout}s; frames so far: {self.summary()}")
        except ConnectionClosed as e:
            self.test.fail(f"closed ({e.code} {e.reason!r}) while waiting for a frame; frames so far: {self.summary()}")
        frame = json.loads(text)
        self.seen.append(frame)
        return frame

    async def recv_type(self, type_, timeout=WAIT):
        """The next frame, which must be of type `type_`."""
        frame = await self.recv(timeout)
        self.test.assertEqual(frame.get("type"), type_, f"expected a {type_!r} frame; frames so far: {self.summary()}")
        return frame

    async def answers(self, op):
        """Sends `op`, then a ping with a fresh ref; returns the frames that came before
        that ping's pong (the server answers ops in order)."""
        self._fences += 1
        fence = f"fence-{self._fences}"
        await self.send(op)
        await self.send({"op": "ping", "ref": fence})
        frames = []
        while (frame := await self.recv())["type"] != "pong" or frame.get("ref") != fence:
            frames.append(frame)
        return frames

    async def closed(self, timeout=WAIT):
        """Reads until the server closes; returns (code, reason, frames read on the way)."""
        frames = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    text = await self.conn.recv()
                    frames.append(text if isinstance(text, bytes) else json.loads(text))
        except ConnectionClosed as e:
            return e.code, e.reason, frames
        except TimeoutError:
            self.test.fail(f"not closed within {timeout}s; frames read meanwhile: {frames[:20]} "
                           f"({len(frames)} in all)")

    async def close(self):
        await self.conn.close()


class BeastClient:
    """beast_ws_client as a subprocess; its JSON lines are collected as they come."""

    def __init__(self, url, *args):
        if not os.path.exists(BEAST_CLIENT):
            raise unittest.SkipTest(f"{BEAST_CLIENT} not built (set MP_WS_CLIENT)")
        self.argv = [BEAST_CLIENT, url, *args]
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self.events = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsed", "line": line}
            if event.get("event") == "message":
                try:
                    event["frame"] = json.loads(event["data"])
                except ValueError:
                    event["frame"] = None
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def frames(self):
        with self._cond:
            return [e["frame"] for e in self.events if e["event"] == "message"]

    def describe(self, head=5, tail=10):
        """The command and its events, the first `head` and the last `tail`, data cut short."""
        with self._cond:
            ev = list(self.events)

        def brief_event(e):
            e = {k: v for k, v in e.items() if k != "data"}
            if "frame" in e:
                e["frame"] = brief(e["frame"])
            return e
        if len(ev) <= head + tail:
            shown = [brief_event(e) for e in ev]
        else:
            shown = [brief_event(e) for e in ev[:head]] + [f"... {len(ev) - head - tail} more ..."] + \
                [brief_event(e) for e in ev[-tail:]]
        return f"{' '.join(self.argv[1:])} (exit {self.proc.poll()}): {shown}"

    def wait_for(self, predicate, what, timeout=WAIT):
        """The first event satisfying `predicate`, waiting at most `timeout`; fails otherwise."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: any(predicate(e) for e in self.events) or self.proc.poll() is not None and
                not self._reader.is_alive(), timeout)
            for e in self.events:
                if predicate(e):
                    return e
        raise AssertionError(f"beast_ws_client: no {what} within {timeout}s (ok={ok}); events: {self.describe()}")

    def wait_welcome(self):
        return self.wait_for(lambda e: e["event"] == "message" and (e.get("frame") or {}).get("type") == "welcome",
                             "welcome frame")["frame"]

    def wait_exit(self, timeout=WAIT):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"beast_ws_client still running after {timeout}s; events: {self.describe()}")
        self._reader.join(5)
        return code

    def resume(self):
        """Ends a --pause-reading-ms pause now (SIGUSR1)."""
        self.proc.send_signal(signal.SIGUSR1)

    def close_event(self):
        with self._cond:
            return next((e for e in self.events if e["event"] == "close"), None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()


class RawWs:
    """A WebSocket spoken by hand: the upgrade, then frames built byte by byte."""

    def __init__(self, server, query=""):
        self.sock = server.connect(timeout=WAIT)
        key = base64.b64encode(os.urandom(16)).decode()
        target = K_WS_PATH + (f"?{query}" if query else "")
        self.sock.sendall((f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError(f"connection closed during the upgrade: {self.buf!r}")
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ")[1])
        self.head = head.decode("latin-1")

    def send_frame(self, opcode, payload, mask=True, fin=True):
        first = (0x80 if fin else 0) | opcode
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", first, (0x80 if mask else 0) | n)
        elif n < 65536:
            header = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, n)
        else:
            header = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            header += key
        self.sock.sendall(header + payload)

    def _need(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError(f"connection ended; {len(self.buf)} bytes of {n} buffered")
            self.buf += data

    def read_frame(self):
        """(opcode, payload) of the next server frame (servers do not mask)."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, at = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        if b1 & 0x80:
            at += 4
        self._need(at + n)
        payload = self.buf[at:at + n]
        self.buf = self.buf[at + n:]
        return b0 & 0x0F, payload

    def read_close(self):
        """Reads frames until the close; returns (code, reason, the text frames before it)."""
        texts = []
        while True:
            try:
                opcode, payload = self.read_frame()
            except (EOFError, ConnectionResetError, socket.timeout) as e:
                raise AssertionError(f"no close frame ({e}); text frames before: {texts}")
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return code, payload[2:].decode("utf-8", "replace"), texts
            if opcode == 0x1:
                texts.append(json.loads(payload))

    def close(self):
        self.sock.close()


class WsTest(unittest.TestCase):
    """Each test starts the servers it needs (its own config, its own counters)."""

    def start_server(self, *settings, env=None):
        args = []
        for s in settings:
            args += ["--set", s]
        server = Server(*args, env=env)

        def stop():
            code = server.terminate()
            if code != 0:
                raise AssertionError(f"mp-serve exited {code}:\n{server.log()[-4000:]}")
        self.addCleanup(stop)
        return server

    def run_async(self, coro, timeout=120):
        async def bounded():
            async with asyncio.timeout(timeout):
                return await coro
        return asyncio.run(bounded())

    async def ws(self, server, headers=None, path=K_WS_PATH, **params):
        conn = await Ws.open(self, ws_url(server, path, **params), headers=headers)
        self._abort_at_cleanup(conn)
        return conn

    def _abort_at_cleanup(self, conn):
        # The event loop is gone by cleanup time: make sure the socket is closed anyway.
        def close():
            transport = getattr(conn.conn, "transport", None)
            if transport is not None:
                transport.abort()
        self.addCleanup(close)

    def beast(self, url, *args):
        client = BeastClient(url, *args)
        self.addCleanup(client.stop)
        return client

    async def refused_status(self, url, headers=None):
        """The HTTP status of a refused `websockets` handshake (fails if it was accepted)."""
        try:
            conn = await websockets.connect(url, extra_headers=headers, ping_interval=None, open_timeout=WAIT)
        except InvalidStatusCode as e:
            return e.status_code
        await conn.close()
        self.fail(f"{url}: the upgrade was accepted")

    def upgrade_refusal(self, server, query="", headers=None, path=K_WS_PATH):
        """A plain-HTTP upgrade request that must be refused: (status, parsed JSON body)."""
        h = upgrade_headers()
        h.update(headers or {})
        status, hdrs, body = server.request("GET", path + (f"?{query}" if query else ""), headers=h)
        self.assertNotEqual(status, 101, f"{path}?{query}: upgraded")
        try:
            parsed = json.loads(body)
        except ValueError:
            self.fail(f"{path}?{query}: {status} with a body that is not JSON: {body[:300]!r}")
        return status, parsed

    def broadcast(self, server, body, headers=None, expect=200):
        status, _, resp = post_json(server, "/api/ws/broadcast", body, headers=headers)
        if expect is not None:
            self.assertEqual(status, expect, f"POST /api/ws/broadcast {json.dumps(body)[:200]} -> {resp}")
        return resp

    async def abroadcast(self, server, body, headers=None, expect=200):
        return await asyncio.to_thread(self.broadcast, server, body, headers, expect)

    def metrics(self, server, headers=None):
        status, _, body = server.request("GET", "/metrics", headers=headers)
        self.assertEqual(status, 200, body[:300])
        return parse_metrics(body.decode())

    def ws_metrics(self, server, headers=None):
        """The mp_ws_* series but the histogram buckets, for failure messages."""
        return {n + (str(l) if l else ""): v for n, l, v in self.metrics(server, headers)
                if n.startswith("mp_ws_") and not n.endswith("_bucket")}

    def wait_metric(self, server, name, predicate, what, headers=None, **labels):
        """Polls /metrics until predicate(value of name{labels}); returns the value."""
        last = [None]

        def check():
            last[0] = metric_value(self.metrics(server, headers), name, **labels)
            return predicate(last[0])
        if not wait_until(check, timeout=WAIT, interval=0.1):
            self.fail(f"{name}{labels or ''}: {what} not reached within {WAIT}s, last {last[0]}; "
                      f"mp_ws_* now: {self.ws_metrics(server, headers)}")
        return last[0]

    async def await_metric(self, server, name, predicate, what, headers=None, **labels):
        return await asyncio.to_thread(self.wait_metric, server, name, predicate, what, headers, **labels)
