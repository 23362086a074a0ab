#!/usr/bin/python3
"""Overload soak of cossd (issue 7, "Overload and soak"): the scenario of
tests/server/test_overload.py held for minutes, sampled every second.

One cossd with small per-connection limits; for --duration seconds, at once:
  * a flood of more connections than -c every 10 s (the excess must be refused
    with "ERROR Too many open connections" and counted);
  * slow readers that pipeline big gets and never read, replaced every 20 s
    (they leave with a reset, replies still queued);
  * clients that vanish mid-request (half a line, half a value, a big get);
  * writers in bursts (one every 5 s) pipelining sets as fast as the server
    takes them, with durable acks: above what the stripe buffers and the disk
    take, so writes wait (--on-full wait); each burst is capped so that the
    total over the run is half the store: the ring never wraps and nothing is
    evicted for space (a sustained overload would wrap it within seconds);
  * a well-behaved client checking known objects and its own key.

Writes <out>/samples.csv (one row per second: RSS, stats gauges and counters,
the checker's latency), <out>/summary.json, <out>/report.md, <out>/machine.txt,
<out>/soak.png (when matplotlib is there) and <out>/cossd.log. Exit status 0
when every check passed, 1 otherwise.
"""
import argparse
import csv
import ctypes
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
import overload_load as ol  # noqa: E402
from overload_load import MIB  # noqa: E402

SIZES = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}

STAT_COLUMNS = [
    "curr_connections", "total_connections", "rejected_connections",
    "coss_conns_output_paused", "coss_conns_input_paused", "coss_conn_output_bytes",
    "coss_conn_input_bytes", "coss_conn_output_pauses", "coss_conn_input_pauses",
    "coss_store_waits", "coss_store_busy", "store_no_memory", "cmd_get", "cmd_set", "get_hits",
    "coss_client_bytes_written", "coss_device_bytes_written", "coss_device_bytes_read",
    "coss_stripes_written", "coss_evictions", "coss_ram_bytes", "coss_index_bytes",
    "coss_policy_bytes",
    "coss_journal_syncs", "bytes_read", "bytes_written",
]


def size(s):
    s = s.lower()
    return int(s[:-1]) * SIZES[s[-1]] if s[-1] in SIZES else int(s)


def die_with_parent():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


class Cossd:
    def __init__(self, binary, args, workdir, log_path):
        self.binary, self.args, self.workdir, self.log_path = binary, args, workdir, log_path
        self.proc = None

    def start(self, port):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary] + self.args, stdout=self.log, stderr=self.log,
                                     cwd=self.workdir, preexec_fn=die_with_parent)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cossd exited with {self.proc.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("cossd did not start listening")

    def stop(self, timeout=60):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        return rc


class SlowPool(ol.Actor):
    """Keeps `n` slow readers connected; each leaves (with a reset, its
    replies unread) after `life` seconds and a new one takes its place. One
    refused at the -c limit (a flood holds the slots) is replaced at once."""

    def __init__(self, stop, port, n, keys, life):
        super().__init__("slowpool", stop)
        self.port, self.nreaders, self.keys, self.life = port, n, keys, life
        self.done = []

    def body(self):
        live = []  # (leave at, event, reader)
        i = 0
        while not self.stop.is_set():
            now = time.monotonic()
            for x in list(live):
                leave_at, ev, r = x
                if now >= leave_at or not r.is_alive():
                    ev.set()
                    r.join(30)
                    live.remove(x)
                    self.done.append(r)
                    self.count("refused" if r.n.get("refused") else "replaced")
            while len(live) < self.nreaders:
                ev = threading.Event()
                r = ol.SlowReader(ev, self.port, i, self.keys[i % 7::7][:12], meta=i % 2 == 1)
                r.start()
                # the first ones leave at staggered times
                stagger = (i + 1) * self.life / self.nreaders if i < self.nreaders else self.life
                live.append((now + stagger, ev, r))
                i += 1
            self.stop.wait(0.2)
        for _, ev, r in live:
            ev.set()
            r.join(30)
            self.done.append(r)
        errors = [r.error for r in self.done if r.error]
        if errors:  # set directly: an exception after stop would be dropped
            self.error = f"{len(errors)} slow readers failed: " + "; ".join(errors[:3])


def stat_ints(st):
    out = {}
    for k in STAT_COLUMNS:
        try:
            out[k] = int(st.get(k, 0))
        except ValueError:
            out[k] = 0
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cossd", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=float, default=180)
    ap.add_argument("--tmp", default="/var/tmp", help="folder for the store")
    ap.add_argument("--store-size", default="8g",
                    help="the writers stop at half of it (the ring must not wrap)")
    ap.add_argument("--conn-limit", type=int, default=64)
    ap.add_argument("--conn-output-limit", default="256k")
    ap.add_argument("--conn-inflight", type=int, default=4)
    ap.add_argument("--max-item", default="256k")
    ap.add_argument("--memory", default="32", help="-m, MiB")
    ap.add_argument("--membufs", type=int, default=2)
    ap.add_argument("--stripe-size", default="256k")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--known", type=int, default=2000, help="objects stored before the load")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--burst-on", type=float, default=2.0, help="seconds the writers write")
    ap.add_argument("--burst-off", type=float, default=3.0, help="seconds they pause")
    ap.add_argument("--slow-readers", type=int, default=8)
    ap.add_argument("--vanishers", type=int, default=2)
    ap.add_argument("--command", default="", help="the command line, for the report")
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="coss-soak-", dir=a.tmp)
    port = free_port()
    store = os.path.join(work, "store.coss")
    store_bytes = size(a.store_size)
    args = ["-p", str(port), "-t", str(a.threads), "-m", a.memory, "-c", str(a.conn_limit),
            "--conn-output-limit", a.conn_output_limit, "--conn-inflight", str(a.conn_inflight),
            "-I", a.max_item, "--membufs", str(a.membufs), "--stripe-size", a.stripe_size,
            "--store", f"{store}:{a.store_size}"]
    cfg = dict(conn_limit=a.conn_limit, conn_output_limit=size(a.conn_output_limit),
               conn_inflight=a.conn_inflight, max_item=size(a.max_item), max_line=2048,
               max_get_line=64 << 10, ram=int(a.memory) * MIB, membufs=a.membufs,
               stripe=size(a.stripe_size), devices=1)
    load_start = open("/proc/loadavg").read().split()[:3]
    log_path = os.path.join(a.out, "cossd.log")
    if os.path.exists(log_path):
        os.remove(log_path)
    server = Cossd(a.cossd, args, work, log_path)
    checks = {}
    summary = {"config": cfg, "cossd_args": args[2:], "duration_s": a.duration}
    t_wall = time.time()
    try:
        server.start(port)
        pid = server.proc.pid
        time.sleep(0.5)
        base_kib = ol.proc_kib(pid, "VmRSS")
        known = ol.known_set(a.known, 200_000)
        t0 = time.monotonic()
        ol.store_all(port, known)
        summary["known"] = {"objects": len(known), "bytes": sum(map(len, known.values())),
                            "store_s": round(time.monotonic() - t0, 2)}
        big = [k for k, v in known.items() if len(v) >= 40_000]
        s_before = ol.stats(port)

        stop = threading.Event()
        # Half the store over the whole run, in equal bursts: each burst goes as
        # fast as the server takes it, the total never wraps the ring.
        budget = store_bytes // 2 // a.writers
        windows = max(1, int(a.duration // (a.burst_on + a.burst_off)))
        burst_cap = budget // windows
        writers = [ol.Writer(stop, port, i, budget=budget,
                             sizes=[16 << 10, 64 << 10, 128 << 10, 200_000], nkeys=200,
                             batch=8, bursts=(a.burst_on, a.burst_off, burst_cap), seed=1)
                   for i in range(a.writers)]
        pool = SlowPool(stop, port, a.slow_readers, big, life=20.0)
        vanishers = [ol.Vanisher(stop, port, i, big, seed=1) for i in range(a.vanishers)]
        flood = ol.Flood(stop, port, n=a.conn_limit + 8, hold=3.0, period=10.0, start_delay=2.0)
        checker = ol.Checker(stop, port, known, writers, seed=1)
        actors = writers + vanishers + [pool, flood, checker]

        peak = {"rss": 0}
        fast_stop = threading.Event()

        def fast_rss():
            while not fast_stop.is_set():
                peak["rss"] = max(peak["rss"], ol.proc_kib(pid, "VmRSS"))
                time.sleep(0.02)

        fast = threading.Thread(target=fast_rss, daemon=True)
        fast.start()
        rows = []
        csv_path = os.path.join(a.out, "samples.csv")
        with open(csv_path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t_s", "rss_kib", "hwm_kib"] + STAT_COLUMNS +
                       ["writer_bytes_acked", "writer_busy", "checker_rounds",
                        "checker_p50_ms", "checker_max_ms"])
            poll = ol.connect(port, timeout=120)
            reader = ol.Reader(poll)
            for x in actors:
                x.start()
            t_start = time.monotonic()
            lat_seen = 0
            next_t = t_start
            while True:
                now = time.monotonic()
                if now - t_start >= a.duration:
                    break
                next_t += 1.0
                st = stat_ints(ol.stats(sock=poll, reader=reader))
                lat = sorted(checker.lat[lat_seen:])
                lat_seen += len(lat)
                row = [round(now - t_start, 1), ol.proc_kib(pid, "VmRSS"),
                       ol.proc_kib(pid, "VmHWM")] + [st[k] for k in STAT_COLUMNS] + [
                    sum(x.bytes_acked for x in writers), sum(x.n.get("busy", 0) for x in writers),
                    checker.n.get("rounds", 0),
                    round(lat[len(lat) // 2] * 1000, 2) if lat else "",
                    round(lat[-1] * 1000, 1) if lat else ""]
                w.writerow(row)
                f.flush()
                rows.append(dict(zip(["t_s", "rss_kib", "hwm_kib"] + STAT_COLUMNS, row)))
                time.sleep(max(0.0, next_t - time.monotonic()))
            during = ol.stats(sock=poll, reader=reader)
            stop.set()
            for x in actors:
                x.join(120)
            poll.close()
        # the load is gone: every connection must close, nothing held for them
        deadline = time.time() + 30
        while True:
            after = ol.stats(port)
            if int(after["curr_connections"]) == 1 or time.time() > deadline:
                break
            time.sleep(0.2)
        fast_stop.set()
        fast.join()
        hwm_kib = max(peak["rss"], ol.proc_kib(pid, "VmHWM"))
        index_bytes = max([r["coss_index_bytes"] for r in rows] + [int(after["coss_index_bytes"])])
        policy_bytes = max([r["coss_policy_bytes"] for r in rows] +
                           [int(after.get("coss_policy_bytes", 0))])
        bound, comp = ol.memory_bound(cfg, base_kib, index_bytes, policy_bytes)

        ok_known, bad_known = ol.verify_all(port, known)
        expected = {}
        for x in writers:
            expected.update(x.expected())
        ok_w, bad_w = ol.verify_all(port, expected)
        begun = {k: b"" for v in vanishers for k in v.keys_begun}
        _, absent = ol.verify_all(port, begun)
        missing = {k for k, why in absent if why == "missing"}
        stored_vanished = [k for k in begun if k not in missing]
        rc = server.stop()
        # a clean restart brings the same objects back (warm store)
        server.start(port)
        ok_restart, bad_restart = ol.verify_all(port, known)
        ok_restart_w, bad_restart_w = ol.verify_all(port, expected)
        rc2 = server.stop()

        def delta(name):
            return int(after[name]) - int(s_before[name])

        def peak_rate(name):
            v = [r[name] for r in rows]
            return round(max([b - x for x, b in zip(v, v[1:])] or [0]) / MIB, 1)

        lat_all = sorted(checker.lat) or [0.0]
        errors = [(x.name, x.error) for x in actors if x.error]
        budget_out = [round(x.bytes_acked / MIB) for x in writers]
        budget_at = [round(x.budget_reached_at - t_start) for x in writers
                     if x.budget_reached_at is not None]
        summary.update({
            "base_rss_kib": base_kib, "peak_rss_kib": hwm_kib, "bound_bytes": bound,
            "bound_components": comp,
            "max_curr_connections": max(r["curr_connections"] for r in rows),
            "flood": flood.n, "vanishers": {k: sum(v.n.get(k, 0) for v in vanishers)
                                            for k in ("vanished", "refused", "refused_or_reset")},
            "slow_readers": {"replaced": pool.n.get("replaced", 0),
                             "refused": pool.n.get("refused", 0),
                             "total": len(pool.done)},
            "writers": {"stored": sum(x.n.get("stored", 0) for x in writers),
                        "refused": sum(x.n.get("busy", 0) for x in writers),
                        "acked_mib": budget_out, "budget_mib_each": round(budget / MIB),
                        "burst_cap_mib_each": round(burst_cap / MIB, 1),
                        "peak_client_mib_s": peak_rate("coss_client_bytes_written"),
                        "peak_device_mib_s": peak_rate("coss_device_bytes_written"),
                        "budget_reached_at_s": budget_at},
            "checker": {"rounds": checker.n.get("rounds", 0),
                        "writer_values_checked": checker.n.get("writer_values_checked", 0),
                        "p50_ms": round(lat_all[len(lat_all) // 2] * 1000, 2),
                        "p99_ms": round(lat_all[int(len(lat_all) * 0.99)] * 1000, 1),
                        "max_ms": round(lat_all[-1] * 1000, 1)},
            "deltas": {k: delta(k) for k in ("rejected_connections", "coss_store_waits",
                                             "coss_store_busy", "coss_conn_output_pauses",
                                             "coss_conn_input_pauses", "total_connections",
                                             "coss_evictions")},
            "max_gauges": {k: max(r[k] for r in rows) for k in (
                "coss_conns_output_paused", "coss_conns_input_paused", "coss_conn_output_bytes",
                "coss_conn_input_bytes")},
            "after": {k: int(after[k]) for k in ("curr_connections", "coss_conns_output_paused",
                                                 "coss_conns_input_paused",
                                                 "coss_conn_output_bytes",
                                                 "coss_conn_input_bytes")},
            "verify": {"known_ok": ok_known, "known_bad": [(k.decode(), w) for k, w in bad_known],
                       "writers_ok": ok_w, "writers_bad": [(k.decode(), w) for k, w in bad_w],
                       "vanished_sets": len(begun),
                       "vanished_stored": [k.decode() for k in stored_vanished],
                       "restart_known_ok": ok_restart,
                       "restart_known_bad": [(k.decode(), w) for k, w in bad_restart],
                       "restart_writers_ok": ok_restart_w,
                       "restart_writers_bad": [(k.decode(), w) for k, w in bad_restart_w]},
            "exit_codes": [rc, rc2], "actor_errors": errors,
            "during_last_stats": {k: during.get(k) for k in STAT_COLUMNS},
        })
        checks = {
            "server stayed up (SIGTERM exit 0, twice)": rc == 0 and rc2 == 0,
            "no client saw a wrong reply": not errors,
            f"peak RSS {hwm_kib / 1024:.1f} MiB < bound {bound / MIB:.1f} MiB": hwm_kib * 1024 < bound,
            f"never more than -c {a.conn_limit} connections":
                summary["max_curr_connections"] <= a.conn_limit,
            "excess connections refused and counted":
                flood.n.get("refused", 0) > 0 and
                flood.n.get("refused", 0) == flood.n.get("refused_closed", 0) and
                delta("rejected_connections") >= flood.n.get("refused", 0),
            "slow readers paused for output (stats)":
                summary["max_gauges"]["coss_conns_output_paused"] >= 1 and
                delta("coss_conn_output_pauses") >=
                len(pool.done) - pool.n.get("refused", 0),
            "writers held back by the disk (store waits or busy)":
                delta("coss_store_waits") + delta("coss_store_busy") > 0,
            "afterwards no connection left, nothing held":
                int(after["curr_connections"]) == 1 and all(
                    int(after[k]) == 0 for k in ("coss_conns_output_paused",
                                                 "coss_conns_input_paused",
                                                 "coss_conn_output_bytes")),
            f"all {len(known)} objects stored before the load served exactly":
                ok_known == len(known) and not bad_known,
            f"all {len(expected)} writer keys hold their last acknowledged value":
                ok_w == len(expected) and not bad_w,
            "no half-sent set was stored": not stored_vanished,
            "after a restart, the same objects are served": not bad_restart and not bad_restart_w,
            "the checker was served all along": checker.n.get("rounds", 0) >= a.duration,
        }
    finally:
        server.stop() if server.proc else None
        shutil.rmtree(work, ignore_errors=True)
    summary["checks"] = checks
    summary["wall_s"] = round(time.time() - t_wall, 1)
    load_end = open("/proc/loadavg").read().split()[:3]
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)
    write_machine(a, load_start, load_end, summary["wall_s"])
    plotted = plot(a.out, rows, bound, cfg)
    write_report(a, summary, rows, plotted)
    ok = all(checks.values()) and bool(checks)
    print(f"soak: {'PASS' if ok else 'FAIL'}; report in {a.out}/report.md")
    return 0 if ok else 1


def write_machine(a, load_start, load_end, wall):
    dirty = sh(f"git -C {ROOT} status --porcelain -uno")
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
    mem = sh("free -g | awk '/Mem:/ {print $2}'")
    lines = [
        f"date: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}",
        f"git: {sh(f'git -C {ROOT} rev-parse --short HEAD')}"
        f"{' (working tree has uncommitted changes)' if dirty else ''}",
        f"nproc: {os.cpu_count()}",
        f"cpu: {cpu}",
        f"memory: {mem} GiB",
        f"kernel: {platform.release()}",
        f"filesystem of {a.tmp}: {sh(f'findmnt -no SOURCE,FSTYPE -T {a.tmp}')}",
        f"python: {platform.python_version()}",
        f"wall time of this run: {wall} s",
        f"load average (1/5/15 min) at start: {' '.join(load_start)}; at end: "
        f"{' '.join(load_end)} (the machine is shared: other jobs may run)",
    ]
    with open(os.path.join(a.out, "machine.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def plot(out, rows, bound, cfg):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    t = [r["t_s"] for r in rows]
    fig, ax = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    ax[0].plot(t, [r["rss_kib"] / 1024 for r in rows], label="RSS")
    ax[0].axhline(bound / MIB, color="r", linestyle="--", label="bound")
    ax[0].set_ylabel("MiB")
    ax[0].legend()
    ax[0].set_title("cossd under overload")
    ax[1].plot(t, [r["coss_conn_output_bytes"] / MIB for r in rows], label="replies held (MiB)")
    ax[1].plot(t, [r["coss_conn_input_bytes"] / MIB for r in rows], label="input held (MiB)")
    ax[1].plot(t, [r["coss_conns_output_paused"] for r in rows], label="conns paused (count)")
    ax[1].plot(t, [r["curr_connections"] for r in rows], label="connections (count)")
    ax[1].legend()
    waits = [r["coss_store_waits"] for r in rows]
    dev = [r["coss_device_bytes_written"] for r in rows]
    cli = [r["coss_client_bytes_written"] for r in rows]
    ax[2].plot(t[1:], [b - a for a, b in zip(waits, waits[1:])], label="store waits / s")
    ax[2].plot(t[1:], [(b - a) / MIB for a, b in zip(dev, dev[1:])], label="device MiB/s")
    ax[2].plot(t[1:], [(b - a) / MIB for a, b in zip(cli, cli[1:])], label="client MiB/s")
    ax[2].set_xlabel("seconds")
    ax[2].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "soak.png"), dpi=90)
    return True


def write_report(a, s, rows, plotted):
    mib = lambda b: f"{b / MIB:.1f} MiB"  # noqa: E731
    L = []
    L.append(f"# cossd overload soak ({a.duration:.0f} s)\n")
    L.append("Issue 7, \"Overload and soak\". Produced by `bench/soak/run.sh`; the exact command:\n")
    L.append(f"    {a.command or ' '.join(sys.argv)}\n")
    L.append(f"cossd arguments: `{' '.join(s['cossd_args'])}` (store in a temporary folder under "
             f"`{a.tmp}`, removed afterwards). Machine: `machine.txt`. Every second's sample: "
             "`samples.csv`; all figures: `summary.json`; server log: `cossd.log`.\n")
    L.append("## Load\n")
    k = s["known"]
    L.append(f"- before: {k['objects']} objects ({mib(k['bytes'])}, 1 B to 200 KB) stored with "
             f"durable acknowledgements in {k['store_s']} s;")
    wr = s["writers"]
    L.append(f"- {a.writers} writers in bursts: during the first {a.burst_on:g} s of every "
             f"{a.burst_on + a.burst_off:g} s, 8 pipelined sets of 16 KiB to 200 KB per round "
             "trip over 200 keys each, as fast as the server takes them, until "
             f"{wr['burst_cap_mib_each']} MiB each per burst (so that the whole run writes half "
             f"the store, {wr['budget_mib_each']} MiB each: the ring never wraps); acknowledged: "
             f"{wr['acked_mib']} MiB, {wr['stored']} sets, {wr['refused']} refused; peak second: "
             f"{wr['peak_client_mib_s']} MiB/s from clients, {wr['peak_device_mib_s']} MiB/s to "
             "the device (stripes and journal);")
    sr = s["slow_readers"]
    L.append(f"- {a.slow_readers} slow readers at a time ({sr['total'] - sr['refused']} in all, "
             "each gone with a reset after 20 s; "
             f"{sr['refused']} more were refused at the -c limit during a flood and replaced): "
             "gets of 12 big objects per line (or 12 `mg`), sent until the socket is full, never "
             "read;")
    v = s["vanishers"]
    L.append(f"- {a.vanishers} vanishing clients: {v['vanished']} connections that sent half a "
             "line, half a value, a set header alone or a big get and left (FIN or RST);")
    fl = s["flood"]
    L.append(f"- a flood of {a.conn_limit + 8} connections every 10 s, held 3 s: "
             f"{fl.get('accepted', 0)} accepted, {fl.get('refused', 0)} refused;")
    c = s["checker"]
    L.append(f"- a well-behaved client: {c['rounds']} rounds (get a known object, set and get "
             f"its own key, get a writer's key: {c['writer_values_checked']} checked), latency "
             f"p50 {c['p50_ms']} ms, p99 {c['p99_ms']} ms, max {c['max_ms']} ms.\n")
    L.append("## Checks\n")
    L.append("| check | result |\n|---|---|")
    for name, ok in s["checks"].items():
        L.append(f"| {name} | {'pass' if ok else '**FAIL**'} |")
    L.append("")
    L.append("## Memory: peak RSS against the configured bound\n")
    L.append(f"Peak RSS (VmHWM, and VmRSS sampled every 20 ms): **{mib(s['peak_rss_kib'] * 1024)}**; "
             f"bound derived from the configuration: **{mib(s['bound_bytes'])}**.\n")
    L.append("| part of the bound | bytes |\n|---|---|")
    for name, b in s["bound_components"].items():
        L.append(f"| {name} | {mib(b)} |")
    L.append("")
    g = s["max_gauges"]
    L.append(f"Largest values seen in `stats`: replies held for clients "
             f"(`coss_conn_output_bytes`) {mib(g['coss_conn_output_bytes'])}, read buffers and "
             f"queued requests (`coss_conn_input_bytes`) {mib(g['coss_conn_input_bytes'])}, "
             f"connections paused for output {g['coss_conns_output_paused']}, for input "
             f"{g['coss_conns_input_paused']}.\n")
    L.append("## Back-pressure in `stats`\n")
    d = s["deltas"]
    L.append(f"Over the run: `rejected_connections` +{d['rejected_connections']}, "
             f"`coss_store_waits` +{d['coss_store_waits']}, `coss_store_busy` "
             f"+{d['coss_store_busy']}, `coss_conn_output_pauses` "
             f"+{d['coss_conn_output_pauses']}, `coss_conn_input_pauses` "
             f"+{d['coss_conn_input_pauses']}, connections accepted +{d['total_connections']}, "
             f"`coss_evictions` +{d['coss_evictions']}.\n")
    L.append("Every 10 s (cumulative counters; gauges as sampled):\n")
    L.append("| t (s) | RSS MiB | conns | paused out | replies held MiB | rejected | store waits "
             "| busy | client MiB | device MiB | checker max ms |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    with open(os.path.join(a.out, "samples.csv")) as f:
        rd = list(csv.DictReader(f))
    for r in rd:
        if int(float(r["t_s"])) % 10 == 0 or r is rd[-1]:
            L.append(f"| {float(r['t_s']):.0f} | {int(r['rss_kib']) / 1024:.1f} | "
                     f"{r['curr_connections']} | {r['coss_conns_output_paused']} | "
                     f"{int(r['coss_conn_output_bytes']) / MIB:.2f} | "
                     f"{r['rejected_connections']} | {r['coss_store_waits']} | "
                     f"{r['coss_store_busy']} | {int(r['coss_client_bytes_written']) / MIB:.0f} | "
                     f"{int(r['coss_device_bytes_written']) / MIB:.0f} | {r['checker_max_ms']} |")
    L.append("")
    if plotted:
        L.append("![RSS, held bytes, paused connections, store waits and write rates over time]"
                 "(soak.png)\n")
    vf = s["verify"]
    L.append("## After the load\n")
    L.append(f"- connections left: {s['after']['curr_connections']} (the checking one); paused "
             f"{s['after']['coss_conns_output_paused']} / {s['after']['coss_conns_input_paused']}, "
             f"replies held {s['after']['coss_conn_output_bytes']} B;")
    L.append(f"- objects stored before the load served with their exact value: "
             f"{vf['known_ok']} of {s['known']['objects']} (problems: {vf['known_bad'][:5]});")
    L.append(f"- writer keys holding their last acknowledged value: {vf['writers_ok']} "
             f"(problems: {vf['writers_bad'][:5]});")
    L.append(f"- sets begun by vanishing clients: {vf['vanished_sets']}, stored: "
             f"{len(vf['vanished_stored'])};")
    L.append(f"- SIGTERM exit codes {s['exit_codes']}; after a restart "
             f"{vf['restart_known_ok']} known objects and {vf['restart_writers_ok']} writer keys "
             "served exactly.\n")
    if s["actor_errors"]:
        L.append(f"Client errors: {s['actor_errors']}\n")
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    sys.exit(main())
