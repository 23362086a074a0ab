#!/usr/bin/env python3
"""Installs this build with `cmake --install` into a temporary prefix and checks
what an operator gets: the binaries, man pages that cover every option of
`cossd --help` and every command of `coss help`, the example configuration
(valid, every commented default too), and a systemd unit that systemd accepts
and whose command line starts the installed cossd.

Usage: test_install.py <build dir>"""
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILD = None
TMP_BASE = os.environ.get("COSS_TEST_DIR", "/var/tmp")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read(path):
    with open(path) as f:
        return f.read()


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, **kw)


class Installed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="coss-install-", dir=TMP_BASE)
        cls.prefix = os.path.join(cls.tmp, "prefix")
        r = run("cmake", "--install", BUILD, "--prefix", cls.prefix)
        if r.returncode != 0:
            raise AssertionError("cmake --install failed:\n" + r.stdout + r.stderr)
        cls.cossd = os.path.join(cls.prefix, "bin", "cossd")
        cls.coss = os.path.join(cls.prefix, "bin", "coss")
        cls.unit = os.path.join(cls.prefix, "lib", "systemd", "system", "cossd.service")
        cls.config = os.path.join(cls.prefix, "etc", "coss", "cossd.toml")
        cls.man = os.path.join(cls.prefix, "share", "man", "man1")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_files_in_place(self):
        for rel in ["bin/cossd", "bin/coss"]:
            path = os.path.join(self.prefix, rel)
            self.assertTrue(os.access(path, os.X_OK), rel)
        for rel in ["share/man/man1/cossd.1", "share/man/man1/coss.1",
                    "lib/systemd/system/cossd.service", "etc/coss/cossd.toml",
                    "share/doc/coss/examples/cossd.toml", "share/doc/coss/examples/haproxy.cfg",
                    "share/doc/coss/README.md",
                    "share/doc/coss/OPERATIONS.md", "share/doc/coss/ARCHITECTURE.md"]:
            self.assertTrue(os.path.isfile(os.path.join(self.prefix, rel)), rel)
        r = run(self.cossd, "--version")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\d+\.\d+\.\d+")

    def test_man_page_covers_every_cossd_option(self):
        help_text = run(self.cossd, "--help").stdout
        options = set(re.findall(r"(?<![\w-])--([a-z][a-z-]+)", help_text))
        self.assertGreater(len(options), 20)  # the parse found the option list
        page = read(os.path.join(self.man, "cossd.1")).replace("\\-", "-")
        missing = sorted(o for o in options if f"--{o}" not in page)
        self.assertEqual(missing, [], "options in --help but not in cossd.1")

    def test_man_page_names_every_coss_command(self):
        out = run(self.coss, "help").stdout
        section = out.split("commands:", 1)[1]
        commands = re.findall(r"^\s{2}(\w+)\s", section, re.M)
        self.assertIn("fsck", commands)
        page = read(os.path.join(self.man, "coss.1"))
        for c in commands:
            self.assertIn(f".B {c}\n", page, c)

    def test_man_pages_render_without_warnings(self):
        for page in ["cossd.1", "coss.1"]:
            r = run("groff", "-ww", "-man", "-z", os.path.join(self.man, page))
            self.assertEqual((r.returncode, r.stderr), (0, ""), page)

    def test_unit_names_the_installed_paths_and_passes_verify(self):
        unit = read(self.unit)
        exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1)
        self.assertEqual(shlex.split(exec_start), [self.cossd, "--config", self.config])
        for hardening in ["NoNewPrivileges=yes", "ProtectSystem=strict", "DynamicUser=yes",
                          "StateDirectory=coss", "SystemCallFilter=@system-service"]:
            self.assertIn(hardening, unit)
        env = dict(os.environ, MANPATH=os.path.join(self.prefix, "share", "man"))
        r = run("systemd-analyze", "verify", self.unit, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def start(self, args, store_dir):
        """Starts `args` (+ a test store and port), waits until it serves; returns
        (process, port)."""
        port = free_port()
        cmd = args + ["--port", str(port), "--metrics-port", "0", "--checkpoint", "none",
                      "--store", os.path.join(store_dir, "s.coss") + ":64m"]
        with open(os.path.join(store_dir, "log"), "wb") as log:
            p = subprocess.Popen(cmd, cwd=store_dir, stdout=log, stderr=log)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        deadline = time.time() + 30
        while time.time() < deadline:
            self.assertIsNone(p.poll(), read(os.path.join(store_dir, "log")))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return p, port
            except OSError:
                time.sleep(0.05)
        self.fail("cossd did not start")

    def settings(self, port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"stats settings\r\n")
            buf = b""
            while not buf.endswith(b"END\r\n"):
                chunk = s.recv(65536)
                self.assertTrue(chunk)
                buf += chunk
        return dict(re.findall(r"STAT (\S+) (.*)\r\n", buf.decode()))

    def test_unit_command_line_starts_cossd_with_the_example_config(self):
        exec_start = re.search(r"^ExecStart=(.*)$", read(self.unit), re.M).group(1)
        d = tempfile.mkdtemp(dir=self.tmp)
        p, port = self.start(shlex.split(exec_start), d)
        s = self.settings(port)
        self.assertEqual(int(s["coss_ram_bytes"]), 256 << 20)  # memory-limit from the file
        self.assertEqual(s["inter"], "127.0.0.1")
        p.terminate()
        self.assertEqual(p.wait(timeout=60), 0)

    def test_every_commented_default_in_the_example_is_valid(self):
        text = read(self.config)
        uncommented, n = re.subn(r"^# ([a-z-]+ = .*)$", r"\1", text, flags=re.M)
        self.assertGreater(n, 10)
        path = os.path.join(self.tmp, "all.toml")
        with open(path, "w") as f:
            f.write(uncommented)
        d = tempfile.mkdtemp(dir=self.tmp)
        p, port = self.start([self.cossd, "--config", path], d)
        s = self.settings(port)
        self.assertEqual(s["coss_relocation"], "reinsert:15+admit:ghost:50")
        p.terminate()
        self.assertEqual(p.wait(timeout=60), 0)

    def test_reinstall_keeps_an_edited_config(self):
        with open(self.config, "a") as f:
            f.write("# edited by the operator\n")
        r = run("cmake", "--install", BUILD, "--prefix", self.prefix)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("# edited by the operator", read(self.config))


if __name__ == "__main__":
    BUILD = sys.argv.pop(1)
    unittest.main(verbosity=2)
