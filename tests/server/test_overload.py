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
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import overload_load as ol  # noqa: E402
from overload_load import MIB, proc_kib  # noqa: E402


# Under AddressSanitizer the allocator keeps freed memory in a quarantine (256 MiB
# by default) and pads every allocation, so RSS says nothing about the server's
# own bounds: the sanitizer pass runs every scenario and checks everything else,
# and the RSS bounds are asserted by the plain build's pass.
SANITIZED = os.environ.get("COSS_SANITIZE", "") != ""


def assert_rss_below(test, value, bound):
    if SANITIZED:
        print(f"  (RSS bound not asserted under the {os.environ['COSS_SANITIZE']} sanitizer)",
              file=sys.stderr)
        return
    test.assertLess(value, bound)


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
        assert_rss_below(self, grown_mib, bound_mib)
        c.expect(b"get q%d\r\n" % (nsets - 1), b"VALUE q%d 0 %d\r\n" % (nsets - 1, MIB))
        self.assertEqual(c.read_exact(MIB + 7), big + b"\r\nEND\r\n")


class InlineReadsMixin:
    """Reads that complete at once (RAM tier, stripe buffers) count against the
    output budget before their values are emitted (a regression test: a get
    line naming one buffered 100 KB object 3000 times made 3000 copies, 300 MB,
    under a 256 KiB output limit; 1024 pipelined gets kept 1024)."""

    def check_bounded(self, request, what, end_each):
        pid = self.server.proc.pid
        val = os.urandom(100_000)
        c = self.conn()
        c.expect(b"set k 0 0 %d\r\n%s\r\n" % (len(val), val), b"STORED\r\n")
        time.sleep(0.2)
        base = proc_kib(pid, "VmRSS")
        g = self.server.connect()
        self.addCleanup(g.close)
        with RssSampler(pid) as rs:
            g.send_without_reading(request, 2)
            time.sleep(0.5)
        grown_mib = (rs.peak - base) / 1024
        print(f"\n{what}: RSS grew {grown_mib:.1f} MiB (bound 24 MiB)", file=sys.stderr)
        assert_rss_below(self, grown_mib, 24)
        # the replies come in order, whole
        g.s.setblocking(True)
        g.s.settimeout(10)
        for _ in range(20):
            self.assertEqual(g.line(), b"VALUE k 0 %d\r\n" % len(val))
            self.assertEqual(g.read_exact(len(val) + 2), val + b"\r\n")
            if end_each:
                self.assertEqual(g.line(), b"END\r\n")
        c.expect(b"mn\r\n", b"MN\r\n")



# One server each: memory freed by one case would hide the other's growth.
class InlineReadsOneLine(InlineReadsMixin, harness.ServerTest):
    SERVER_ARGS = ("--conn-output-limit", "256k")
    MEMORY = "0"  # no RAM tier: every hit is a copy out of a stripe buffer

    def test_one_get_line_of_buffered_hits(self):
        self.check_bounded(b"get " + b" ".join([b"k"] * 3000) + b"\r\n", "get k x 3000", False)


class InlineReadsPipelined(InlineReadsMixin, harness.ServerTest):
    SERVER_ARGS = ("--conn-output-limit", "256k")
    MEMORY = "0"

    def test_pipelined_gets_of_buffered_hits(self):
        self.check_bounded(b"get k\r\n" * 3000, "3000 x get k", True)


def store_megabyte_objects(c, n=64):
    """Sets b0..b<n-1> to one random 1 MB value (pipelined); returns it."""
    val = os.urandom(1_000_000)
    c.send(b"".join(b"set b%d 0 0 %d noreply\r\n%s\r\n" % (i, len(val), val)
                    for i in range(n)))
    c.expect(b"mn\r\n", b"MN\r\n")
    return val


def rss_growth_mib(pid, start, seconds=1.5):
    """Peak RSS growth of pid (MiB) over `seconds` after calling start()."""
    time.sleep(0.3)
    base = proc_kib(pid, "VmRSS")
    start()
    with RssSampler(pid) as rs:
        time.sleep(seconds)
    return (rs.peak - base) / 1024


class MetaGetPipeline(harness.ServerTest):
    """Single-key reads (mg) start only when their value fits the output budget
    (a regression test: 1000 pipelined mg of 1 MB objects on the disk all went
    in flight at once, 950 MiB, under a 256 KiB output limit)."""
    SERVER_ARGS = ("--conn-output-limit", "256k")
    STORE_SIZE = "512m"
    MEMORY = "0"

    def test_pipelined_meta_gets_are_bounded(self):
        c = self.conn()
        val = store_megabyte_objects(c)
        g = self.server.connect()
        self.addCleanup(g.close)
        grown_mib = rss_growth_mib(self.server.proc.pid, lambda: g.send(
            b"".join(b"mg b%d v\r\n" % (i % 60) for i in range(1000))))
        print(f"\n1000 x mg of 1 MB: RSS grew {grown_mib:.1f} MiB (bound 24 MiB)",
              file=sys.stderr)
        assert_rss_below(self, grown_mib, 24)
        for i in range(10):
            self.assertEqual(g.line(), b"VA %d\r\n" % len(val))
            self.assertEqual(g.read_exact(len(val) + 2), val + b"\r\n")
        c.expect(b"mn\r\n", b"MN\r\n")


class SmallThenLargeValues(harness.ServerTest):
    """Reads are paced by each object's own size (the store's index knows it
    before the read), not by the sizes seen so far (a regression test: after a
    run of small values, 60 pipelined mg of 1 MB objects all went in flight at
    once, 60 MB, under a 256 KiB output limit)."""
    SERVER_ARGS = ("--conn-output-limit", "256k")
    STORE_SIZE = "512m"
    MEMORY = "0"

    def test_large_reads_after_small_ones_are_bounded(self):
        c = self.conn()
        val = store_megabyte_objects(c)
        c.expect(b"set s 0 0 100\r\n" + b"s" * 100 + b"\r\n", b"STORED\r\n")
        g = self.server.connect()
        self.addCleanup(g.close)
        small = b"VA 100\r\n" + b"s" * 100 + b"\r\n"
        g.expect(b"mg s v\r\n" * 500, small * 500)  # what the client read so far: small
        grown_mib = rss_growth_mib(self.server.proc.pid, lambda: g.send(
            b"".join(b"mg b%d v\r\n" % i for i in range(60))))
        print(f"\n500 x mg of 100 B, then 60 x mg of 1 MB: RSS grew {grown_mib:.1f} MiB "
              f"(bound 24 MiB)", file=sys.stderr)
        assert_rss_below(self, grown_mib, 24)
        for i in range(60):
            self.assertEqual(g.line(), b"VA %d\r\n" % len(val))
            self.assertEqual(g.read_exact(len(val) + 2), val + b"\r\n")
        c.expect(b"mn\r\n", b"MN\r\n")


class Overload(harness.ServerTest):
    METRICS_PORT = harness.free_port()
    CFG = dict(conn_limit=32, conn_output_limit=256 << 10, conn_inflight=4, max_item=256 << 10,
               max_line=2048, max_get_line=64 << 10, ram=16 * MIB, membufs=2,
               stripe=256 << 10, devices=1)
    SERVER_ARGS = ("-c", "32", "--conn-output-limit", "256k", "--conn-inflight", "4",
                   "-I", "256k", "--membufs", "2", "--stripe-size", "256k",
                   "--metrics-port", str(METRICS_PORT))
    STORE_SIZE = "256m"  # the writers' budget (90 MiB, < 180 in stripes) + the known set: no wrap
    MEMORY = "16"
    DURATION = 10.0

    def test_overload(self):
        port, pid = self.server.port, self.server.proc.pid
        time.sleep(0.3)
        base_kib = proc_kib(pid, "VmRSS")
        known = ol.known_set(300, 200_000)
        ol.store_all(port, known)
        big = [k for k, v in known.items() if len(v) >= 40_000]
        s0 = ol.stats(port)

        stop = threading.Event()
        writers = [ol.Writer(stop, port, i, budget=30 * MIB,
                             sizes=[16 << 10, 64 << 10, 128 << 10, 200_000], nkeys=60, batch=8)
                   for i in range(3)]
        slow = [ol.SlowReader(stop, port, i, big[i % 4::4][:12], meta=i % 2 == 1)
                for i in range(6)]
        vanishers = [ol.Vanisher(stop, port, i, big) for i in range(2)]
        flood = ol.Flood(stop, port, n=30, hold=2.0, period=3.5, start_delay=1.0)
        checker = ol.Checker(stop, port, known, writers)
        actors = writers + slow + vanishers + [flood, checker]

        polls = []
        poll_sock = ol.connect(port, timeout=60)
        poll_reader = ol.Reader(poll_sock)
        with RssSampler(pid) as rs:
            for a in actors:
                a.start()
            t_end = time.monotonic() + self.DURATION
            while time.monotonic() < t_end:
                polls.append(ol.stats(sock=poll_sock, reader=poll_reader))
                time.sleep(0.25)
            during = ol.stats(sock=poll_sock, reader=poll_reader)
            stop.set()
            for a in actors:
                a.join(60)
            poll_sock.close()
            # Every connection the load opened goes away: nothing hangs.
            deadline = time.time() + 15
            while time.time() < deadline:
                after = ol.stats(port)
                if int(after["curr_connections"]) == 1:
                    break
                time.sleep(0.1)
        hwm_kib = max(rs.peak, proc_kib(pid, "VmHWM"))

        def total(name):
            return sum(a.n.get(name, 0) for a in actors)

        imax = lambda name: max(int(p[name]) for p in polls + [during])  # noqa: E731
        index_bytes = max(int(p["coss_index_bytes"]) for p in polls + [during, after])
        policy_bytes = max(int(p.get("coss_policy_bytes", 0)) for p in polls + [during, after])
        bound, comp = ol.memory_bound(self.CFG, base_kib, index_bytes, policy_bytes)
        waits = int(after["coss_store_waits"]) - int(s0["coss_store_waits"])
        busy = int(after["coss_store_busy"]) - int(s0["coss_store_busy"])
        lat = sorted(checker.lat) or [0.0]
        report = [
            f"overload {self.DURATION:.0f} s: peak RSS {hwm_kib / 1024:.1f} MiB, "
            f"bound {bound / MIB:.1f} MiB",
            *[f"  {k}: {v / MIB:.2f} MiB" for k, v in comp.items()],
            f"  writers: {total('stored')} sets stored ({total('bytes') / MIB:.0f} MiB), "
            f"{total('busy')} refused; store waits {waits}, busy {busy}; "
            f"{after['coss_stripes_written']} stripes written, evictions {after['coss_evictions']}",
            f"  slow readers: max {imax('coss_conns_output_paused')} connections paused for "
            f"output, max {imax('coss_conn_output_bytes') / MIB:.2f} MiB of replies held",
            f"  connections: max {imax('curr_connections')} open (limit 32), flood "
            f"{flood.n.get('accepted', 0)} accepted / {flood.n.get('refused', 0)} refused, "
            f"rejected_connections {after['rejected_connections']}",
            f"  vanished clients: {total('vanished')}",
            f"  checker: {checker.n.get('rounds', 0)} rounds, latency median "
            f"{lat[len(lat) // 2] * 1000:.1f} ms, max {lat[-1] * 1000:.0f} ms",
        ]
        print("\n" + "\n".join(report), file=sys.stderr)

        self.assertEqual([(a.name, a.error) for a in actors if a.error], [])
        # the server answered a well-behaved client all along
        self.assertGreaterEqual(checker.n.get("rounds", 0), 20)
        # the -c limit: never more open, the excess refused with a reason and counted
        self.assertLessEqual(imax("curr_connections"), 32)
        self.assertGreater(flood.n.get("refused", 0), 0)
        self.assertEqual(flood.n.get("refused", 0), flood.n.get("refused_closed", 0))
        self.assertGreaterEqual(int(after["rejected_connections"]) - int(s0["rejected_connections"]),
                                flood.n.get("refused", 0))
        # back-pressure is visible: readers paused, writers waited or were refused
        self.assertGreaterEqual(imax("coss_conns_output_paused"), 1)
        # (a slow reader refused at the -c limit, when the machine is slow enough for
        # the flood to start first, has nothing to pause)
        slow_in = [a for a in slow if not a.n.get("refused")]
        self.assertGreaterEqual(len(slow_in), 1)
        self.assertGreaterEqual(int(after["coss_conn_output_pauses"]), len(slow_in))
        self.assertGreater(waits + busy, 0)
        # afterwards: no connection left, nothing held for them
        self.assertEqual(int(after["curr_connections"]), 1)
        for g in ("coss_conns_output_paused", "coss_conns_input_paused",
                  "coss_conn_output_bytes"):
            self.assertEqual(int(after[g]), 0, g)
        # memory stayed under the configured bound
        assert_rss_below(self, hwm_kib * 1024, bound)
        # everything stored before (and acknowledged during) the overload is served
        ok, bad = ol.verify_all(port, known)
        self.assertEqual(bad, [])
        expected = {}
        for w in writers:
            expected.update(w.expected())
        ok_w, bad_w = ol.verify_all(port, expected)
        self.assertEqual(bad_w, [])
        begun = {k: b"" for v in vanishers for k in v.keys_begun}
        _, absent = ol.verify_all(port, begun)
        self.assertEqual(len(absent), len(begun), "a set that never got its value was stored")
        self.assertTrue(all(why == "missing" for _, why in absent))
        # the same figures on the Prometheus endpoint
        with urllib.request.urlopen(f"http://127.0.0.1:{self.METRICS_PORT}/metrics",
                                    timeout=10) as r:
            body = r.read().decode()
        for m in ('cossd_connections_paused{reason="output"}',
                  'cossd_connection_pauses_total{reason="output"}',
                  'cossd_connection_buffer_bytes{dir="output"}', "cossd_store_waits_total"):
            self.assertIn(m, body)


class OverloadBusy(harness.ServerTest):
    """--on-full busy: writes the disk cannot take are refused, not queued; the
    refusals are counted and nothing acknowledged is lost."""
    SERVER_ARGS = ("--on-full", "busy", "--membufs", "2", "--stripe-size", "64k", "-I", "256k")
    STORE_SIZE = "256m"  # 60 MB of writes (up to twice that in stripes): the ring never wraps
    DURATION = 3.0

    def test_writes_refused_when_the_disk_lags(self):
        port = self.server.port
        known = ol.known_set(100, 60_000, seed=11)
        ol.store_all(port, known)  # may be refused too: retried below
        s0 = ol.stats(port)
        stop = threading.Event()
        writers = [ol.Writer(stop, port, i, budget=20 * MIB, sizes=[32 << 10, 100_000, 200_000],
                             nkeys=40, batch=16) for i in range(3)]
        checker = ol.Checker(stop, port, known, writers)
        for a in writers + [checker]:
            a.start()
        time.sleep(self.DURATION)
        stop.set()
        for a in writers + [checker]:
            a.join(60)
        s1 = ol.stats(port)
        refused = sum(w.n.get("busy", 0) for w in writers)
        stored = sum(w.n.get("stored", 0) for w in writers)
        print(f"\non-full busy: {stored} sets stored, {refused} refused; coss_store_busy "
              f"{int(s1['coss_store_busy']) - int(s0['coss_store_busy'])}, store_no_memory "
              f"{s1['store_no_memory']}", file=sys.stderr)
        self.assertEqual([(a.name, a.error) for a in writers + [checker] if a.error], [])
        self.assertGreater(refused, 0)
        self.assertGreaterEqual(int(s1["coss_store_busy"]) - int(s0["coss_store_busy"]), refused)
        self.assertGreaterEqual(int(s1["store_no_memory"]), refused)
        self.assertGreater(checker.n.get("rounds", 0), 5)
        expected = dict(known)
        for w in writers:
            expected.update(w.expected())
        _, bad = ol.verify_all(port, expected)
        self.assertEqual(bad, [])


if __name__ == "__main__":
    harness.main()
