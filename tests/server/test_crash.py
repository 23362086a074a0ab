#!/usr/bin/env python3
"""Crash (SIGKILL) after acknowledged writes, with --write-ack written (the
default) and durable: on restart an acknowledged overwrite is never undone (the
new value or a miss, never the old one) and an acknowledged delete stays
deleted."""
import os
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Crash(unittest.TestCase):
    def test_acknowledged_writes_survive_sigkill(self):
        for mode in ("written", "durable"):
            with self.subTest(write_ack=mode):
                self.check_sigkill(mode)

    def check_sigkill(self, mode):
        server = harness.Server(("--membufs", "2", "--write-ack", mode), store_size="64m")
        self.addCleanup(server.cleanup)
        server.start()
        c = server.connect()
        old = b"o" * 4000
        # enough data that the first values are on the device, not only in buffers
        c.send(b"".join(b"set k%d 0 0 %d noreply\r\n%s\r\n" % (i, len(old), old) for i in range(2000)))
        c.expect(b"mn\r\n", b"MN\r\n")
        req, want = [], []
        for i in range(0, 200):
            req.append(b"set k%d 1 0 7\r\nnew%04d\r\n" % (i, i))
            want.append(b"STORED\r\n")
        for i in range(200, 400):
            req.append(b"delete k%d\r\n" % i)
            want.append(b"DELETED\r\n")
        c.send(b"".join(req))
        self.assertEqual(c.read_exact(len(b"".join(want))), b"".join(want))
        self.assertEqual(server.stop(signal.SIGKILL), -signal.SIGKILL)
        server.start()
        c = server.connect()
        present_new = 0
        for i in range(0, 200):
            c.send(b"get k%d\r\n" % i)
            got = c.read_until(b"END\r\n")
            self.assertIn(got, [b"END\r\n", b"VALUE k%d 1 7\r\nnew%04d\r\nEND\r\n" % (i, i)],
                          f"k{i} went back to an older value")
            present_new += got != b"END\r\n"
        for i in range(200, 400):
            c.expect(b"get k%d\r\n" % i, b"END\r\n")
        survived = 0
        for i in range(400, 2000):
            c.send(b"get k%d\r\n" % i)
            got = c.read_until(b"END\r\n")
            self.assertIn(got, [b"END\r\n", b"VALUE k%d 0 %d\r\n%s\r\nEND\r\n" % (i, len(old), old)])
            survived += got != b"END\r\n"
        self.assertGreater(survived, 500, "objects already on the device were lost")
        c.close()


if __name__ == "__main__":
    harness.main()
