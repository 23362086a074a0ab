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

    def test_read_modify_write_commands_see_a_new_key_at_once(self):
        # A key admission kept off the ring is the RAM tier's alone; incr,
        # append, cas, add, touch ... act on it as on any other (they once
        # answered NOT_FOUND / NOT_STORED for it).
        c = self.conn()
        fill(c, 64, b"other")
        cases = [  # (name, command after "set KEY 0 0 1\r\n5", its reply, value after)
            (b"incr", b"incr %s 2\r\n", b"7\r\n", b"7"),
            (b"decr", b"decr %s 2\r\n", b"3\r\n", b"3"),
            (b"append", b"append %s 0 0 1\r\nz\r\n", b"STORED\r\n", b"5z"),
            (b"prepend", b"prepend %s 0 0 1\r\na\r\n", b"STORED\r\n", b"a5"),
            (b"add", b"add %s 0 0 1\r\nq\r\n", b"NOT_STORED\r\n", b"5"),
            (b"replace", b"replace %s 0 0 2\r\ncd\r\n", b"STORED\r\n", b"cd"),
            (b"touch", b"touch %s 100\r\n", b"TOUCHED\r\n", b"5"),
            (b"gat", b"gat 100 %s\r\n", b"VALUE %s 0 1\r\n5\r\nEND\r\n", b"5"),
            (b"ma", b"ma %s D3 v\r\n", b"VA 1\r\n8\r\n", b"8"),
            (b"msappend", b"ms %s 1 MA\r\nz\r\n", b"HD\r\n", b"5z"),
            (b"delete", b"delete %s\r\n", b"DELETED\r\n", None),
        ]
        before = int(stats(c)["coss_admission_rejected"])
        for name, cmd, reply, after in cases:
            for i in range(20):
                k = b"%s%d" % (name, i)
                c.expect(b"set %s 0 0 1\r\n5\r\n" % k, b"STORED\r\n")
                c.send(cmd % k)
                want = reply % k if b"%s" in reply else reply
                self.assertEqual(c.read_exact(len(want)), want, f"{k!r}: {cmd % k!r}")
                c.send(b"get %s\r\n" % k)
                self.assertEqual(c.read_until(b"END\r\n"),
                                 b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (k, len(after), after)
                                 if after is not None else b"END\r\n", f"{k!r} after {cmd % k!r}")
        refused = int(stats(c)["coss_admission_rejected"]) - before
        self.assertGreater(refused, 20 * len(cases) // 4, "admission refused too few new keys "
                           "for this test to mean anything")
        # A cas on an object only the tier holds uses the CAS value a gets showed.
        k = b"casonly"
        c.expect(b"set %s 0 0 1\r\n5\r\n" % k, b"STORED\r\n")
        c.send(b"gets %s\r\n" % k)
        unique = c.line().split()[-1]
        c.read_until(b"END\r\n")
        c.expect(b"cas %s 0 0 1 %s\r\n6\r\n" % (k, unique), b"STORED\r\n")
        c.expect(b"cas %s 0 0 1 %s\r\n7\r\n" % (k, unique), b"EXISTS\r\n")
        c.expect(b"get %s\r\n" % k, b"VALUE %s 0 1\r\n6\r\nEND\r\n" % k)


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
