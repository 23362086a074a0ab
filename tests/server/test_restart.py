#!/usr/bin/env python3
"""Clean shutdown and restart: SIGTERM finishes in-flight requests, flushes and
fsyncs, exits 0, and a restart on the same store serves every object stored
before the signal. A second cossd on the same store is refused."""
import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class WrittenAckAndReboots(unittest.TestCase):
    """--write-ack written survives kill -9 but not a power cut: a start after an
    unclean stop in that mode during another boot empties the store; a process
    crash, a clean stop, or a durable run do not (boot_guard.h). The boot id is
    read from COSS_BOOT_ID_FILE: no test can reboot the machine."""

    def setUp(self):
        self.server = harness.Server(store_size="64m", args=("--write-ack", "written"))
        self.addCleanup(self.server.cleanup)
        self.boot = os.path.join(self.server.tmp, "boot_id")
        old = os.environ.get("COSS_BOOT_ID_FILE")
        os.environ["COSS_BOOT_ID_FILE"] = self.boot
        self.addCleanup(lambda: os.environ.pop("COSS_BOOT_ID_FILE") if old is None
                        else os.environ.__setitem__("COSS_BOOT_ID_FILE", old))

    def start(self, boot, mode=None):
        with open(self.boot, "w") as f:
            f.write(boot + "\n")
        if mode is not None:
            self.server.args[-1] = mode
        self.server.start()
        return self.server.connect()

    def hit(self, c, key):
        c.send(b"get " + key + b"\r\n")
        line = c.line()
        if line == b"END\r\n":
            return False
        c.read_exact(len(b"v\r\nEND\r\n"))
        return True

    def test_only_an_unclean_stop_across_a_reboot_empties_the_store(self):
        c = self.start("boot-a")
        c.expect(b"set k0 0 0 1\r\nv\r\n", b"STORED\r\n")
        c.close()
        self.assertEqual(self.server.stop(signal.SIGTERM), 0)
        self.assertFalse(os.path.exists(self.server.store + ".run"), "a clean stop leaves it")
        c = self.start("boot-b")  # a reboot after a clean stop: nothing to fear
        self.assertTrue(self.hit(c, b"k0"))
        c.close()
        self.server.stop(signal.SIGKILL)
        c = self.start("boot-b")  # a process crash: the journal covers it
        self.assertTrue(self.hit(c, b"k0"))
        c.close()
        self.server.stop(signal.SIGKILL)
        c = self.start("boot-c")  # down across a reboot: maybe a power cut
        self.assertFalse(self.hit(c, b"k0"), "served what a power cut may have made stale")
        self.assertIn("the store starts empty", self.server.read_log())
        c.expect(b"set k1 0 0 1\r\nv\r\n", b"STORED\r\n")
        c.close()
        self.assertEqual(self.server.stop(signal.SIGTERM), 0)
        # A durable run needs no such care: its acknowledgements were synced.
        c = self.start("boot-c", mode="durable")
        self.assertTrue(self.hit(c, b"k1"))
        c.close()
        self.server.stop(signal.SIGKILL)
        c = self.start("boot-d", mode="durable")
        self.assertTrue(self.hit(c, b"k1"))
        c.close()
        self.assertEqual(self.server.read_log().count("the store starts empty"), 1)


class Restart(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server(store_size="64m")
        self.addCleanup(self.server.cleanup)

    def restart(self):
        rc = self.server.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, self.server.read_log())
        self.assertIn("flushed and closed", self.server.read_log())
        self.server.start()

    def test_all_objects_survive_sigterm(self):
        self.server.start()
        c = self.server.connect()
        rnd = random.Random(7)
        objs = {}
        req = []
        for i in range(3000):
            v = rnd.randbytes(rnd.choice([1, 50, 700, 4000, 20000]))
            objs[b"r%d" % i] = (i % 1000, v)
            req.append(b"set r%d %d 0 %d noreply\r\n%s\r\n" % (i, i % 1000, len(v), v))
        for i in range(0, 3000, 10):  # some deleted, some overwritten
            req.append(b"delete r%d noreply\r\n" % i)
            del objs[b"r%d" % i]
        for i in range(5, 3000, 10):
            objs[b"r%d" % i] = (1, b"updated")
            req.append(b"set r%d 1 0 7 noreply\r\nupdated\r\n" % i)
        c.send(b"".join(req))
        c.expect(b"mn\r\n", b"MN\r\n")
        c.close()
        self.restart()
        c = self.server.connect()
        for k, (flags, v) in objs.items():
            c.send(b"get " + k + b"\r\n")
            self.assertEqual(c.line(), b"VALUE %s %d %d\r\n" % (k, flags, len(v)), k)
            self.assertEqual(c.read_exact(len(v) + 7), v + b"\r\nEND\r\n")
        for i in range(0, 3000, 10):
            c.expect(b"get r%d\r\n" % i, b"END\r\n")
        c.close()

    def test_in_flight_requests_finish_on_sigterm(self):
        self.server.start()
        c = self.server.connect()
        n = 2000
        req = b"".join(b"set f%d 0 0 6\r\nval%03d\r\n" % (i, i % 1000) for i in range(n))
        c.send(req)
        self.server.proc.send_signal(signal.SIGTERM)
        self.assertEqual(c.read_exact(8 * n), b"STORED\r\n" * n)
        self.assertTrue(c.is_closed(10))
        self.assertEqual(self.server.proc.wait(30), 0)
        self.server.stop()
        self.server.start()
        c = self.server.connect()
        for i in range(0, n, 7):
            c.expect(b"get f%d\r\n" % i, b"VALUE f%d 0 6\r\nval%03d\r\nEND\r\n" % (i, i % 1000))

    def test_second_instance_is_refused(self):
        self.server.start()
        port = harness.free_port()
        p = subprocess.run([harness.COSSD, "-p", str(port), "--store", self.server.store + ":64m"],
                           capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"in use by another process", p.stderr)
        # the first one is unharmed
        c = self.server.connect()
        c.expect(b"set a 0 0 1\r\nx\r\nget a\r\n", b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")

    def test_checkpoint_placement(self):
        ckdir = os.path.join(self.server.tmp, "ck")
        os.mkdir(ckdir)
        self.server.args += ["--checkpoint", ckdir]
        self.server.start()
        c = self.server.connect()
        c.expect(b"set cp 0 0 2\r\nok\r\n", b"STORED\r\n")
        c.close()
        self.assertEqual(self.server.stop(), 0)
        self.assertTrue(os.path.exists(os.path.join(ckdir, "store.coss.ckpt")), os.listdir(ckdir))
        self.server.start()
        self.server.connect().expect(b"get cp\r\n", b"VALUE cp 0 2\r\nok\r\nEND\r\n")

    def test_delayed_flush_all_survives_restarts(self):
        """A delayed flush_all is kept across a restart (clean or killed): armed
        again while its time is ahead, applied at open once it has passed."""
        flush_file = self.server.store + ".flush"
        self.server.start()
        c = self.server.connect()
        c.expect(b"set old 0 0 3\r\nold\r\n", b"STORED\r\n")
        c.expect(b"flush_all 10\r\n", b"OK\r\n")  # room for a slow stop and start
        self.assertTrue(os.path.exists(flush_file))
        c.close()
        t_flush = time.time() + 10
        self.restart()  # before the flush time: armed again, nothing dropped yet
        c = self.server.connect()
        c.expect(b"get old\r\n", b"VALUE old 0 3\r\nold\r\nEND\r\n")
        self.assertIn("delayed flush_all is pending", self.server.read_log())
        time.sleep(max(0.0, t_flush - time.time()) + 1.5)  # the signal loop checks every second
        c.expect(b"get old\r\n", b"END\r\n")
        self.assertFalse(os.path.exists(flush_file), "a flush that ran left its file")
        c.expect(b"set new 0 0 3\r\nnew\r\n", b"STORED\r\n")
        c.close()
        self.restart()  # the flush that ran is not applied again
        self.server.connect().expect(b"get new\r\n", b"VALUE new 0 3\r\nnew\r\nEND\r\n")
        # Killed, and down while the time passes: applied as the store opens.
        c = self.server.connect()
        c.expect(b"flush_all 1\r\n", b"OK\r\n")
        c.close()
        self.server.stop(signal.SIGKILL)
        time.sleep(1.5)
        self.server.start()
        self.server.connect().expect(b"get new\r\n", b"END\r\n")
        self.assertIn("came due while the server was down", self.server.read_log())
        self.assertFalse(os.path.exists(flush_file))

    def test_flush_all_now_cancels_a_delayed_one(self):
        self.server.start()
        c = self.server.connect()
        c.expect(b"flush_all 3\r\n", b"OK\r\n")
        c.expect(b"flush_all\r\n", b"OK\r\n")
        c.expect(b"set after 0 0 1\r\na\r\n", b"STORED\r\n")
        c.close()
        self.restart()
        time.sleep(3.5)
        self.server.connect().expect(b"get after\r\n", b"VALUE after 0 1\r\na\r\nEND\r\n")
        self.assertFalse(os.path.exists(self.server.store + ".flush"))

    def test_sigint_is_clean_too(self):
        self.server.start()
        c = self.server.connect()
        c.expect(b"set si 0 0 2\r\nhi\r\n", b"STORED\r\n")
        c.close()
        self.assertEqual(self.server.stop(signal.SIGINT), 0)
        self.server.start()
        self.server.connect().expect(b"get si\r\n", b"VALUE si 0 2\r\nhi\r\nEND\r\n")


if __name__ == "__main__":
    harness.main()
