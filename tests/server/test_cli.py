#!/usr/bin/env python3
"""Command line and config file: --help documents every option, a wrong
option or value exits non-zero with one line naming it, TOML config with
command-line override, -I size forms, and the no-argument defaults."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402

OPTIONS = ["--port", "--listen", "--threads", "--memory-limit", "--conn-limit", "--max-item-size",
           "--verbose", "--store", "--stripe-size", "--membufs", "--io", "--relocation",
           "--metrics-port", "--config", "--on-full", "--max-line", "--max-get-line",
           "--conn-output-limit", "--conn-inflight", "--conn-pending", "--shutdown-timeout", "--idle-timeout",
           "--write-ack", "--metrics-listen", "--checkpoint", "--checkpoint-interval",
           "--max-buffer-age"]


def run(args, cwd=None, timeout=30):
    return subprocess.run([harness.COSSD] + args, capture_output=True, timeout=timeout, cwd=cwd)


class CommandLine(unittest.TestCase):
    def test_help_documents_every_option(self):
        p = run(["--help"])
        self.assertEqual(p.returncode, 0)
        out = p.stdout.decode()
        for o in OPTIONS + ["-p", "-l", "-t", "-m", "-c", "-I", "-v", "SIGTERM"]:
            self.assertIn(o, out)

    def test_bad_options_name_themselves(self):
        cases = [
            (["--bogus"], "--bogus"),
            (["-p", "99999"], "--port"),
            (["-p", "abc"], "--port"),
            (["--io", "aio"], "--io"),
            (["-I", "2x"], "--max-item-size"),
            (["-I", "2g"], "--max-item-size"),
            (["--store", "/tmp/x:abc"], "--store"),
            (["--store", ":1g"], "--store"),
            (["--relocation", "tail:x"], "--relocation"),
            (["--relocation", "sometimes"], "--relocation"),
            (["--write-ack", "never"], "--write-ack"),
            (["--stripe-size", "3000"], "--stripe-size"),
            (["--membufs", "0"], "--membufs"),
            (["-t", "0"], "--threads"),
            (["-m", "lots"], "--memory-limit"),
            (["-m", "200000"], "up to 128 GiB"),
            (["-c", "-5"], "-c"),
            (["--on-full", "maybe"], "--on-full"),
            (["--idle-timeout", "soon"], "--idle-timeout"),
            (["--idle-timeout", "-1"], "--idle-timeout"),
        ]
        tmp = tempfile.mkdtemp(dir=harness.TMP_BASE)
        self.addCleanup(shutil.rmtree, tmp, True)
        for args, name in cases:
            p = run(args, cwd=tmp)
            err = p.stderr.decode()
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn(name, err, args)
            self.assertEqual(err.count("\n"), 1, f"{args}: not one line: {err!r}")
        self.assertFalse(os.path.exists(os.path.join(tmp, "coss-data")), "a bad option opened a store")

    def test_item_size_forms_and_config_file(self):
        tmp = tempfile.mkdtemp(dir=harness.TMP_BASE)
        self.addCleanup(shutil.rmtree, tmp, True)
        port = harness.free_port()
        cfg = os.path.join(tmp, "cossd.toml")
        with open(cfg, "w") as f:
            f.write(f'port = {port}\nmemory-limit = "8m"\nmax-item-size = "512k"\n'
                    f'store = ["{tmp}/a.coss:32m", "{tmp}/b.coss:32m"]\nthreads = 1\n')
        for item_arg, want in [(None, 512 * 1024), ("1m", 1 << 20), ("2000000", 2000000)]:
            args = ["--config", cfg] + (["-I", item_arg] if item_arg else [])
            srv = harness.Server(tmpdir=tmp, port=port)
            srv.args = args
            self.addCleanup(srv.cleanup)
            srv.start()
            c = srv.connect()
            s = stats(c, b"settings")
            self.assertEqual(int(s["item_size_max"]), want)
            self.assertEqual(int(s["tcpport"]), port)
            self.assertEqual(int(s["coss_ram_bytes"]), 8 << 20)
            self.assertEqual(s["coss_store"], f"{tmp}/a.coss:33554432,{tmp}/b.coss:33554432")
            c.close()
            self.assertEqual(srv.stop(), 0)

    def test_config_file_errors(self):
        tmp = tempfile.mkdtemp(dir=harness.TMP_BASE)
        self.addCleanup(shutil.rmtree, tmp, True)
        cfg = os.path.join(tmp, "bad.toml")
        for text, name in [("prot = 1\n", "prot"), ("port = \"x\"\n", "port"),
                           ("port = [\n", "bad.toml"), ("io = \"aio\"\n", "io")]:
            with open(cfg, "w") as f:
                f.write(text)
            p = run(["--config", cfg])
            self.assertNotEqual(p.returncode, 0, text)
            self.assertIn(name, p.stderr.decode(), text)
            self.assertEqual(p.stderr.decode().count("\n"), 1, p.stderr)
        p = run(["--config", os.path.join(tmp, "missing.toml")])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("missing.toml", p.stderr.decode())

    def test_defaults_without_arguments(self):
        # The default port must be free: wait a while for whatever holds it
        # (a socket in TIME_WAIT lasts a minute), then fail rather than skip.
        deadline = time.monotonic() + 90
        while True:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", 11211))
                    break
                except OSError as e:
                    if time.monotonic() > deadline:
                        self.fail(f"port 11211 stayed busy on this machine: {e}")
            time.sleep(1)
        tmp = tempfile.mkdtemp(dir=harness.TMP_BASE)
        self.addCleanup(shutil.rmtree, tmp, True)
        srv = harness.Server(tmpdir=tmp, port=11211)
        srv.args = []
        self.addCleanup(srv.cleanup)
        srv.start()
        first = srv.read_log().splitlines()[0]
        store = os.path.join(tmp, "coss-data", "store.coss")
        self.assertIn(store, first)
        self.assertIn("created folder", first)
        self.assertEqual(os.path.getsize(store), 1 << 30)
        c = srv.connect()
        s = stats(c, b"settings")
        self.assertEqual(s["inter"], "127.0.0.1")
        self.assertEqual(int(s["coss_ram_bytes"]), 64 << 20)
        self.assertEqual(int(s["maxbytes"]), 1 << 30)
        self.assertEqual(int(s["item_size_max"]), 1 << 20)
        c.expect(b"set d 0 0 1\r\nx\r\nget d\r\n", b"STORED\r\nVALUE d 0 1\r\nx\r\nEND\r\n")
        c.close()
        self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    harness.main()
