"""The test harness's private redis-server: up, on loopback, and writable.

Later suites (the Redis cache, limiter, queue and fan-out) rely on it; this keeps the
fixture honest on its own.
"""
import os
import socket
import unittest


def redis_port():
    with open(os.path.join(os.environ["MP_REDIS_STATE"], "port")) as f:
        return int(f.read())


def command(sock, *args):
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    sock.sendall(payload.encode())
    return sock.recv(4096)


class RedisHarness(unittest.TestCase):
    def test_private_redis_answers(self):
        with socket.create_connection(("127.0.0.1", redis_port()), timeout=5) as s:
            self.assertEqual(command(s, "PING"), b"+PONG\r\n")
            self.assertEqual(command(s, "SET", "mp:test:harness", "1"), b"+OK\r\n")
            self.assertEqual(command(s, "GET", "mp:test:harness"), b"$1\r\n1\r\n")
            self.assertEqual(command(s, "DEL", "mp:test:harness"), b":1\r\n")


if __name__ == "__main__":
    unittest.main()
