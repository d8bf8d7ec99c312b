#!/usr/bin/env python3
"""A scripted HTTP/1.1 keep-alive server for mp-bench's tests (standard library only).

    python3 tests/fakes/scripted_http.py --port 0 [--host 127.0.0.1] (--script JSON | --script-file F)

Prints "listening on http://127.0.0.1:PORT" on stderr (flushed), as mp-serve does, and logs
nothing per request. It is an asyncio Protocol over raw bytes, not http.server, so that one
core answers several thousand requests a second (`wrk -t1 -c10`: see the tests' notes).

The script is a JSON object; every key is optional:
  "delay_ms": N          every response waits N ms (per request, concurrently: requests
                         pipelined on one connection are delayed together and answered in
                         order)
  "stalls": [{"at_s": A, "for_s": F}, ...]
                         from A seconds after the FIRST request arrived, for F seconds, no
                         response is sent; requests pending or arriving meanwhile are
                         answered when the stall ends
  "status": [{"every": N, "code": C}, ...]
                         every Nth request (1-based count of counted requests) gets status C
                         with a JSON error body; the first matching entry wins
  "chunked": true        responses use Transfer-Encoding: chunked (body in 3 chunks)
  "close_every": N       every Nth response carries Connection: close and the connection is
                         closed after it (0: never)
  "body": "..."          the 200 body (default {"ok":true}); "content_type" its type
  "record": N            keep the first N requests (method, path, headers, body) for
                         GET /_requests (default 1000)

Control endpoints, neither counted nor delayed nor stalled:
  GET  /_stats     {"requests": N, "per_second": {"<unix second>": count}, "first_ts",
                   "last_ts", "status": {"200": n}, "connections_opened", "connections_open",
                   "max_in_flight"}
  GET  /_requests  {"requests": [{"method", "path", "headers": {lowercase: value}, "body"}]}
  POST /_reset     clears the counters, the recorded requests and the stall clock

POST /api/ai/process answers as mp-serve does: 202 {"request_id": "r<n>", "status": "queued"}.
Request bodies need Content-Length; a chunked request body is answered 501 and the
connection closed.
"""

import argparse
import asyncio
import json
import signal
import sys
import time

K_MAX_HEAD = 64 * 1024
K_MAX_BODY = 16 * 1024 * 1024
K_SCRIPT_KEYS = {"delay_ms", "stalls", "status", "chunked", "close_every", "body", "content_type", "record"}
K_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests",
             431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
             502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class State:
    """What every connection shares: the script, the counters, the stall clock."""

    def __init__(self, script):
        self.script = script
        self.delay_s = float(script.get("delay_ms", 0)) / 1000.0
        self.stalls = [(float(s["at_s"]), float(s["for_s"])) for s in script.get("stalls", [])]
        self.status_rules = [(int(r["every"]), int(r["code"])) for r in script.get("status", [])]
        self.chunked = bool(script.get("chunked", False))
        self.close_every = int(script.get("close_every", 0))
        self.body = script.get("body", '{"ok":true}').encode()
        self.content_type = script.get("content_type", "application/json")
        self.record_limit = int(script.get("record", 1000))
        self.connections_opened = 0
        self.connections_open = 0
        self.reset()

    def reset(self):
        self.requests = 0
        self.per_second = {}
        self.status_counts = {}
        self.first_ts = None
        self.last_ts = None
        self.first_mono = None
        self.windows = []
        self.recorded = []
        self.in_flight = 0
        self.max_in_flight = 0

    def arrive(self):
        """Counts one request; returns its 1-based number."""
        now = time.time()
        if self.first_mono is None:
            self.first_mono = time.monotonic()
            self.first_ts = now
            self.windows = [(self.first_mono + at, self.first_mono + at + length) for at, length in self.stalls]
        self.last_ts = now
        self.requests += 1
        second = str(int(now))
        self.per_second[second] = self.per_second.get(second, 0) + 1
        return self.requests

    def ready_at(self, arrival):
        """The monotonic time a request arriving at `arrival` may be answered."""
        ready = arrival + self.delay_s
        moved = True
        while moved:
            moved = False
            for start, end in self.windows:
                if start <= ready < end:
                    ready, moved = end, True
        return ready

    def stats(self):
        return {"requests": self.requests, "per_second": self.per_second, "first_ts": self.first_ts,
                "last_ts": self.last_ts, "status": self.status_counts,
                "connections_opened": self.connections_opened, "connections_open": self.connections_open,
                "max_in_flight": self.max_in_flight}


def response(status, body, content_type="application/json", chunked=False, close=False):
    head = [f"HTTP/1.1 {status} {K_REASONS.get(status, 'Status')}", f"Content-Type: {content_type}"]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        third = max(1, len(body) // 3)
        parts = [body[:third], body[third:2 * third], body[2 * third:]]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p) + b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}")
        payload = body
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class Connection(asyncio.Protocol):
    """One keep-alive connection: parses pipelined requests, answers them in order."""

    def __init__(self, state, loop):
        self.state = state
        self.loop = loop
        self.buf = b""
        self.slots = []  # [bytes or None, close_after] in request order
        self.transport = None
        self.closing = False

    def connection_made(self, transport):
        self.transport = transport
        self.state.connections_opened += 1
        self.state.connections_open += 1

    def connection_lost(self, exc):
        self.state.connections_open -= 1
        self.state.in_flight -= sum(1 for s in self.slots if s[0] is None)
        self.slots.clear()
        self.closing = True

    def data_received(self, data):
        self.buf += data
        while not self.closing:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > K_MAX_HEAD:
                    self.fail(431)
                return
            request = self.parse_head(self.buf[:end].decode("latin-1"))
            if request is None:
                return
            method, path, headers, keep_alive = request
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self.fail(501)
                return
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                self.fail(400)
                return
            if length < 0 or length > K_MAX_BODY:
                self.fail(400)
                return
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4:end + 4 + length]
            self.buf = self.buf[end + 4 + length:]
            self.handle(method, path, headers, body, keep_alive)

    def parse_head(self, head):
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.fail(400)
            return None
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                self.fail(400)
                return None
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection and (parts[2] == "HTTP/1.1" or "keep-alive" in connection)
        return parts[0], parts[1], headers, keep_alive

    def fail(self, status):
        """A framing error: answer after what is pending, then close."""
        self.closing = True
        self.buf = b""
        self.slots.append([response(status, json.dumps({"error": {"code": status}}).encode(), close=True), True])
        self.flush()

    def handle(self, method, path, headers, body, keep_alive):
        state = self.state
        route = path.split("?", 1)[0]
        if route in ("/_stats", "/_requests", "/_reset"):
            self.slots.append([self.control(method, route), not keep_alive])
            self.flush()
            return
        n = state.arrive()
        if len(state.recorded) < state.record_limit:
            state.recorded.append({"method": method, "path": path, "headers": headers,
                                   "body": body.decode("utf-8", "replace")})
        close = not keep_alive or (state.close_every > 0 and n % state.close_every == 0)
        status = next((code for every, code in state.status_rules if every > 0 and n % every == 0), None)
        if status is not None:
            out = json.dumps({"error": {"code": f"status_{status}", "message": f"scripted {status}",
                                        "request": n}}).encode()
        elif method == "POST" and route == "/api/ai/process":
            status, out = 202, json.dumps({"request_id": f"r{n}", "status": "queued"}).encode()
        else:
            status, out = 200, state.body
        state.status_counts[str(status)] = state.status_counts.get(str(status), 0) + 1
        raw = response(status, out, state.content_type if status == 200 else "application/json",
                       chunked=state.chunked, close=close)
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        slot = [None, close]
        self.slots.append(slot)
        ready = state.ready_at(time.monotonic())
        if ready <= time.monotonic():
            self.complete(slot, raw)
        else:
            self.loop.call_at(self.loop.time() + (ready - time.monotonic()), self.complete, slot, raw)
        if close:
            # Nothing after a closing response is answered.
            self.closing = True

    def control(self, method, route):
        state = self.state
        if route == "/_stats":
            body = state.stats()
        elif route == "/_requests":
            body = {"requests": state.recorded}
        elif method == "POST":
            state.reset()
            body = {"reset": True}
        else:
            return response(404, b'{"error":{"code":"not_found"}}')
        return response(200, json.dumps(body).encode())

    def complete(self, slot, raw):
        if self.transport is None or self.transport.is_closing():
            return
        slot[0] = raw
        self.state.in_flight -= 1
        self.flush()

    def flush(self):
        while self.slots and self.slots[0][0] is not None:
            raw, close = self.slots.pop(0)
            self.transport.write(raw)
            if close:
                self.state.in_flight -= sum(1 for s in self.slots if s[0] is None)
                self.slots.clear()
                self.transport.close()
                return


def load_script(args):
    text = args.script
    if args.script_file:
        with open(args.script_file) as f:
            text = f.read()
    script = json.loads(text or "{}")
    if not isinstance(script, dict):
        raise ValueError("the script must be a JSON object")
    unknown = set(script) - K_SCRIPT_KEYS
    if unknown:
        raise ValueError(f"unknown script keys: {sorted(unknown)}")
    return script


async def serve(args, state):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(state, loop), args.host, args.port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on http://{args.host}:{port}", file=sys.stderr, flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with server:
        await stop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--script", default="{}")
    parser.add_argument("--script-file")
    args = parser.parse_args()
    try:
        state = State(load_script(args))
    except (ValueError, KeyError, TypeError, OSError) as e:
        print(f"scripted_http: bad script: {e}", file=sys.stderr, flush=True)
        return 2
    asyncio.run(serve(args, state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
