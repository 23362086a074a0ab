#!/usr/bin/env python3
"""Runs the proxy-overhead measurements of bench/cluster/run.sh and writes
report.md. Two passes:

  suite.py --coss COSS --out DIR --direct H:P --proxy1 H:P --proxy3 H:P ...
  suite.py --report DIR

Load (every run): `coss bench`, 16 connections on one client thread, depth 1,
100 000 keys of 1 KiB, uniform popularity, 10 % sets, prefilled, 2 s warm-up.
Shapes: `closed` (as fast as the server answers: throughput) twice, in the
order direct, proxy1, proxy3, proxy3c4 then the reverse (the machine is shared: the two
passes show the drift); then `open` at half the lowest closed-loop throughput
(latency at equal load), in the same two orders.
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "cluster"))

KEYS = 100000
LOAD = ["-c", "16", "-T", "1", "-d", "1", "--keys", str(KEYS), "--value-size", "1k",
        "--set-ratio", "0.1", "--prefill", "--warmup", "2", "--json", "--progress", "never"]
CONFIGS = ["direct", "proxy1", "proxy3", "proxy3c4"]
LABEL = {"direct": "direct (one cossd)", "proxy1": "nutcracker → the same cossd",
         "proxy3": "nutcracker → three cossd (the example configuration: one connection per node)",
         "proxy3c4": "nutcracker → the same three cossd with `server_connections: 4`"}
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return None


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def ask(addr, req, until=b"END\r\n", timeout=5):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(req)
        buf = b""
        while not buf.endswith(until):
            d = s.recv(65536)
            if not d:
                break
            buf += d
    return buf


def wait_ready(addr, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if ask(addr, b"get suite-probe\r\n", timeout=1) == b"END\r\n":
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{addr} does not answer")


def node_stats(addr):
    out = {}
    for line in ask(addr, b"stats\r\n").decode().splitlines():
        m = re.match(r"STAT (\S+) (.*)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def measure(a):
    targets = {"direct": a.direct, "proxy1": a.proxy1, "proxy3": a.proxy3, "proxy3c4": a.proxy3c4}
    proxy_pid = {"direct": None, "proxy1": a.proxy1_pid, "proxy3": a.proxy3_pid,
                 "proxy3c4": a.proxy3c4_pid}
    cluster_pids = [int(p) for p in a.node_pids.split()]
    node_pids = {"direct": [a.direct_pid], "proxy1": [a.direct_pid],
                 "proxy3": cluster_pids, "proxy3c4": cluster_pids}
    for t in targets.values():
        wait_ready(t)
    raw = os.path.join(a.out, "raw")
    os.makedirs(raw, exist_ok=True)
    runs_path = os.path.join(a.out, "runs.jsonl")
    log = open(os.path.join(a.out, "commands.log"), "a")

    def run(shape, cfg, rep, extra):
        cmd = [a.coss, "bench", "-s", targets[cfg], "-t", str(a.seconds)] + LOAD + extra
        log.write(" ".join(cmd) + "\n")
        log.flush()
        before = {"load": loadavg(), "proxy_cpu": cpu_seconds(proxy_pid[cfg]) if proxy_pid[cfg] else None,
                  "node_cpu": [cpu_seconds(p) for p in node_pids[cfg]]}
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.seconds + 120)
        wall = time.time() - t0
        if p.returncode != 0:
            raise SystemExit(f"coss bench failed ({p.returncode}): {p.stderr}")
        name = f"{shape}-{cfg}-{rep}.json"
        with open(os.path.join(raw, name), "w") as f:
            f.write(p.stdout)
        d = json.loads(p.stdout)
        after_proxy = cpu_seconds(proxy_pid[cfg]) if proxy_pid[cfg] else None
        after_nodes = [cpu_seconds(pid) for pid in node_pids[cfg]]
        rec = {"shape": shape, "config": cfg, "rep": rep, "file": name, "wall_s": round(wall, 1),
               "load_before": before["load"], "load_after": loadavg(),
               # CPU over the whole run: prefill + warm-up + measured part
               "proxy_cpu_s": None if after_proxy is None else round(after_proxy - before["proxy_cpu"], 2),
               "node_cpu_s": round(sum(x - y for x, y in zip(after_nodes, before["node_cpu"])), 2),
               "requests_total": d["result"]["requests"] + (d.get("prefill") or {}).get("ops", 0)
               + (d.get("warmup") or {}).get("ops", 0)}
        with open(runs_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        r = d["result"]
        print(f"{shape:6} {cfg:6} rep {rep}: {r['ops_per_s']:9.0f} ops/s  p50 "
              f"{r['latency_us']['all']['p50']:7.0f} us  p99 {r['latency_us']['all']['p99']:7.0f} us  "
              f"errors {r['errors']['total']}  load {rec['load_after']}", flush=True)
        return r["ops_per_s"]

    tput = []
    for rep in (0, 1):
        for cfg in (CONFIGS if rep == 0 else CONFIGS[::-1]):
            tput.append(run("closed", cfg, rep, []))
    rate = max(100, int(0.5 * min(tput) / 100) * 100)
    for rep in (0, 1):
        for cfg in (CONFIGS if rep == 0 else CONFIGS[::-1]):
            run("open", cfg, rep, ["-r", str(rate), "--arrival", "poisson"])

    # balance: what the three nodes hold after the proxy3 runs, against the
    # ketama model of nutcracker (tests/cluster/ketama.py)
    from ketama import Ring
    ring = Ring([("coss-a", 1), ("coss-b", 1), ("coss-c", 1)])
    predicted = {"coss-a": 0, "coss-b": 0, "coss-c": 0}
    for i in range(KEYS):
        predicted[ring.node(b"k:%d" % i)] += 1
    nodes = {}
    for name, port in zip(("coss-a", "coss-b", "coss-c"), a.nodes.split()):
        s = node_stats(f"127.0.0.1:{port}")
        nodes[name] = {k: int(s[k]) for k in ("curr_items", "cmd_get", "get_hits", "cmd_set")}
        nodes[name]["predicted_keys"] = predicted[name]
    with open(os.path.join(a.out, "balance.json"), "w") as f:
        json.dump({"keys": KEYS, "nodes": nodes, "open_rate": rate}, f, indent=1)
    log.close()


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def report(out):
    runs = [json.loads(line) for line in open(os.path.join(out, "runs.jsonl"))]
    for r in runs:
        with open(os.path.join(out, "raw", r["file"])) as f:
            r["bench"] = json.load(f)
    bal = json.load(open(os.path.join(out, "balance.json")))
    machine = open(os.path.join(out, "machine.txt")).read()
    cmds = open(os.path.join(out, "commands.log")).read()
    L = []
    w = L.append
    w("# Scale-out: the cost of nutcracker (twemproxy) in front of cossd (issue 7)\n")
    w("Produced by `bench/cluster/run.sh` (driver `bench/cluster/suite.py`); every figure comes from "
      "`raw/*.json` (`coss bench --json`) and `runs.jsonl` next to this file. Exact commands: "
      "[commands.log](commands.log); machine: [machine.txt](machine.txt).\n")
    load = re.search(r"load average.*", machine).group(0)
    w(f"**Machine:** {re.search(r'nproc: (.*)', machine).group(1)} cores, shared with other jobs; "
      f"{load}. Client, proxy and nodes all run on these two cores, so every configuration is "
      "CPU-bound and the ratios below include the proxy's CPU taken from the same two cores.\n")
    secs = runs[0]["bench"]["settings"]["duration_s"]
    w(f"**Load:** `coss bench` with 16 connections on one client thread, depth 1, "
      f"{KEYS:,} keys of 1 KiB, uniform popularity, 10 % sets, prefilled, 2 s warm-up, "
      f"{secs:g} s measured per run. `closed`: as fast as the server answers (throughput); "
      f"`open`: Poisson arrivals at {bal['open_rate']} requests/s (half the lowest closed-loop "
      "throughput: latency at equal load). Each configuration ran twice per shape, in the order "
      "direct, proxy1, proxy3, proxy3c4 and then the reverse; tables give the mean of the two runs and each "
      "run's value in brackets.\n")
    node_opts = re.search(r"node options: (.*)", machine).group(1).strip()
    ack = "buffered" if "--write-ack buffered" in node_opts else "durable"
    w(f"**Configurations:** nodes `cossd {node_opts}` (the other options at their defaults; "
      f"writes acknowledged `{ack}`); nutcracker 0.5.0 with `deploy/nutcracker/coss-cluster.yml` "
      "(ports rewritten; copies: [nutcracker-cluster.yml](nutcracker-cluster.yml), "
      "[nutcracker-one-node.yml](nutcracker-one-node.yml), "
      "[nutcracker-cluster-4conn.yml](nutcracker-cluster-4conn.yml)).\n")
    for cfg in CONFIGS:
        w(f"- `{cfg}`: {LABEL[cfg]}")
    w("")

    def by(shape, cfg):
        return [r for r in runs if r["shape"] == shape and r["config"] == cfg]

    def lat(r, q, kind="all"):
        return r["bench"]["result"]["latency_us"][kind][q]

    for shape in ("closed", "open"):
        w(f"## {shape}-loop\n")
        w("| config | ops/s | p50 µs | p90 µs | p99 µs | p99.9 µs | get p50 | set p50 | hit ratio | errors |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        base = {}
        for cfg in CONFIGS:
            rs = by(shape, cfg)
            vals = {"ops": [r["bench"]["result"]["ops_per_s"] for r in rs]}
            for q in ("p50", "p90", "p99", "p999"):
                vals[q] = [lat(r, q) for r in rs]
            vals["get50"] = [lat(r, "p50", "get") for r in rs]
            vals["set50"] = [lat(r, "p50", "set") for r in rs]
            hr = mean([r["bench"]["result"]["hit_ratio"] for r in rs])
            errs = sum(r["bench"]["result"]["errors"]["total"] for r in rs)
            base.setdefault(cfg, {k: mean(v) for k, v in vals.items()})

            def cell(k, fmt="{:.0f}"):
                return fmt.format(mean(vals[k])) + " [" + ", ".join(fmt.format(x) for x in vals[k]) + "]"
            w(f"| {cfg} | {cell('ops')} | {cell('p50')} | {cell('p90')} | {cell('p99')} | {cell('p999')} "
              f"| {cell('get50')} | {cell('set50')} | {hr:.4f} | {errs} |")
        w("")
        w("Ratios against `direct` (means of the two runs; throughput < 1 and latency > 1 mean the "
          "proxy costs):\n")
        w("| config | throughput | p50 | p90 | p99 | p99.9 |")
        w("|---|---|---|---|---|---|")
        for cfg in CONFIGS[1:]:
            b, c = base["direct"], base[cfg]
            w(f"| {cfg}/direct | {c['ops'] / b['ops']:.2f} | {c['p50'] / b['p50']:.2f} | "
              f"{c['p90'] / b['p90']:.2f} | {c['p99'] / b['p99']:.2f} | {c['p999'] / b['p999']:.2f} |")
        w("")

    w("## CPU\n")
    w("CPU seconds over each whole run (prefill, warm-up and measured part) divided by the requests "
      "of the run, from `/proc/PID/stat`:\n")
    w("| shape | config | nutcracker µs/request | nodes µs/request | nutcracker busy (share of one core) |")
    w("|---|---|---|---|---|")
    for shape in ("closed", "open"):
        for cfg in CONFIGS:
            rs = by(shape, cfg)
            px = mean([r["proxy_cpu_s"] * 1e6 / r["requests_total"] if r["proxy_cpu_s"] is not None
                       else None for r in rs])
            nd = mean([r["node_cpu_s"] * 1e6 / r["requests_total"] for r in rs])
            busy = mean([r["proxy_cpu_s"] / r["wall_s"] * 100 if r["proxy_cpu_s"] is not None else None
                         for r in rs])
            w(f"| {shape} | {cfg} | {'-' if px is None else f'{px:.1f}'} | {nd:.1f} | "
              f"{'-' if busy is None else f'{busy:.0f} %'} |")
    w("")

    w("## Key balance over the three nodes\n")
    w(f"After the `proxy3` and `proxy3c4` runs (each prefilled the {KEYS:,} keys `k:0` … `k:{KEYS - 1}` through the "
      "proxy), `stats` on each node; `predicted` is the ketama model of `tests/cluster/ketama.py` "
      "(the test checks it against the proxy key by key).\n")
    w("| node | objects | share | predicted | gets served | share of gets | sets |")
    w("|---|---|---|---|---|---|---|")
    tot = sum(n["curr_items"] for n in bal["nodes"].values())
    gets = sum(n["cmd_get"] for n in bal["nodes"].values())
    for name, n in bal["nodes"].items():
        w(f"| {name} | {n['curr_items']} | {100 * n['curr_items'] / tot:.1f} % | "
          f"{n['predicted_keys']} ({100 * n['predicted_keys'] / KEYS:.1f} %) | {n['cmd_get']} | "
          f"{100 * n['cmd_get'] / gets:.1f} % | {n['cmd_set']} |")
    w("")
    w("## Runs\n")
    w("| shape | config | rep | wall s | load before | load after |")
    w("|---|---|---|---|---|---|")
    for r in runs:
        w(f"| {r['shape']} | {r['config']} | {r['rep']} | {r['wall_s']} | {r['load_before']} | {r['load_after']} |")
    w("")
    w("## Commands\n")
    w("```")
    w(cmds.rstrip())
    w("```")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report")
    ap.add_argument("--coss")
    ap.add_argument("--out")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--direct")
    ap.add_argument("--direct-pid", type=int)
    ap.add_argument("--proxy1")
    ap.add_argument("--proxy1-pid", type=int)
    ap.add_argument("--proxy3")
    ap.add_argument("--proxy3-pid", type=int)
    ap.add_argument("--proxy3c4")
    ap.add_argument("--proxy3c4-pid", type=int)
    ap.add_argument("--nodes")
    ap.add_argument("--node-pids")
    a = ap.parse_args()
    if a.report:
        report(a.report)
    else:
        measure(a)


if __name__ == "__main__":
    main()
