#!/usr/bin/env python3
"""A fake OpenAI-compatible chat-completions server for tests (standard library only).

    python3 tests/fakes/fake_openai.py --port 0 [--api-key KEY]

Binds 127.0.0.1, prints "listening on PORT" (flushed) and serves:

  POST /v1/chat/completions  a chat.completion whose message content is a JSON object
                             with every field of the analysis schema; usage is
                             prompt_tokens = len(user message)//4 + 50, completion_tokens = 60;
                             model = the requested model. With --api-key, requests without
                             "Authorization: Bearer KEY" get 401.
  POST /_script              {"steps": [STEP, ...], "default": STEP}: each arriving completion
                             request consumes the next step; once they are used up, "default"
                             (if given) applies to every request.
  GET  /_arrivals            {"arrivals": [{"t", "wall", "model", "content_sha256", "connection",
                             "headers"}, ...], "connections": N}; "t" is time.monotonic(),
                             "connection" numbers the TCP connection the request came on.
  POST /_reset               clears the script, the default and the arrivals.

A STEP is an object; its keys combine, applied in this order:
  "delay_ms": N        sleep first
  "close": true        drop the connection without answering
  "status": N          answer with this status; "body" (JSON) is the body, else an
                       OpenAI-style {"error": {...}} for non-2xx
  "headers": {...}     extra response headers (e.g. {"Retry-After": "1"})
  "malformed": true    200 whose message content is not JSON
  "invalid_schema": true  200 whose content is JSON without "category"
  "content": "..."     200 with exactly this message content
  "model": "..."       the answering model reported in the response
"""

import argparse
import hashlib
import http.server
import itertools
import json
import socket
import sys
import threading
import time

_lock = threading.Lock()
_state = {"steps": [], "default": None, "arrivals": []}
_connection_ids = itertools.count(1)
_connections = 0
_api_key = None

_RECORDED_HEADERS = ("authorization", "content-type", "user-agent", "connection", "expect", "accept")


def first_sentence(text):
    text = " ".join(text.split())
    for i, c in enumerate(text):
        if c in ".!?" and (i + 1 == len(text) or text[i + 1] == " "):
            return text[: i + 1]
    return text


def email_content(user_message):
    """The content part of the provider's user message ("Subject..\\nFrom..\\n\\ncontent")."""
    _, sep, rest = user_message.partition("\n\n")
    return rest if sep else user_message


def analysis_for(user_message):
    return {
        "category": "work",
        "urgency": "normal",
        "confidence": 0.9,
        "needs_reply": False,
        "summary": first_sentence(email_content(user_message)),
        "action_items": [],
        "sentiment": "neutral",
        "sentiment_score": 0.0,
    }


def completion(model, content, user_message):
    return {
        "id": "chatcmpl-fake-%d" % time.monotonic_ns(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": len(user_message) // 4 + 50,
            "completion_tokens": 60,
            "total_tokens": len(user_message) // 4 + 110,
        },
    }


def next_step():
    with _lock:
        if _state["steps"]:
            return _state["steps"].pop(0)
        return _state["default"] or {}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"

    def setup(self):
        global _connections
        super().setup()
        with _lock:
            _connections += 1
        self.connection_id = next(_connection_ids)

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # stdout carries only the port line; tests read the arrivals instead

    # --- plumbing -------------------------------------------------------------------

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, str(value))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # --- routes ---------------------------------------------------------------------

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path == "/_arrivals":
            with _lock:
                body = {"arrivals": list(_state["arrivals"]), "connections": _connections}
            self.send(200, body)
        else:
            self.send(404, {"error": {"message": "no such path", "type": "not_found"}})

    def do_POST(self):  # noqa: N802
        raw = self.read_body()
        if self.path == "/_script":
            script = json.loads(raw or b"{}")
            with _lock:
                _state["steps"] = list(script.get("steps", []))
                _state["default"] = script.get("default")
            self.send(200, {"ok": True, "steps": len(script.get("steps", []))})
        elif self.path == "/_reset":
            with _lock:
                _state["steps"], _state["default"], _state["arrivals"] = [], None, []
            self.send(200, {"ok": True})
        elif self.path == "/v1/chat/completions":
            self.chat_completions(raw)
        else:
            self.send(404, {"error": {"message": "no such path", "type": "not_found"}})

    def chat_completions(self, raw):
        try:
            request = json.loads(raw)
            messages = request["messages"]
            model = request["model"]
        except (ValueError, KeyError, TypeError):
            self.send(400, {"error": {"message": "malformed request body", "type": "invalid_request_error"}})
            return
        user = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
        with _lock:
            _state["arrivals"].append(
                {
                    "t": time.monotonic(),
                    "wall": time.time(),
                    "model": model,
                    "content_sha256": hashlib.sha256(user.encode()).hexdigest(),
                    "connection": self.connection_id,
                    "headers": {h: self.headers[h] for h in _RECORDED_HEADERS if h in self.headers},
                }
            )
        if _api_key is not None and self.headers.get("Authorization") != "Bearer " + _api_key:
            self.send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                      "code": "invalid_api_key"}})
            return
        self.answer(next_step(), model, user)

    def answer(self, step, model, user):
        if step.get("delay_ms"):
            time.sleep(step["delay_ms"] / 1000.0)
        if step.get("close"):
            self.drop()
            return
        headers = step.get("headers")
        status = step.get("status", 200)
        answered_by = step.get("model", model)
        if "body" in step:
            self.send(status, step["body"], headers)
        elif not 200 <= status < 300:
            self.send(status, {"error": {"message": "scripted status %d" % status, "type": "server_error"}}, headers)
        elif step.get("malformed"):
            self.send(status, completion(answered_by, "Sure! Here is the analysis: category=work", user), headers)
        elif step.get("invalid_schema"):
            fields = analysis_for(user)
            del fields["category"]
            self.send(status, completion(answered_by, json.dumps(fields), user), headers)
        elif "content" in step:
            self.send(status, completion(answered_by, step["content"], user), headers)
        else:
            self.send(status, completion(answered_by, json.dumps(analysis_for(user)), user), headers)


def main():
    global _api_key
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    _api_key = args.api_key
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("listening on %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
