"""The conventions every tool shares: --help, --version, exit codes, config, docs in step."""
import json
import os
import re
import tempfile
import unittest

from harness import SOURCE_DIR, Server, run_tool

TOOLS = ["mp-serve", "mp-bench", "mp-monitor", "mp-cache"]


def help_flags(tool, *sub):
    """The flags `TOOL [SUB...] --help` mentions."""
    out = run_tool(tool, *sub, "--help").stdout
    return sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", out)))


def subcommands(tool):
    """The names in the "Subcommands:" section of `TOOL --help` (CLI11: `  name   description`)."""
    section = re.search(r"(?ms)^Subcommands:\n(.*?)(?:^\S|\Z)", run_tool(tool, "--help").stdout)
    return re.findall(r"(?m)^  (\S+)", section.group(1)) if section else []


def all_help_flags(tool):
    """{(): flags of `TOOL --help`, (SUB,): flags of `TOOL SUB --help`, ...}."""
    return {(): help_flags(tool), **{(sub,): help_flags(tool, sub) for sub in subcommands(tool)}}


def read(path):
    with open(os.path.join(SOURCE_DIR, path)) as f:
        return f.read()


class Conventions(unittest.TestCase):
    def test_help_and_version(self):
        for t in TOOLS:
            with self.subTest(tool=t):
                h = run_tool(t, "--help")
                self.assertEqual(h.returncode, 0)
                self.assertIn("Usage:", h.stdout)
                v = run_tool(t, "--version")
                self.assertEqual(v.returncode, 0)
                self.assertRegex(v.stdout.strip(), r"^\d+\.\d+\.\d+$")

    def test_unknown_flag_is_usage_error(self):
        for t in TOOLS:
            with self.subTest(tool=t):
                r = run_tool(t, "--no-such-flag")
                self.assertEqual(r.returncode, 2)
                self.assertIn(f"{t}: error:", r.stderr)
                self.assertIn("--no-such-flag", r.stderr)

    def test_print_config_is_json_with_env_and_flags_applied(self):
        r = run_tool("mp-serve", "--print-config", "--port", "9123",
                     env={"MP_SERVER_THREADS": "3", "REDIS_HOST": "redis.example", "MP_API_KEYS": "abcdefgh-secret"})
        self.assertEqual(r.returncode, 0, r.stderr)
        cfg = json.loads(r.stdout)
        self.assertEqual(cfg["server"]["port"], 9123)
        self.assertEqual(cfg["server"]["threads"], 3)
        self.assertEqual(cfg["ai_processing"]["cache"]["redis_host"], "redis.example")
        self.assertEqual(cfg["auth"]["api_keys"], "***")
        self.assertNotIn("abcdefgh-secret", r.stdout)
        for t in TOOLS[1:]:
            self.assertEqual(json.loads(run_tool(t, "--print-config").stdout)["server"]["port"], 8002)

    def test_unknown_config_key_exits_2_naming_it(self):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write("[ai_processing]\nnum_wrokers = 3\n")
        try:
            for t in TOOLS:
                r = run_tool(t, "--config", f.name, "--print-config")
                self.assertEqual(r.returncode, 2, t)
                self.assertIn("ai_processing.num_wrokers", r.stderr)
                self.assertIn("did you mean 'ai_processing.num_workers'", r.stderr)
        finally:
            os.unlink(f.name)

    def test_bad_values_exit_2_naming_the_source(self):
        r = run_tool("mp-serve", "--port", "http")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--port", r.stderr)
        r = run_tool("mp-serve", "--print-config", env={"MP_LOG_LEVEL": "chatty"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("MP_LOG_LEVEL", r.stderr)
        r = run_tool("mp-cache", "--config", "/nonexistent.toml")
        self.assertEqual(r.returncode, 2)
        self.assertIn("/nonexistent.toml", r.stderr)

    def test_port_in_use_exits_3(self):
        s = Server()
        try:
            # The I/O threads share the port through SO_REUSEPORT; a second mp-serve must
            # still be refused rather than silently split the traffic.
            r = run_tool("mp-serve", "--port", str(s.port))
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("cannot listen", r.stderr)
        finally:
            s.terminate()
        import socket
        with socket.socket() as other:
            other.bind(("127.0.0.1", 0))
            other.listen()
            port = other.getsockname()[1]
            r = run_tool("mp-serve", "--port", str(port))
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("cannot listen", r.stderr)

    def test_json_logs(self):
        s = Server("--log-format", "json")
        try:
            first = json.loads(s.stderr_lines[0])
            self.assertEqual(first["logger"], "mp-serve")
            self.assertEqual(first["level"], "info")
            self.assertIn("listening on", first["msg"])
        finally:
            self.assertEqual(s.terminate(), 0)

    def test_config_example_is_complete_and_valid(self):
        example = os.path.join(SOURCE_DIR, "mp.toml.example")
        r = run_tool("mp-serve", "--config", example, "--print-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        text = read("mp.toml.example")
        defaults = json.loads(run_tool("mp-serve", "--print-config", env={"MP_API_KEYS": ""}).stdout)

        def keys(obj, prefix=""):
            for k, v in obj.items():
                if isinstance(v, dict):
                    yield from keys(v, f"{prefix}{k}.")
                else:
                    yield prefix, k

        for section, key in keys(defaults):
            if section.startswith("ai_processing.pricing.models."):
                model = section[len("ai_processing.pricing.models."):-1]
                self.assertIn(f'[ai_processing.pricing.models."{model}"]', text)
                continue
            if isinstance(defaults_at(defaults, section, key), list):
                # An array of tables: the example shows at least one entry.
                self.assertIn(f"[[{section}{key}]]", text, f"{section}{key} missing in mp.toml.example")
                continue
            self.assertRegex(text, rf"(?m)^\[{re.escape(section[:-1])}\]", section)
            self.assertRegex(text, rf"(?m)^#? ?{re.escape(key)} = ", f"{section}{key} missing in mp.toml.example")


def defaults_at(obj, section, key):
    for part in section.rstrip(".").split("."):
        obj = obj[part] if part else obj
    return obj[key]


class DocsInStep(unittest.TestCase):
    """Every flag in a tool's --help appears in its man page and its three completions."""

    def test_flags_documented_everywhere(self):
        for t in TOOLS:
            per_command = all_help_flags(t)
            self.assertIn("--help", per_command[()])
            # Font changes out, so that \fB\-\-since\fR reads as --since.
            man = re.sub(r"\\f(?:[BIRP]|\(\w\w|\[\w*\])", "", read(f"man/{t}.1").replace("\\-", "-"))
            bash = read(f"completions/bash/{t}")
            zsh = read(f"completions/zsh/_{t}")
            fish = read(f"completions/fish/{t}.fish")
            for sub, flags in per_command.items():
                command = " ".join((t, *sub))
                for flag in flags:
                    # Whole flags only: --threshold is not documented by --thresholds-file.
                    whole = re.compile(rf"(?<![\w-]){re.escape(flag)}(?![\w-])")
                    with self.subTest(command=command, flag=flag):
                        self.assertTrue(whole.search(man), f"{command} {flag} missing in man/{t}.1")
                        self.assertTrue(whole.search(bash), f"{command} {flag} missing in bash completion")
                        self.assertTrue(whole.search(zsh), f"{command} {flag} missing in zsh completion")
                        self.assertTrue(re.search(rf"-l {re.escape(flag[2:])}(?![\w-])", fish),
                                        f"{command} {flag} missing in fish completion")

    def test_no_documented_flag_that_does_not_exist(self):
        for t in TOOLS:
            flags = set().union(*all_help_flags(t).values())
            man = read(f"man/{t}.1").replace("\\-", "-")
            documented = set(re.findall(r"^\.B (--[a-z][a-z0-9-]*)", man, re.M))
            documented |= set(re.findall(r"^\.BR? \"?(--[a-z][a-z0-9-]*)", man, re.M))
            self.assertTrue(documented, f"man/{t}.1 documents no flags")
            self.assertEqual(documented - flags, set(), f"man/{t}.1 documents flags {t} lacks")


if __name__ == "__main__":
    unittest.main()
