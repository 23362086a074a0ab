#!/usr/bin/env python3
"""--idle-timeout: connections that moved no byte for N seconds while none of
their requests ran are closed (memcached's -o idle_timeout, counted in
idle_kicks), including a client that stopped reading its replies; a client
that keeps talking is never cut; without the option nobody is closed."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402


def keep_talking(c, seconds):
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        c.expect(b"mn\r\n", b"MN\r\n")
        time.sleep(0.2)


class IdleTimeout(harness.ServerTest):
    SERVER_ARGS = ("--idle-timeout", "2", "--conn-output-limit", "64k")
    MEMORY = "0"

    def test_silent_client_is_closed_and_a_talking_one_is_not(self):
        busy = self.conn()
        kicks0 = int(stats(busy)["idle_kicks"])
        idle = self.conn()
        idle.expect(b"mn\r\n", b"MN\r\n")
        half = self.conn()  # a command line begun and never ended
        half.send(b"get some")
        keep_talking(busy, 4.5)  # 2 s of silence, plus up to 1 s until the next sweep
        self.assertTrue(idle.is_closed(1.0), "a silent client was kept")
        self.assertTrue(half.is_closed(1.0), "a client stalled mid-line was kept")
        busy.expect(b"mn\r\n", b"MN\r\n")  # the talking client is still served
        st = stats(busy)
        self.assertEqual(int(st["idle_kicks"]) - kicks0, 2)
        self.assertEqual(stats(busy, b"settings")["idle_timeout"], "2")

    def test_reader_that_stopped_reading_is_closed(self):
        c = self.conn()
        kicks0 = int(stats(c)["idle_kicks"])
        val = os.urandom(100_000)
        c.expect(b"set big 0 0 %d\r\n%s\r\n" % (len(val), val), b"STORED\r\n")
        g = self.server.connect()
        self.addCleanup(g.close)
        n = 400  # 40 MB of replies: far more than 64k + what both kernels buffer
        g.send_without_reading(b"get big\r\n" * n, 1.0)
        keep_talking(c, 4.5)
        # What the server had queued arrives, whole replies first, then the close.
        g.s.setblocking(True)
        g.s.settimeout(5)
        got, values = 0, 0
        try:
            while True:
                head = g.line()
                self.assertEqual(head, b"VALUE big 0 %d\r\n" % len(val))
                self.assertEqual(g.read_exact(len(val) + 7), val + b"\r\nEND\r\n")
                values += 1
        except (EOFError, ConnectionResetError):
            got = values
        self.assertLess(got, n, "the stalled reader was served everything, not closed")
        # g at least (c too, if reading g's backlog kept it silent for 2 s)
        self.assertGreaterEqual(int(stats(self.conn())["idle_kicks"]) - kicks0, 1)


class NoIdleTimeout(harness.ServerTest):
    def test_default_keeps_silent_clients(self):
        idle = self.conn()
        idle.expect(b"mn\r\n", b"MN\r\n")
        time.sleep(2.5)
        idle.expect(b"mn\r\n", b"MN\r\n")
        self.assertEqual(stats(idle, b"settings")["idle_timeout"], "0")
        self.assertEqual(stats(idle)["idle_kicks"], "0")


if __name__ == "__main__":
    harness.main()
