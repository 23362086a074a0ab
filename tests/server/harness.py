"""Test harness for cossd integration tests.

Starts the real cossd binary (path in $COSSD) on a free loopback port with a
small store in a fresh temporary directory, and offers raw-socket helpers.
Every server started here is stopped (SIGTERM, then SIGKILL) when the test
ends, and its temporary directory is removed.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

COSSD = os.environ.get("COSSD", "")
TMP_BASE = os.environ.get("COSS_TEST_DIR", "/var/tmp")


def _die_with_parent():
    """preexec_fn: the server gets SIGKILL if the test process dies (e.g. a
    ctest timeout), so no cossd outlives its test."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One cossd process. Use start() / stop(); restart keeps the store."""

    def __init__(self, args=(), store_size="64m", tmpdir=None, port=None, threads=2, memory="16"):
        self.own_tmp = tmpdir is None
        self.tmp = tmpdir or tempfile.mkdtemp(prefix="cossd-test-", dir=TMP_BASE)
        self.port = port or free_port()
        self.store = os.path.join(self.tmp, "store.coss")
        self.args = ["-p", str(self.port), "-t", str(threads), "-m", memory,
                     "--store", f"{self.store}:{store_size}"] + list(args)
        self.proc = None
        self.log_path = os.path.join(self.tmp, "cossd.log")

    def start(self, timeout=20):
        assert COSSD, "set COSSD to the cossd binary"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([COSSD] + self.args, stdout=self.log, stderr=self.log,
                                     cwd=self.tmp, preexec_fn=_die_with_parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cossd exited with {self.proc.returncode}: {self.read_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("cossd did not start listening: " + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Stops the server; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        return rc

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.own_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def connect(self, timeout=5):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Conn(s)


class Conn:
    """A raw protocol connection with exact-byte helpers."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def read_exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(max(65536, n - len(self.buf)))
            if not d:
                raise EOFError(f"connection closed; have {self.buf!r}")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until(self, term):
        while term not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError(f"connection closed; have {self.buf!r}")
            self.buf += d
        i = self.buf.index(term) + len(term)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def line(self):
        return self.read_until(b"\r\n")

    def call(self, data, terminator=b"\r\n"):
        """Sends data, returns everything up to and including terminator."""
        self.send(data)
        return self.read_until(terminator)

    def expect(self, data, reply):
        """Sends data and checks the exact reply bytes."""
        self.send(data)
        got = self.read_exact(len(reply))
        if got != reply:
            raise AssertionError(f"sent {data[:200]!r}: expected {reply!r}, got {got!r}")

    def read_available(self, wait=0.2):
        self.s.settimeout(wait)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    self.buf += b"<EOF>"
                    break
                self.buf += d
        except socket.timeout:
            pass
        finally:
            self.s.settimeout(5)
        out, self.buf = self.buf, b""
        return out

    def is_closed(self, wait=2.0):
        self.s.settimeout(wait)
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.s.settimeout(5)

    def send_without_reading(self, data, seconds):
        """Sends as much of data as the server takes within `seconds`, reading
        nothing (a client that does not drain its replies); returns the bytes
        sent. The socket is left non-blocking."""
        self.s.setblocking(False)
        sent, deadline = 0, time.monotonic() + seconds
        while sent < len(data) and time.monotonic() < deadline:
            try:
                sent += self.s.send(data[sent:])
            except BlockingIOError:
                time.sleep(0.01)
        return sent

    def close(self):
        self.s.close()


class ServerTest(unittest.TestCase):
    """Starts one cossd per test class (setUpClass) unless PER_TEST is set."""

    SERVER_ARGS = ()
    STORE_SIZE = "64m"
    MEMORY = "16"

    @classmethod
    def setUpClass(cls):
        cls.server = Server(cls.SERVER_ARGS, store_size=cls.STORE_SIZE, memory=cls.MEMORY)
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        log = cls.server.read_log()
        cls.server.cleanup()
        if rc != 0:
            raise AssertionError(f"cossd exited with {rc} on SIGTERM; log:\n{log}")

    def conn(self):
        c = self.server.connect()
        self.addCleanup(c.close)
        return c


def stats(conn, arg=b""):
    conn.send(b"stats" + (b" " + arg if arg else b"") + b"\r\n")
    out = {}
    while True:
        line = conn.line()
        if line == b"END\r\n":
            return out
        m = re.match(rb"STAT (\S+) (.*)\r\n", line)
        assert m, line
        out[m.group(1).decode()] = m.group(2).decode()


def main():
    """Runs the tests; exit 77 (ctest: skipped) when something was skipped,
    so a skipped test is never counted as passed."""
    import sys
    prog = unittest.main(verbosity=2, exit=False)
    r = prog.result
    if not r.wasSuccessful() or r.testsRun == 0:
        sys.exit(1)
    if r.skipped:
        sys.exit(77)
    sys.exit(0)
