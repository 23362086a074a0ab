#!/usr/bin/env python3
"""Bad and unusual clients: garbage, disconnects mid-value, half-closed
sockets, slow readers (bounded memory), many connections and the -c limit.
In every case the other clients keep being served."""
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class BadClients(harness.ServerTest):
    def check_alive(self, c, tag):
        v = b"alive-%s" % tag
        c.expect(b"set alive 0 0 %d\r\n%s\r\nget alive\r\n" % (len(v), v),
                 b"STORED\r\nVALUE alive 0 %d\r\n%s\r\nEND\r\n" % (len(v), v))

    def test_garbage_while_others_work(self):
        good = self.conn()
        stop = threading.Event()
        errors = []

        def worker():
            try:
                i = 0
                while not stop.is_set():
                    self.check_alive(good, b"%d" % i)
                    i += 1
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        t = threading.Thread(target=worker)
        t.start()
        rnd = random.Random(1)
        for round_ in range(30):
            g = self.server.connect()
            try:
                blob = rnd.randbytes(rnd.randint(1, 20000))
                if round_ % 3 == 0:
                    blob = blob.replace(b"\n", b" ")  # one endless line
                if round_ % 3 == 1:
                    blob = b"\r\n".join(blob[i:i + 30] for i in range(0, len(blob), 30))
                g.send(blob)
                g.read_available(0.05)
            except OSError:
                pass  # the server may drop a garbage client: fine
            g.close()
        stop.set()
        t.join()
        self.assertEqual(errors, [])
        self.check_alive(self.conn(), b"end")

    def test_disconnect_mid_value(self):
        for i in range(20):
            g = self.server.connect()
            g.send(b"set half%d 0 0 100000\r\n" % i + b"x" * (i * 4000))
            g.close()
        c = self.conn()
        c.expect(b"get half0 half5 half19\r\n", b"END\r\n")
        self.check_alive(c, b"after")

    def test_disconnect_with_pending_disk_reads(self):
        c = self.conn()
        blob = b"y" * 30000
        c.send(b"".join(b"set dr%d 0 0 %d noreply\r\n%s\r\n" % (i, len(blob), blob) for i in range(400)))
        c.expect(b"mn\r\n", b"MN\r\n")
        for _ in range(10):
            g = self.server.connect()
            g.send(b"".join(b"get dr%d\r\n" % i for i in range(400)))
            g.close()
        self.check_alive(c, b"x")

    def test_half_closed_client_gets_its_replies(self):
        c = self.conn()
        c.send(b"set hc 0 0 2\r\nok\r\nget hc\r\n")
        c.s.shutdown(socket.SHUT_WR)
        self.assertEqual(c.read_until(b"END\r\n"), b"STORED\r\nVALUE hc 0 2\r\nok\r\nEND\r\n")
        self.assertTrue(c.is_closed())

    def test_slow_reader_is_bounded(self):
        c = self.conn()
        big = os.urandom(1 << 20)
        c.expect(b"set big 0 0 %d\r\n" % len(big) + big + b"\r\n", b"STORED\r\n")
        base = rss_kib(self.server.proc.pid)
        # 300 MiB of replies requested; nothing read for a while.
        req = b"get big\r\n" * 300
        sent = c.send_without_reading(req, 3)
        time.sleep(0.5)
        grown = rss_kib(self.server.proc.pid) - base
        self.assertLess(grown, 64 * 1024, f"RSS grew by {grown} KiB for a client that does not read")
        # Blocking again, but bounded: a server that stops answering fails
        # the test instead of hanging it (the gaps between replies are short).
        c.s.settimeout(60)
        c.send(req[sent:])
        for _ in range(300):
            self.assertEqual(c.line(), b"VALUE big 0 %d\r\n" % len(big))
            self.assertEqual(c.read_exact(len(big) + 7), big + b"\r\nEND\r\n")
        self.check_alive(c, b"slow")

    def test_many_connections(self):
        conns = [self.server.connect() for _ in range(200)]
        for i, c in enumerate(conns):
            c.send(b"set mc%d 0 0 1\r\n%d\r\n" % (i, i % 10))
        for c in conns:
            self.assertEqual(c.line(), b"STORED\r\n")
        for i, c in enumerate(conns):
            c.expect(b"get mc%d\r\n" % i, b"VALUE mc%d 0 1\r\n%d\r\nEND\r\n" % (i, i % 10))
        s = stats(conns[0])
        self.assertGreaterEqual(int(s["curr_connections"]), 200)
        for c in conns:
            c.close()


class ConnectionLimit(harness.ServerTest):
    SERVER_ARGS = ("-c", "10")

    def test_limit(self):
        first = self.server.connect()
        deadline = time.time() + 5  # the harness's start-up probe may still count
        while int(stats(first)["curr_connections"]) != 1 and time.time() < deadline:
            time.sleep(0.05)
        conns = [first] + [self.server.connect() for _ in range(9)]
        for c in conns:
            c.expect(b"mn\r\n", b"MN\r\n")
        extra = self.server.connect()
        self.assertEqual(extra.read_until(b"\r\n"), b"ERROR Too many open connections\r\n")
        self.assertTrue(extra.is_closed())
        conns.pop().close()
        time.sleep(0.2)
        again = self.conn()
        again.expect(b"mn\r\n", b"MN\r\n")
        s = stats(again)
        self.assertGreaterEqual(int(s["rejected_connections"]), 1)
        for c in conns:
            c.close()


class PipelineLimits(harness.ServerTest):
    SERVER_ARGS = ("--conn-pending", "16", "--conn-inflight", "4", "--conn-output-limit", "64k",
                   "--membufs", "2")
    MEMORY = "0"

    def test_tiny_limits_still_answer_everything_in_order(self):
        c = self.conn()
        blob = b"z" * 5000
        c.send(b"".join(b"set pl%d 0 0 %d noreply\r\n%s\r\n" % (i, len(blob), blob) for i in range(3000)))
        c.expect(b"mn\r\n", b"MN\r\n")
        req, want = [], []
        for i in range(0, 3000, 3):
            req.append(b"get pl%d pl%d\r\nincr pl%d 1\r\n" % (i, i + 1, i))
            want.append(b"VALUE pl%d 0 5000\r\n%s\r\nVALUE pl%d 0 5000\r\n%s\r\nEND\r\n"
                        b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
                        % (i, blob, i + 1, blob))
        want = b"".join(want)
        c.send(b"".join(req))
        self.assertEqual(c.read_exact(len(want)), want)


if __name__ == "__main__":
    harness.main()
