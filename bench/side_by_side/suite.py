#!/usr/bin/python3
"""The side-by-side suite (issue 5): drives cossd and Debian's memcached (RAM
only at cossd's RAM-tier size, RAM large enough for everything, and with
extstore at cossd's store size) with `coss bench` and `memcaslap` on the same
machine in one run, and writes every raw result under OUT:

  OUT/raw/*.json      one `coss bench --json` report per run
  OUT/raw/*.txt       memcaslap and fio outputs
  OUT/runs.jsonl      one line per run: what ran against which server, and where its output is
  OUT/commands.log    every command that produced a figure, verbatim
  OUT/logs/           server logs

Within a workload all its servers run at once (idle but one) and repetitions
are interleaved (rep 1: every server, rep 2: every server, ...) so that a
change in the machine's state hits every server alike. Servers are stopped by
PID at the end of each group. report.py turns the results into report.md.

Usage: suite.py --coss BIN --cossd BIN --out DIR --work DIR [--quick]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers as S  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
TRACE = "/work/shared/traces/cloudPhysicsIO.oracleGeneral.bin"


def sizing(quick):
    """Every size and duration of the suite, for this 2-core / 24 GiB machine."""
    c = dict(
        ram_mib=256,             # cossd RAM tier = memcached -m for mc-ram and mc-ext
        store=4 * GiB,           # cossd store = extstore file
        big_mib=6144,            # mc-big: holds every workload whole
        reps=3,
        duration=5,              # seconds measured per closed/open-loop point
        warmup=1,
        sweep=[1, 8, 64],        # connections (throughput vs connections)
        main_conns=8,            # the connections of the main rows
        w1_keys=200_000,         # 64-512 B values: ~58 MB, fits the RAM tier
        w2_keys=524_288,         # 4 KiB values: 2 GiB = 8 x the RAM tier
        w3_keys=20_000,          # log-uniform 100 B - 512 KiB (mean ~61 KiB): ~1.2 GB
        trace_ram_mib=64,        # RAM tier / memcached -m in the trace runs
        trace_sizes_mib=[256, 512, 1024],  # cache sizes (store / ext file / extra RAM)
        trace_conns=4,
        ram_obj_keys=10_000_000,  # RAM per object: 10 M objects of 32 B
        ram_obj_store=2 * GiB,
        memcaslap_time=4,
        fio_size="2g",
        fio_time=5,
    )
    if quick:  # a few minutes, to check the whole pipeline end to end
        c.update(ram_mib=32, store=512 * MiB, big_mib=1024, reps=2, duration=1, warmup=0.5,
                 sweep=[1, 8], w1_keys=20_000, w2_keys=65_536, w3_keys=1_000,
                 trace_ram_mib=16, trace_sizes_mib=[64, 128, 256], ram_obj_keys=200_000,
                 ram_obj_store=256 * MiB, memcaslap_time=1, fio_size="256m", fio_time=1)
    return c


class Suite:
    def __init__(self, a):
        self.a = a
        self.c = sizing(a.quick)
        self.out = a.out
        self.work = a.work
        for d in ("raw", "logs"):
            os.makedirs(os.path.join(self.out, d), exist_ok=True)
        self.cmdlog = open(os.path.join(self.out, "commands.log"), "a")
        self.runs = open(os.path.join(self.out, "runs.jsonl"), "a")
        self.live = []
        self.failures = []
        json.dump(self.c, open(os.path.join(self.out, "sizing.json"), "w"), indent=1)

    # --- bookkeeping
    def log(self, cmd):
        self.cmdlog.write(cmd + "\n")
        self.cmdlog.flush()

    def record(self, **kw):
        kw["t"] = round(time.time(), 3)
        kw["loadavg"] = open("/proc/loadavg").read().split()[0]
        self.runs.write(json.dumps(kw) + "\n")
        self.runs.flush()

    def say(self, msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    # --- servers
    def peers(self, which, ram_mib=None, store=None, big_mib=None):
        ram_mib = ram_mib or self.c["ram_mib"]
        store = store or self.c["store"]
        big_mib = big_mib or self.c["big_mib"]
        logs = os.path.join(self.out, "logs")
        made = {
            "coss": lambda: S.cossd(self.a.cossd, "coss", self.work, logs, self.log, ram_mib, store),
            "mc-ram": lambda: S.memcached("mc-ram", self.work, logs, self.log, ram_mib),
            "mc-big": lambda: S.memcached("mc-big", self.work, logs, self.log, big_mib),
            "mc-ext": lambda: S.memcached("mc-ext", self.work, logs, self.log, ram_mib,
                                          ext_bytes=store),
        }
        out = []
        for w in which:
            srv = made[w]()
            srv.start()
            self.live.append(srv)
            out.append(srv)
        return out

    def stop(self, servers):
        for s in servers:
            alive = s.alive()
            took = s.stop()
            if s in self.live:
                self.live.remove(s)
            if not alive and s.died:
                self.failures.append(s.died)
            self.log(f"# stopped {s.name} pid {s.pid} (SIGTERM, {took:.1f} s)")
        # Stores are deleted as soon as their server is gone.
        for s in servers:
            for a in s.argv:
                if a.startswith(self.work) and ":" in a:
                    path = a.rsplit(":", 1)[0]
                    if os.path.isfile(path):
                        os.remove(path)
            d = os.path.join(self.work, f"{s.name}-ext")
            shutil.rmtree(d, ignore_errors=True)

    def stop_all(self):
        self.stop(list(self.live))

    # --- runners
    def bench(self, srv, tag, args, **meta):
        """One `coss bench --json` run; its report goes to raw/<tag>.json."""
        if not srv.alive():
            self.record(tag=tag, server=srv.name, error=srv.died, **meta)
            return None
        path = os.path.join(self.out, "raw", tag + ".json")
        argv = [self.a.coss, "bench", "-s", srv.addr, "-T", "2", "--json", "--progress", "never"] \
            + [str(x) for x in args]
        self.log(" ".join(argv) + " > " + os.path.relpath(path, self.out))
        r = subprocess.run(argv, capture_output=True, text=True)
        err = None
        if r.returncode != 0 or not r.stdout.strip():
            err = f"coss bench exit {r.returncode}: {r.stderr.strip()[:500]}"
        else:
            with open(path, "w") as f:
                f.write(r.stdout)
        if not srv.alive():
            err = (err + "; " if err else "") + srv.died
        extra = {}
        if srv.name == "mc-ext":
            extra["ext_page_cache_bytes"] = S.page_cache_bytes(S.ext_file(srv))
        self.record(tag=tag, server=srv.name, file=os.path.relpath(path, self.out) if not err or
                    os.path.exists(path) else None, error=err, **meta, **extra)
        if err:
            self.say(f"  {tag}: {err.splitlines()[0]}")
            return None
        rep = json.loads(r.stdout)
        res = rep["result"]
        self.say(f"  {tag}: {res['ops_per_s']:,.0f} ops/s, p99 {res['latency_us']['all']['p99']:,.0f} us, "
                 f"hit {res['hit_ratio'] if res['hit_ratio'] is not None else float('nan'):.3f}, "
                 f"errors {res['errors']['total']}")
        return rep

    def memcaslap(self, srv, tag, cfg_text, concurrency, win, **meta):
        cfg = os.path.join(self.out, "raw", tag + ".cfg")
        with open(cfg, "w") as f:
            f.write(cfg_text)
        path = os.path.join(self.out, "raw", tag + ".txt")
        argv = ["memcaslap", "-s", srv.addr, "-F", cfg, "-T", "2", "-c", str(concurrency),
                "-w", f"{max(1, win // 1000)}k", "-t", f"{self.c['memcaslap_time']}s"]
        self.log(" ".join(argv) + " > " + os.path.relpath(path, self.out))
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=self.c["memcaslap_time"] * 10 + 60)
            text = r.stdout + r.stderr
        except subprocess.TimeoutExpired as e:
            text = f"timeout: {e}"
        with open(path, "w") as f:
            f.write(text)
        parsed = parse_memcaslap(text)
        self.record(tag=tag, server=srv.name, file=os.path.relpath(path, self.out),
                    error=None if parsed.get("tps") else "no TPS line in memcaslap output",
                    memcaslap=parsed, **meta)
        self.say(f"  {tag}: memcaslap TPS {parsed.get('tps')}")

    # --- workloads
    def w1_w2_w5(self):
        c = self.c
        groups = [
            ("w1", ["coss", "mc-ram", "mc-ext"],
             ["--keys", c["w1_keys"], "--value-size", "uniform:64-512", "--key-dist", "uniform"],
             "key\n16 16 1\nvalue\n64 512 1\ncmd\n0 0.1\n1 0.9\n", 10_000),
            ("w2", ["coss", "mc-ram", "mc-big", "mc-ext"],
             ["--keys", c["w2_keys"], "--value-size", "4k", "--key-dist", "uniform"],
             "key\n16 16 1\nvalue\n4096 4096 1\ncmd\n0 0.1\n1 0.9\n", None),
        ]
        for wl, names, wargs, ms_cfg, ms_win in groups:
            self.say(f"== {wl}: start {', '.join(names)}")
            srvs = self.peers(names)
            for s in srvs:  # prefill: set every key, then read every key once
                self.bench(s, f"{wl}-prefill-{s.name}",
                           wargs + ["--set-ratio", 0, "--prefill", "--prefill-read",
                                    "--prefill-depth", 16, "-c", 8, "-n", 1, "-t", 0],
                           workload=wl, phase="prefill")
            for rep in range(1, c["reps"] + 1):
                for conns in c["sweep"]:
                    for s in srvs:
                        self.bench(s, f"{wl}-c{conns}-r{rep}-{s.name}",
                                   wargs + ["--set-ratio", 0.1, "-c", conns, "-t", c["duration"],
                                            "--warmup", c["warmup"], "--seed", rep],
                                   workload=wl, phase="closed", conns=conns, rep=rep)
            # Open loop at half the slowest server's median closed-loop rate at
            # main_conns: latency under the same offered load for everyone.
            rate = self.open_rate(wl, names)
            for rep in range(1, c["reps"] + 1):
                for s in srvs:
                    self.bench(s, f"{wl}-open-r{rep}-{s.name}",
                               wargs + ["--set-ratio", 0.1, "-c", c["main_conns"], "-r", int(rate),
                                        "-t", c["duration"], "--seed", 100 + rep],
                               workload=wl, phase="open", conns=c["main_conns"], rate=int(rate),
                               rep=rep)
            # memcaslap, a third-party generator, on the same servers.
            win = ms_win or max(1000, c["w2_keys"] // c["main_conns"])
            for rep in range(1, c["reps"] + 1):
                for s in srvs:
                    self.memcaslap(s, f"{wl}-memcaslap-r{rep}-{s.name}", ms_cfg, c["main_conns"],
                                   win, workload=wl, phase="memcaslap", conns=c["main_conns"],
                                   rep=rep)
            if wl == "w2":  # w5: write-heavy (50 % sets) on the same key space and servers
                for rep in range(1, c["reps"] + 1):
                    for s in srvs:
                        self.bench(s, f"w5-r{rep}-{s.name}",
                                   wargs + ["--set-ratio", 0.5, "-c", c["main_conns"],
                                            "-t", c["duration"], "--warmup", c["warmup"],
                                            "--seed", 200 + rep],
                                   workload="w5", phase="closed", conns=c["main_conns"], rep=rep)
            self.stop(srvs)

    def open_rate(self, wl, names):
        rates = []
        for line in open(os.path.join(self.out, "runs.jsonl")):
            r = json.loads(line)
            if r.get("workload") == wl and r.get("phase") == "closed" and \
                    r.get("conns") == self.c["main_conns"] and r.get("file"):
                rep = json.load(open(os.path.join(self.out, r["file"])))
                rates.append((r["server"], rep["result"]["requests_per_s"]))
        med = {n: statistics.median([v for s, v in rates if s == n]) for n in names
               if any(s == n for s, _ in rates)}
        rate = 0.5 * min(med.values()) if med else 1000
        self.say(f"  {wl}: open-loop rate {rate:,.0f} req/s (half of the slowest median {med})")
        return max(rate, 100)

    def w3(self):
        c = self.c
        names = ["coss", "mc-ram", "mc-big", "mc-ext"]
        wargs = ["--keys", c["w3_keys"], "--value-size", "loguniform:100-512k",
                 "--key-dist", "zipf:0.9"]
        self.say("== w3: mixed sizes up to 512 KiB, Zipf 0.9")
        srvs = self.peers(names)
        for s in srvs:
            self.bench(s, f"w3-prefill-{s.name}",
                       wargs + ["--set-ratio", 0, "--prefill", "--prefill-read", "--prefill-depth",
                                4, "-c", 8, "-n", 1, "-t", 0], workload="w3", phase="prefill")
        for rep in range(1, c["reps"] + 1):
            for s in srvs:
                self.bench(s, f"w3-r{rep}-{s.name}",
                           wargs + ["--set-ratio", 0.1, "-c", c["main_conns"], "-t", c["duration"],
                                    "--warmup", c["warmup"], "--seed", 300 + rep],
                           workload="w3", phase="closed", conns=c["main_conns"], rep=rep)
        self.stop(srvs)

    def w4(self):
        """Trace replay (look-aside) from a cold cache, per cache size and rep."""
        c = self.c
        ram = c["trace_ram_mib"]
        self.say("== w4: trace replay at three cache sizes")
        for rep in range(1, c["reps"] + 1):
            for size in c["trace_sizes_mib"]:
                cfgs = [("coss", dict(ram_mib=ram, store=size * MiB)),
                        ("mc-ram", dict(ram_mib=ram + size)),
                        ("mc-ext", dict(ram_mib=ram, store=size * MiB))]
                for name, kw in cfgs:
                    srv = self.peers([name], **kw)[0]
                    self.bench(srv, f"w4-{size}m-r{rep}-{name}",
                               ["--trace", TRACE, "-c", c["trace_conns"], "-t", 0],
                               workload="w4", phase="trace", cache_mib=size, rep=rep,
                               ram_mib=kw["ram_mib"])
                    self.stop([srv])
            srv = self.peers(["mc-big"], big_mib=4096)[0]  # the whole trace fits: compulsory misses only
            self.bench(srv, f"w4-inf-r{rep}-mc-big", ["--trace", TRACE, "-c", c["trace_conns"],
                                                      "-t", 0],
                       workload="w4", phase="trace", cache_mib=4096, rep=rep, ram_mib=4096)
            self.stop([srv])

    def ram_per_object(self):
        c = self.c
        self.say(f"== RAM per object: {c['ram_obj_keys']:,} objects of 32 B")
        for name, kw in [("coss", dict(ram_mib=64, store=c["ram_obj_store"])),
                         ("mc-big", dict(big_mib=4096))]:
            srv = self.peers([name], **kw)[0]
            time.sleep(1)
            rss_idle = S.rss_bytes(srv.pid)
            self.bench(srv, f"ramobj-{name}",
                       ["--keys", c["ram_obj_keys"], "--value-size", 32, "--set-ratio", 0,
                        "--prefill", "--prefill-depth", 64, "-c", 8, "-n", 1, "-t", 0],
                       workload="ramobj", phase="prefill", rss_idle=rss_idle)
            time.sleep(1)
            path = os.path.join(self.out, "raw", f"ramobj-stats-{name}.json")
            argv = [self.a.coss, "stats", "-s", srv.addr, "--json"]
            self.log(" ".join(argv) + " > " + os.path.relpath(path, self.out))
            r = subprocess.run(argv, capture_output=True, text=True)
            with open(path, "w") as f:
                f.write(r.stdout)
            self.record(tag=f"ramobj-stats-{name}", server=name, workload="ramobj",
                        phase="stats", file=os.path.relpath(path, self.out), rss_idle=rss_idle,
                        rss_full=S.rss_bytes(srv.pid), error=None if r.returncode == 0 else r.stderr)
            self.stop([srv])

    def fio(self):
        c = self.c
        f = os.path.join(self.work, "fio.dat")
        common = [f"--filename={f}", f"--size={c['fio_size']}", "--direct=1",
                  "--ioengine=io_uring", "--output-format=json"]
        jobs = [
            ("seqwrite-qd4", ["--rw=write", "--bs=1m", "--iodepth=4", "--end_fsync=1"]),
            ("randread-qd1", ["--rw=randread", "--bs=4k", "--iodepth=1", "--time_based",
                              f"--runtime={c['fio_time']}"]),
            (f"randread-qd{c['main_conns']}", ["--rw=randread", "--bs=4k",
                                               f"--iodepth={c['main_conns']}", "--time_based",
                                               f"--runtime={c['fio_time']}"]),
            ("randread-qd32", ["--rw=randread", "--bs=4k", "--iodepth=32", "--time_based",
                               f"--runtime={c['fio_time']}"]),
        ]
        self.say("== fio on the same file system")
        for name, args in jobs:
            path = os.path.join(self.out, "raw", f"fio-{name}.json")
            argv = ["fio", f"--name={name}"] + common + args + [f"--output={path}"]
            self.log(" ".join(argv))
            r = subprocess.run(argv, capture_output=True, text=True)
            self.record(tag=f"fio-{name}", server="fio", workload="fio", phase=name,
                        file=os.path.relpath(path, self.out),
                        error=None if r.returncode == 0 else r.stderr[:300])
        if os.path.exists(f):
            os.remove(f)


def parse_memcaslap(text):
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("Run time:") and "TPS:" in line:
            parts = line.replace(":", " ").split()
            try:
                out["tps"] = float(parts[parts.index("TPS") + 1])
                out["ops"] = float(parts[parts.index("Ops") + 1])
            except (ValueError, IndexError):
                pass
        for k in ("cmd_get", "cmd_set", "get_misses"):
            if line.startswith(k + ":"):
                try:
                    out[k] = int(line.split(":")[1])
                except ValueError:
                    pass
    if out.get("cmd_get"):
        out["get_miss_ratio"] = out.get("get_misses", 0) / out["cmd_get"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--coss", required=True)
    ap.add_argument("--cossd", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="fio,w1w2w5,w3,w4,ramobj",
                    help="comma-separated parts to run")
    a = ap.parse_args()
    s = Suite(a)
    parts = {"fio": s.fio, "w1w2w5": s.w1_w2_w5, "w3": s.w3, "w4": s.w4,
             "ramobj": s.ram_per_object}
    try:
        for p in a.only.split(","):
            t0 = time.time()
            parts[p]()
            s.record(tag=f"part-{p}", server="-", workload="timing", seconds=time.time() - t0)
    finally:
        s.stop_all()
        if s.failures:
            with open(os.path.join(a.out, "server_failures.txt"), "w") as f:
                f.write("\n\n".join(s.failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
