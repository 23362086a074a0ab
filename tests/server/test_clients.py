#!/usr/bin/env python3
"""Real clients against cossd: pymemcache (Debian python3-pymemcache) and
libmemcached-tools (memccp, memccat, memcrm, memcflush, memcstat, memcslap,
memcaslap)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

try:
    from pymemcache.client.base import Client
except ImportError:  # pragma: no cover
    Client = None


class PyMemcache(harness.ServerTest):
    def client(self):
        if Client is None:
            self.fail("python3-pymemcache is not installed (scripts/deps.sh installs it); "
                      "run the tests with /usr/bin/python3")
        c = Client(("127.0.0.1", self.server.port), connect_timeout=5, timeout=10)
        self.addCleanup(c.close)
        return c

    def test_set_get_many(self):
        c = self.client()
        self.assertTrue(c.set("k1", b"v1"))
        self.assertTrue(c.set("k2", b"\x00\xffbinary", expire=100))
        self.assertEqual(c.get("k1"), b"v1")
        self.assertEqual(c.get("missing"), None)
        self.assertEqual(c.get_many(["k1", "k2", "nope"]), {"k1": b"v1", "k2": b"\x00\xffbinary"})
        many = {f"m{i}": (b"x" * i) for i in range(300)}
        self.assertEqual(c.set_many(many), [])
        self.assertEqual(c.get_many(list(many)), {k: v for k, v in many.items() if True})

    def test_cas_and_friends(self):
        c = self.client()
        c.set("c", b"1")
        value, cas = c.gets("c")
        self.assertEqual(value, b"1")
        self.assertTrue(c.cas("c", b"2", cas))
        self.assertFalse(c.cas("c", b"3", cas))
        self.assertIsNone(c.cas("nope", b"3", cas))
        self.assertTrue(c.add("a", b"x"))
        self.assertFalse(c.add("a", b"y", noreply=False))
        self.assertTrue(c.replace("a", b"z", noreply=False))
        self.assertTrue(c.append("a", b"1", noreply=False))
        self.assertTrue(c.prepend("a", b"0", noreply=False))
        self.assertEqual(c.get("a"), b"0z1")
        self.assertTrue(c.touch("a", 100, noreply=False))
        self.assertTrue(c.delete("a", noreply=False))
        self.assertFalse(c.delete("a", noreply=False))

    def test_counters(self):
        c = self.client()
        c.set("n", b"41")
        self.assertEqual(c.incr("n", 1), 42)
        self.assertEqual(c.decr("n", 50), 0)
        self.assertIsNone(c.incr("nope", 1))
        c.set("big", b"18446744073709551615")
        self.assertEqual(c.incr("big", 1), 0)

    def test_large_value_and_stats(self):
        c = self.client()
        v = os.urandom(1 << 20)
        self.assertTrue(c.set("large", v))
        self.assertEqual(c.get("large"), v)
        s = c.stats()
        self.assertGreater(int(s[b"cmd_set"]), 0)
        self.assertIn(b"coss_store_objects", s)
        self.assertTrue(c.version().startswith(b"1.6"))
        self.assertTrue(c.flush_all(noreply=False))
        self.assertIsNone(c.get("large"))


class LibmemcachedTools(harness.ServerTest):
    def run_tool(self, *args, check=True):
        srv = f"--servers=127.0.0.1:{self.server.port}"
        p = subprocess.run([args[0], srv] + list(args[1:]), capture_output=True, timeout=60)
        if check and p.returncode != 0:
            self.fail(f"{args} exited {p.returncode}: {p.stderr.decode()}")
        return p

    def test_copy_cat_remove_flush(self):
        with tempfile.TemporaryDirectory(dir=harness.TMP_BASE) as d:
            files = {}
            for i in range(5):
                path = os.path.join(d, f"file{i}.bin")
                data = os.urandom(1000 * (i + 1)) if i else b"text file\n"
                with open(path, "wb") as f:
                    f.write(data)
                files[f"file{i}.bin"] = data
            self.run_tool("memccp", *[os.path.join(d, n) for n in files])
            for name, data in files.items():
                # memccat prints the value followed by a newline
                self.assertEqual(self.run_tool("memccat", name).stdout, data + b"\n")
            self.run_tool("memcrm", "file0.bin")
            self.assertNotEqual(self.run_tool("memccat", "file0.bin", check=False).returncode, 0)
            self.run_tool("memcflush")
            self.assertNotEqual(self.run_tool("memccat", "file1.bin", check=False).returncode, 0)

    def test_memcstat(self):
        out = self.run_tool("memcstat").stdout.decode()
        self.assertIn("pid:", out)
        self.assertIn("curr_connections:", out)
        self.assertIn("coss_store_capacity_bytes:", out)

    def test_memcslap_and_memcaslap(self):
        p = self.run_tool("memcslap", "--concurrency=4", "--execute-number=500")
        self.assertIn(b"Time to", p.stdout + p.stderr)
        p = self.run_tool("memcaslap", "--threads=2", "--concurrency=8", "--execute_number=4000",
                          "--verify=0.2")
        out = (p.stdout + p.stderr).decode()
        self.assertRegex(out, r"verify_failed: 0\b")
        self.assertRegex(out, r"cmd_get: \d+")


if __name__ == "__main__":
    harness.main()
