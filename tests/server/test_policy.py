#!/usr/bin/env python3
"""The store's policy in the live server (issue 6): cossd runs the engine's
default policy (lazy reinsertion + ghost admission) unless told otherwise,
reports it in "stats settings", and its counters move in "stats".

The RAM tier is off (-m 0) so every read reaches the store and counts as a hit
in the index, and the store is small (4 MiB of 64 KiB stripes) so the ring
wraps several times within the test."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402

DEFAULT_POLICY = "reinsert:15+admit:ghost:50"  # include/coss/options.h
HOT = [b"hot%d" % i for i in range(16)]
HOT_VALUE = b"h" * 2000
COLD_VALUE = b"c" * 4000


def put(c, key, value):
    c.expect(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value), b"STORED\r\n")


class DefaultPolicy(harness.ServerTest):
    SERVER_ARGS = ("--stripe-size", "64k", "--membufs", "2", "--write-ack", "buffered")
    STORE_SIZE = "4m"
    MEMORY = "0"

    def test_settings_and_help_name_the_engine_default(self):
        c = self.conn()
        self.assertEqual(stats(c, b"settings")["coss_relocation"], DEFAULT_POLICY)
        out = subprocess.run([harness.COSSD, "--help"], capture_output=True, text=True,
                             check=True).stdout
        self.assertIn(f"(default {DEFAULT_POLICY})", " ".join(out.split()))

    def test_one_hit_keys_are_refused_and_read_keys_reinserted(self):
        c = self.conn()
        for k in HOT:
            put(c, k, HOT_VALUE)
        s0 = stats(c)
        # ~3 laps of one-time keys; the hot keys are read between batches.
        for batch in range(16):
            for i in range(200):
                put(c, b"cold%d_%d" % (batch, i), COLD_VALUE)
            for k in HOT:
                c.send(b"get %s\r\n" % k)
                reply = c.read_until(b"END\r\n")
                self.assertEqual(reply, b"VALUE %s 0 %d\r\n%s\r\nEND\r\n"
                                 % (k, len(HOT_VALUE), HOT_VALUE), (batch, k))
        s1 = stats(c)

        def delta(name):
            return int(s1[name]) - int(s0[name])

        # Admission: once the ring is full, a first put of a new key is refused.
        self.assertGreater(delta("coss_admission_rejected"), 0)
        self.assertGreater(delta("coss_admission_rejected_bytes"),
                           delta("coss_admission_rejected") * len(COLD_VALUE) - 1)
        # The ghost of refused keys is RAM, reported apart from the index.
        self.assertGreater(int(s1["coss_policy_bytes"]), 0)
        # Reinsertion: the read keys outlive several laps of the ring on the device.
        self.assertGreater(delta("coss_reinsertions"), 0)
        self.assertGreater(delta("coss_reinserted_bytes"), 0)
        self.assertGreater(delta("coss_hits_store_disk") + delta("coss_hits_store_memory"), 0)
        # Write amplification counts refused bytes as asked-to-store; refused puts cost
        # no device writes, so with most new keys refused it drops below 1.
        offered = int(s1["coss_client_bytes_written"]) + int(s1["coss_admission_rejected_bytes"])
        wa = float(s1["coss_write_amplification"])
        self.assertAlmostEqual(wa, int(s1["coss_device_bytes_written"]) / offered, places=3)
        self.assertLess(wa, 1.0)


class ChosenPolicy(harness.ServerTest):
    SERVER_ARGS = ("--stripe-size", "64k", "--membufs", "2", "--relocation", "tail:25")
    STORE_SIZE = "4m"
    MEMORY = "0"

    def test_policy_without_admission_stores_every_put(self):
        c = self.conn()
        self.assertEqual(stats(c, b"settings")["coss_relocation"], "tail:25")
        for i in range(1500):  # ~1.5 laps
            put(c, b"k%d" % i, COLD_VALUE)
        s = stats(c)
        self.assertEqual(int(s["coss_admission_rejected"]), 0)
        self.assertEqual(int(s["coss_reinsertions"]), 0)
        self.assertGreater(int(s["coss_evictions"]), 0)


if __name__ == "__main__":
    harness.main()
