"""API keys: 401 without or with a wrong key, 403 without the admin scope, open health."""
import json
import os
import tempfile
import unittest

from harness import ServerTest, Server, run_tool

USER = "user-key-0123456789"
ADMIN = "admin-key-0123456789"


class ApiKeys(ServerTest):
    server_env = {"MP_API_KEYS": f"{USER}:user:alice,{ADMIN}:admin"}

    def test_health_and_readiness_need_no_key(self):
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)
        self.assertEqual(self.server.request("GET", "/readyz")[0], 200)

    def test_missing_key_is_401_json_with_challenge(self):
        status, headers, body = self.server.request("GET", "/api/performance/metrics")
        self.assertEqual(status, 401)
        self.assertEqual(headers["www-authenticate"], "Bearer")
        self.assertEqual(json.loads(body)["error"]["code"], "unauthorized")

    def test_wrong_key_is_401(self):
        status, headers, body = self.server.request("GET", "/metrics",
                                                    headers={"Authorization": "Bearer not-a-real-key"})
        self.assertEqual(status, 401)
        self.assertIn("invalid", json.loads(body)["error"]["message"])

    def test_unknown_paths_do_not_leak_to_anonymous_callers(self):
        self.assertEqual(self.server.request("GET", "/secret/thing")[0], 401)
        status, _, _ = self.server.request("GET", "/secret/thing", headers={"Authorization": f"Bearer {USER}"})
        self.assertEqual(status, 404)

    def test_user_key_is_403_on_admin_endpoints(self):
        for path in ("/metrics", "/api/performance/metrics"):
            status, _, body = self.server.request("GET", path, headers={"Authorization": f"Bearer {USER}"})
            self.assertEqual(status, 403, path)
            self.assertEqual(json.loads(body)["error"]["code"], "forbidden")

    def test_admin_key_is_accepted(self):
        status, _, body = self.server.request("GET", "/metrics", headers={"Authorization": f"Bearer {ADMIN}"})
        self.assertEqual(status, 200)
        self.assertIn('mp_http_auth_failures_total', body.decode())

    def test_keys_file_works_too(self):
        with tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False) as f:
            f.write("# ops keys\nfile-admin-key-0001:admin\n")
            path = f.name
        try:
            s = Server("--keys-file", path)
            try:
                status, _, _ = s.request("GET", "/metrics", headers={"Authorization": "Bearer file-admin-key-0001"})
                self.assertEqual(status, 200)
                self.assertEqual(s.request("GET", "/metrics")[0], 401)
            finally:
                self.assertEqual(s.terminate(), 0)
        finally:
            os.unlink(path)


class OpenMode(unittest.TestCase):
    def test_no_keys_refuses_a_non_loopback_bind(self):
        r = run_tool("mp-serve", "--host", "0.0.0.0", "--port", "0", env={"MP_API_KEYS": ""})
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--insecure", r.stderr)
        self.assertIn("mp-serve: error:", r.stderr)

    def test_insecure_allows_it(self):
        s = Server("--host", "0.0.0.0", "--insecure")
        try:
            self.assertEqual(s.request("GET", "/healthz")[0], 200)
        finally:
            self.assertEqual(s.terminate(), 0)

    def test_bad_keys_file_is_a_config_error(self):
        r = run_tool("mp-serve", "--keys-file", "/nonexistent/keys", "--port", "0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent/keys", r.stderr)


if __name__ == "__main__":
    unittest.main()
