#!/usr/bin/env python3
"""A failed fdatasync under a running cossd: with --write-ack durable, a write
that cannot be made durable is answered with exactly one SERVER_ERROR line
(never STORED), every later write too until a restart (a failed flush is never
trusted again), reads go on, the counters say so, and a restart serves what was
acknowledged before (or a miss). With --write-ack written (the default) the
writes acknowledged before the failed flush keep their promise (a process crash
cannot undo them) until the next start, which empties the store since the
kernel may have dropped what the flush could not write; every write after
the failure is refused the same way. The
failure is injected by $COSS_FAULT_SYNC_FAIL_FILE (src/io/sync_fault.cc): a
real file system does not fail a flush on demand."""
import os
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class DurabilityErrors(unittest.TestCase):
    MODE = "durable"

    def setUp(self):
        self.server = harness.Server(("--write-ack", self.MODE), store_size="16m")
        self.addCleanup(self.server.cleanup)
        self.trigger = os.path.join(self.server.tmp, "fail-syncs")
        os.environ["COSS_FAULT_SYNC_FAIL_FILE"] = self.trigger
        try:
            self.server.start()
        finally:
            del os.environ["COSS_FAULT_SYNC_FAIL_FILE"]

    def refused(self, c, request):
        c.send(request)
        line = c.line()
        self.assertTrue(line.startswith(b"SERVER_ERROR write not durable"), (request, line))

    def test_failed_flush_refuses_durable_acknowledgements_until_restart(self):
        c = self.server.connect()
        c.expect(b"set before 0 0 5\r\nacked\r\n", b"STORED\r\n")
        open(self.trigger, "w").close()  # from now on every fdatasync fails
        self.refused(c, b"set during 0 0 1\r\nx\r\n")
        # One reply per request: the next reply is the next request's.
        c.expect(b"get before\r\n", b"VALUE before 0 5\r\n")
        c.expect(b"", b"acked\r\n")
        c.expect(b"", b"END\r\n")
        os.remove(self.trigger)  # the device flushes again, but what it lost is unknown
        self.refused(c, b"set after 0 0 1\r\ny\r\n")
        self.refused(c, b"delete before\r\n")
        self.refused(c, b"delete never-stored\r\n")
        self.refused(c, b"ms meta 1\r\nz\r\n")
        c.send(b"flush_all\r\n")  # the engine's own error: flush_all waits for durability itself
        line = c.line()
        self.assertTrue(line.startswith(b"SERVER_ERROR") and b"fdatasync failed" in line, line)
        c.send(b"set quiet 0 0 1 noreply\r\nq\r\n")  # noreply: no line, not even the error
        c.expect(b"mn\r\n", b"MN\r\n")
        st = harness.stats(c)
        self.assertGreaterEqual(int(st["coss_journal_errors"]), 1)
        self.assertGreaterEqual(int(st["coss_durability_errors"]), 6)
        self.assertIn("journal failed", self.server.read_log())
        c.close()

        self.server.stop(signal.SIGKILL)
        self.server.start()
        c = self.server.connect()
        # Acknowledged, but its value was still in the open stripe buffer: the
        # value or a miss, never another one.
        c.send(b"get before\r\n")
        first = c.line()
        if first != b"END\r\n":
            self.assertEqual(first, b"VALUE before 0 5\r\n")
            c.expect(b"", b"acked\r\nEND\r\n")
        c.expect(b"set fresh 0 0 2\r\nok\r\n", b"STORED\r\n")  # a restart clears the failure
        self.assertEqual(int(harness.stats(c)["coss_durability_errors"]), 0)
        c.close()


class WrittenDurabilityErrors(DurabilityErrors):
    MODE = "written"

    def test_failed_flush_refuses_durable_acknowledgements_until_restart(self):
        c = self.server.connect()
        c.expect(b"set before 0 0 5\r\nacked\r\n", b"STORED\r\n")
        open(self.trigger, "w").close()  # from now on every fdatasync fails
        # Written, so acknowledged (its flush, at most Journal::kSyncDelay
        # later, fails) -- unless the flush of `before`, which may come after
        # the trigger, has failed already: then refused.
        c.send(b"set during 0 0 6\r\nkilled\r\n")
        line = c.line()
        during = line == b"STORED\r\n"
        if not during:
            self.assertTrue(line.startswith(b"SERVER_ERROR write not durable"), line)
        deadline = time.monotonic() + 10
        while int(harness.stats(c)["coss_journal_errors"]) == 0:
            self.assertLess(time.monotonic(), deadline, "the deferred flush never ran")
            time.sleep(0.01)
        os.remove(self.trigger)
        self.assertEqual(harness.stats(c)["coss_journal_failed"], "1")
        c.expect(b"get before\r\n", b"VALUE before 0 5\r\nacked\r\nEND\r\n")  # reads go on
        if during:
            c.expect(b"get during\r\n", b"VALUE during 0 6\r\nkilled\r\nEND\r\n")
        self.refused(c, b"set after 0 0 1\r\ny\r\n")
        self.refused(c, b"delete before\r\n")
        self.assertIn("journal failed", self.server.read_log())
        # The kernel may have dropped the journal blocks the flush could not
        # write: the run file says so (checked every second), and the next
        # start, even in this boot and after kill -9, empties the store.
        run_file = self.server.store + ".run"
        deadline = time.monotonic() + 10
        while "flush failed" not in open(run_file).read():
            self.assertLess(time.monotonic(), deadline, "the run file was never marked")
            time.sleep(0.05)
        c.close()

        self.server.stop(signal.SIGKILL)
        self.server.start()
        c = self.server.connect()
        for key in (b"before", b"during"):
            c.expect(b"get " + key + b"\r\n", b"END\r\n")
        self.assertIn("the store starts empty", self.server.read_log())
        c.expect(b"set fresh 0 0 2\r\nok\r\n", b"STORED\r\n")  # a restart clears the failure
        c.close()


if __name__ == "__main__":
    harness.main()
