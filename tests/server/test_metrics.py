#!/usr/bin/env python3
"""Metrics: memcached "stats" fields and coss counters over the protocol, and
the Prometheus endpoint on --metrics-port."""
import os
import re
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402

METRICS_PORT = harness.free_port()

GENERAL = ["pid", "uptime", "time", "version", "pointer_size", "rusage_user", "rusage_system",
           "max_connections", "curr_connections", "total_connections", "rejected_connections",
           "cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "get_hits", "get_misses", "get_expired",
           "delete_misses", "delete_hits", "incr_misses", "incr_hits", "decr_misses", "decr_hits",
           "cas_misses", "cas_hits", "cas_badval", "touch_hits", "touch_misses", "bytes_read",
           "bytes_written", "limit_maxbytes", "threads", "curr_items", "total_items", "bytes",
           "evictions"]
COSS = ["coss_ram_hits", "coss_ram_misses", "coss_ram_items", "coss_ram_bytes",
        "coss_ram_evictions", "coss_hits_ram", "coss_hits_store_memory", "coss_hits_store_disk",
        "coss_store_objects", "coss_device_bytes_written", "coss_client_bytes_written",
        "coss_write_amplification", "coss_relocations", "coss_evictions",
        "coss_checksum_failures", "coss_reref_0", "coss_reref_1", "coss_reref_2_3",
        "coss_reref_16384_plus"]
PROM = ['cossd_reads_total{tier="ram"}', 'cossd_reads_total{tier="store_disk"}',
        'cossd_hit_ratio{tier="all"}', 'cossd_commands_total{cmd="get"}',
        'cossd_commands_total{cmd="mg"}',
        'cossd_request_duration_seconds_bucket{class="get",le="+Inf"}',
        'cossd_request_duration_seconds_count{class="set"}', "cossd_client_bytes_written_total",
        "cossd_device_bytes_written_total", "cossd_write_amplification", "cossd_relocations_total",
        "cossd_reinsertions_total", "cossd_admission_rejected_total", "cossd_journal_syncs_total",
        'cossd_evictions_total{tier="store"}', 'cossd_evictions_total{tier="ram"}',
        "cossd_checksum_failures_total", "cossd_connections", "cossd_connections_total",
        'cossd_store_rereference_objects_total{reads="0"}']


class Metrics(harness.ServerTest):
    SERVER_ARGS = ("--metrics-port", str(METRICS_PORT), "--membufs", "2")

    def test_stats_fields_and_counters(self):
        c = self.conn()
        s0 = stats(c)
        for f in GENERAL + COSS:
            self.assertIn(f, s0)
        self.assertEqual(int(s0["pid"]), self.server.proc.pid)
        c.expect(b"set sk 0 0 1\r\nx\r\nget sk nope\r\ndelete nope\r\nincr sk 1\r\n",
                 b"STORED\r\nVALUE sk 0 1\r\nx\r\nEND\r\nNOT_FOUND\r\n"
                 b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        s1 = stats(c)
        self.assertEqual(int(s1["cmd_set"]) - int(s0["cmd_set"]), 1)
        self.assertEqual(int(s1["cmd_get"]) - int(s0["cmd_get"]), 2)
        self.assertEqual(int(s1["get_hits"]) - int(s0["get_hits"]), 1)
        self.assertEqual(int(s1["get_misses"]) - int(s0["get_misses"]), 1)
        self.assertEqual(int(s1["delete_misses"]) - int(s0["delete_misses"]), 1)
        self.assertGreater(int(s1["curr_items"]), 0)
        settings = stats(c, b"settings")
        for f in ["maxbytes", "maxconns", "tcpport", "item_size_max", "num_threads",
                  "coss_store", "coss_relocation"]:
            self.assertIn(f, settings)
        c.expect(b"stats reset\r\n", b"RESET\r\n")
        self.assertEqual(int(stats(c)["cmd_set"]), 0)

    def test_ram_tier_serves_hot_objects(self):
        c = self.conn()
        c.expect(b"set hot 0 0 5\r\nhello\r\n", b"STORED\r\n")
        blob = b"f" * 50000
        # Pushes "hot" out of the write buffers and (more than -m) out of the RAM tier.
        c.send(b"".join(b"set fill%d 0 0 %d noreply\r\n%s\r\n" % (i, len(blob), blob)
                        for i in range(400)))
        c.expect(b"mn\r\n", b"MN\r\n")
        s0 = stats(c)
        for _ in range(5):
            c.expect(b"get hot\r\n", b"VALUE hot 0 5\r\nhello\r\nEND\r\n")
        s1 = stats(c)
        self.assertEqual(int(s1["coss_hits_store_disk"]) - int(s0["coss_hits_store_disk"]), 1)
        self.assertEqual(int(s1["coss_hits_ram"]) - int(s0["coss_hits_ram"]), 4)
        self.assertGreaterEqual(int(s1["coss_ram_items"]), 1)
        # device writes lag client writes while data sits in the write buffers
        self.assertGreater(int(s1["coss_device_bytes_written"]), 0)
        self.assertGreater(float(s1["coss_write_amplification"]), 0.0)

    def test_prometheus_endpoint(self):
        c = self.conn()
        c.expect(b"set p 0 0 1\r\nx\r\nget p\r\nmg p v\r\n", b"STORED\r\nVALUE p 0 1\r\nx\r\nEND\r\nVA 1\r\nx\r\n")
        with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5) as r:
            self.assertEqual(r.status, 200)
            self.assertIn("text/plain", r.headers["Content-Type"])
            body = r.read().decode()
        names = set()
        for line in body.splitlines():
            if line.startswith("#"):
                self.assertRegex(line, r"^# (HELP|TYPE) cossd_\w+ .+$")
                continue
            m = re.match(r'^(cossd_\w+(\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf)$', line)
            self.assertIsNotNone(m, line)
            names.add(m.group(1))
        for p in PROM:
            self.assertIn(p, names)
        get_line = re.search(r'^cossd_commands_total\{cmd="get"\} (\d+)$', body, re.M)
        self.assertGreaterEqual(int(get_line.group(1)), 1)
        self.assertIn('cossd_worker_connections{worker="1"}', names)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/nope", timeout=5)
        self.assertEqual(e.exception.code, 404)

    def test_connections_are_dealt_round_robin_over_workers(self):
        # Connections accepted in a burst are spread over both workers (-t 2),
        # not kept by the worker that happened to wake for the accept.
        def per_worker():
            with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5) as r:
                body = r.read().decode()
            return {int(w): int(n) for w, n in
                    re.findall(r'^cossd_worker_connections\{worker="(\d+)"\} (\d+)$', body, re.M)}
        conns = [self.conn() for _ in range(8)]
        for c in conns:
            c.expect(b"mn\r\n", b"MN\r\n")  # each one is open and served
        # Eight accepts in a row: four for each worker, whatever other tests'
        # connections (closing or not) add to either.
        after = per_worker()
        self.assertEqual(sorted(after), [0, 1])
        for w in (0, 1):
            self.assertGreaterEqual(after[w], 4, after)
        for c in conns:
            c.close()


if __name__ == "__main__":
    harness.main()
