#!/usr/bin/env python3
"""Read-your-writes (issue 12): once the ring has wrapped, admission keeps many
new keys' first sets off the ring; a set must still be readable at once (from
the RAM tier, which every set now enters), on the default policy, and a clean
stop must keep what only the RAM tier held.

The first case is the one from the issue: a 16 MiB store with -m 64 filled with
64 MiB of other objects, then 500 times "set a new key, get it"."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402

FILL_VALUE = b"f" * 4000


def fill(c, megabytes, prefix):
    """Stores `megabytes` MiB of other objects, pipelined with noreply."""
    n = megabytes * (1 << 20) // len(FILL_VALUE)
    batch = []
    for i in range(n):
        batch.append(b"set %s%d 0 0 %d noreply\r\n%s\r\n" % (prefix, i, len(FILL_VALUE), FILL_VALUE))
        if len(batch) == 200:
            c.send(b"".join(batch))
            batch = []
    c.send(b"".join(batch))
    c.send(b"version\r\n")
    assert c.line().startswith(b"VERSION "), "the fill did not finish"


def value_of(i):
    return b"session-%d-" % i + b"s" * 90


def set_then_get(c, keys):
    """Returns how many of the gets hit the value just stored."""
    hits = 0
    for i, k in enumerate(keys):
        v = value_of(i)
        c.expect(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v), b"STORED\r\n")
        c.send(b"get %s\r\n" % k)
        reply = c.read_until(b"END\r\n")
        if reply == b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(v), v):
            hits += 1
        else:
            assert reply == b"END\r\n", reply  # a miss at worst, never other bytes
    return hits


def wrap_then_set_and_get(test, c, fill_mib, keys):
    """Fills the store past a wrap, then sets and reads back `keys`; checks
    that admission refused some of them (else the test proves nothing) and
    returns (hits, refused)."""
    fill(c, fill_mib, b"other")
    before = int(stats(c)["coss_admission_rejected"])
    hits = set_then_get(c, keys)
    refused = int(stats(c)["coss_admission_rejected"]) - before
    test.assertGreater(refused, 0, "admission never refused a new key")
    return hits, refused


class AfterTheRingWrapped(harness.ServerTest):
    STORE_SIZE = "16m"
    MEMORY = "64"

    def test_every_new_key_is_read_back_at_once(self):
        c = self.conn()
        keys = [b"new%d" % i for i in range(500)]
        hits, refused = wrap_then_set_and_get(self, c, 64, keys)
        self.assertEqual(hits, 500, f"{500 - hits} of 500 new keys missed right after their set "
                         f"({refused} kept off the ring by admission)")
        # Deleting them is a delete (text and meta), whichever tier held them.
        for k in keys[:250]:
            c.expect(b"delete %s\r\n" % k, b"DELETED\r\n")
        for k in keys[250:]:
            c.expect(b"md %s\r\n" % k, b"HD\r\n")
        for k in keys:
            c.expect(b"get %s\r\n" % k, b"END\r\n")


class CleanStopKeepsWhatOnlyRamHeld(harness.ServerTest):
    """The store (32 MiB) can hold what the RAM tier (8 MiB) holds: a clean stop
    stores the objects admission kept off the ring, and a restart serves them,
    with their CAS values."""
    STORE_SIZE = "32m"
    MEMORY = "8"

    def test_restart_serves_keys_admission_kept_off_the_ring(self):
        c = self.conn()
        keys = [b"kept%d" % i for i in range(300)]
        self.assertEqual(wrap_then_set_and_get(self, c, 48, keys)[0], 300)
        cas = {}
        for k in keys:
            c.send(b"gets %s\r\n" % k)
            header = c.line()
            cas[k] = header.split()[-1]
            c.read_until(b"END\r\n")
        c.close()
        self.assertEqual(self.server.stop(signal.SIGTERM), 0, self.server.read_log())
        self.assertIn("objects that only the RAM tier held", self.server.read_log())
        self.server.start()
        c = self.conn()
        for i, k in enumerate(keys):
            v = value_of(i)
            c.send(b"gets %s\r\n" % k)
            reply = c.read_until(b"END\r\n")
            self.assertEqual(reply, b"VALUE %s 0 %d %s\r\n%s\r\nEND\r\n" % (k, len(v), cas[k], v),
                             f"{k!r} after a clean restart")


if __name__ == "__main__":
    harness.main()
