"""deploy/nginx.conf in front of two mp-serve instances in Redis mode (issue #7): HTTP is
spread over both, a result computed through one is a cache hit through the other, and a
WebSocket upgraded through nginx gets a broadcast published through nginx."""
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import SOURCE_DIR, Server, post_json, wait_until
from test_redis_state import redis_cmd, suite_redis_port
from ws_harness import websockets

DB = 7
ADMIN = "nginx-admin-key-0001"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Behind(object):
    """A port to talk to, shaped like harness.Server for post_json."""

    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None, timeout=10):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


class Nginx(unittest.TestCase):
    def setUp(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            self.skipTest("nginx missing: run 'make deps'")
        redis_cmd(suite_redis_port(), "FLUSHDB", db=DB)
        url = f"redis://127.0.0.1:{suite_redis_port()}/{DB}"
        self.a = Server("--redis", url, "--set", "monitoring.enabled=false", env={"MP_API_KEYS": f"{ADMIN}:admin"})
        self.addCleanup(self.a.terminate)
        self.b = Server("--redis", url, "--set", "monitoring.enabled=false", env={"MP_API_KEYS": f"{ADMIN}:admin"})
        self.addCleanup(self.b.terminate)
        self.dir = tempfile.mkdtemp(prefix="mp-nginx-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.port = free_port()
        with open(os.path.join(SOURCE_DIR, "deploy", "nginx.conf")) as f:
            conf = f.read()
        conf = conf.replace("127.0.0.1:8002", f"127.0.0.1:{self.a.port}")
        conf = conf.replace("127.0.0.1:8003", f"127.0.0.1:{self.b.port}")
        conf = conf.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{self.port};")
        conf = conf.replace("worker_processes auto;", f"worker_processes 1;\npid {self.dir}/nginx.pid;\n"
                            f"error_log {self.dir}/error.log warn;\ndaemon off;")
        temp = "".join(f"    {k}_temp_path {self.dir}/{k};\n" for k in
                       ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        conf = conf.replace("http {\n", "http {\n" + temp, 1)
        self.assertIn(str(self.a.port), conf)
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.nginx = subprocess.Popen([nginx, "-c", path, "-p", self.dir], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (self.nginx.terminate(), self.nginx.wait(10)))
        self.front = Behind(self.port)

        def up():
            try:
                return self.front.request("GET", "/healthz")[0] == 200
            except OSError:
                return False
        self.assertTrue(wait_until(up, timeout=10), open(os.path.join(self.dir, "error.log")).read()
                        if os.path.exists(os.path.join(self.dir, "error.log")) else "nginx did not start")

    def served_by(self, server):
        status, _, body = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {ADMIN}"})
        m = re.findall(rb'mp_http_requests_total\{[^}]*route="/api/ai/process"[^}]*\} (\d+)', body)
        return sum(int(x) for x in m)

    def test_http_is_spread_and_the_cache_is_shared(self):
        auth = {"Authorization": f"Bearer {ADMIN}"}
        for i in range(10):
            email = {"email_id": i, "subject": f"s{i}", "sender": "x@example.com", "request_type": "summary",
                     "content": f"Please reply about item {i} today.", "wait_ms": 5000}
            s, _, body = post_json(self.front, "/api/ai/process", email, headers=auth)
            self.assertEqual((s, body["status"]), (200, "completed"), body)
        a, b = self.served_by(self.a), self.served_by(self.b)
        self.assertEqual(a + b, 10)
        self.assertGreater(a, 0, "nginx sent nothing to A")
        self.assertGreater(b, 0, "nginx sent nothing to B")
        # Every result is in Redis: asked again through nginx, wherever it lands, a hit.
        time.sleep(0.5)
        for i in range(10):
            email = {"email_id": i, "subject": f"s{i}", "sender": "x@example.com", "request_type": "summary",
                     "content": f"Please reply about item {i} today.", "wait_ms": 5000}
            s, _, body = post_json(self.front, "/api/ai/process", email, headers=auth)
            self.assertTrue(body["cached"], body)

    def test_a_websocket_through_nginx_gets_a_broadcast(self):
        async def run():
            url = f"ws://127.0.0.1:{self.port}/ws/optimized?token={ADMIN}&topics=task_updates"
            async with websockets.connect(url, ping_interval=None, open_timeout=10) as ws:
                welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
                self.assertEqual(welcome["type"], "welcome", welcome)
                body = {"topic": "task_updates", "type": "task_created", "data": {"n": 1}}
                status, _, resp = await asyncio.to_thread(
                    post_json, self.front, "/api/ws/broadcast", body, {"Authorization": f"Bearer {ADMIN}"})
                self.assertEqual(status, 200, resp)
                while True:
                    event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if event.get("type") == "task_created":
                        self.assertEqual(event["data"], {"n": 1})
                        return
        asyncio.run(run())


if __name__ == "__main__":
    unittest.main()
