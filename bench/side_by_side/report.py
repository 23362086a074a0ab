#!/usr/bin/python3
"""report.py OUT: turns the side-by-side suite's raw results (OUT/runs.jsonl,
OUT/raw/) into OUT/report.md and PNG plots (plots.py).

Every figure is the median over the repetitions, with the min..max spread;
coss / peer ratios are ratios of those medians, all measured in the same run.
A hand-written OUT/analysis.md (the "why" of each loss), if present, is
included verbatim.
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def default_policy():
    """The engine's default policy (include/coss/options.h), as built for this run."""
    import re
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include",
                        "coss", "options.h")
    try:
        m = re.search(r'std::string relocation = "([^"]*)"', open(path).read())
        return m.group(1) if m else "unknown"
    except OSError:
        return "unknown"

SERVERS = ["coss", "mc-ram", "mc-big", "mc-ext"]
PEERS = ["mc-ram", "mc-big", "mc-ext"]
WHAT = {
    "coss": "cossd: RAM tier + cyclic store",
    "mc-ram": "memcached, RAM only, -m = coss RAM tier",
    "mc-big": "memcached, RAM only, -m large enough for everything (the RAM ceiling)",
    "mc-ext": "memcached + extstore, -m = coss RAM tier, ext file = coss store size",
}


class Results:
    def __init__(self, out):
        self.out = out
        self.runs = [json.loads(l) for l in open(os.path.join(out, "runs.jsonl"))]
        self.sizing = json.load(open(os.path.join(out, "sizing.json")))
        self._cache = {}

    def doc(self, run):
        f = run.get("file")
        if not f:
            return None
        if f not in self._cache:
            try:
                self._cache[f] = json.load(open(os.path.join(self.out, f)))
            except (OSError, ValueError):
                self._cache[f] = None
        return self._cache[f]

    def select(self, **kw):
        return [r for r in self.runs if all(r.get(k) == v for k, v in kw.items())]

    def errors(self, **kw):
        return [r for r in self.select(**kw) if r.get("error")]


# --- metric extraction from one coss bench report -------------------------
def m_ops(d, r):
    return d["result"]["ops_per_s"]


def m_req(d, r):
    return d["result"]["requests_per_s"]


def lat(q, op="all"):
    return lambda d, r: d["result"]["latency_us"][op][q] if d["result"]["latency_us"][op]["count"] else None


def m_hit(d, r):
    return d["result"]["hit_ratio"]


def m_bhit(d, r):
    return d["result"]["byte_hit_ratio"]


def m_cpu_per_op(d, r):
    cpu = d["server"]["cpu_seconds"]
    ops = d["result"]["ops"]
    return cpu / ops * 1e6 if cpu is not None and ops else None


def m_cores(d, r):
    return d["server"]["cpu_cores"]


def m_errors(d, r):
    return d["result"]["errors"]["total"]


def m_wa(d, r):
    return d["server"]["write_amplification"]


def m_ext_wa(d, r):
    e = d["server"]["extstore_bytes_written"]
    b = d["result"]["bytes_stored"]
    return e / b if e is not None and b else None


def m_proc_wa(d, r):
    w = d["server"]["proc_write_bytes"]
    b = d["result"]["bytes_stored"]
    return w / b if w is not None and b else None


def m_dev_read_mbs(d, r):
    b = d["server"]["device_bytes_read"]
    if b is None:
        b = d["server"]["proc_read_bytes"]
    s = d["result"]["seconds"]
    return b / s / 1e6 if b is not None and s else None


def m_dev_write_mbs(d, r):
    b = d["server"]["device_bytes_written"]
    if b is None:
        b = d["server"]["extstore_bytes_written"]
    s = d["result"]["seconds"]
    return b / s / 1e6 if b is not None and s else None


def m_proc_write_mbs(d, r):
    b = d["server"]["proc_write_bytes"]
    s = d["result"]["seconds"]
    return b / s / 1e6 if b is not None and s else None


def m_ctx_per_op(d, r):
    c = d["server"].get("context_switches")
    ops = d["result"]["ops"]
    return c / ops if c is not None and ops else None


def m_rss(d, r):
    return d["server"]["rss_bytes"]


def m_pagecache(d, r):
    return r.get("ext_page_cache_bytes")


class Agg:
    """Median and spread of one metric over repetitions."""

    def __init__(self, vals):
        self.vals = [v for v in vals if v is not None]

    @property
    def ok(self):
        return bool(self.vals)

    @property
    def med(self):
        return statistics.median(self.vals) if self.vals else None

    def fmt(self, f="{:,.0f}", spread=True):
        if not self.vals:
            return "n/a"
        s = f.format(self.med)
        if spread and len(self.vals) > 1:
            s += f" ({f.format(min(self.vals))}..{f.format(max(self.vals))})"
        return s


def agg(res, metric, **kw):
    vals = []
    for r in res.select(**kw):
        d = res.doc(r)
        if d is not None and not r.get("error"):
            try:
                vals.append(metric(d, r))
            except (KeyError, TypeError, ZeroDivisionError):
                pass
    return Agg(vals)


def ratio(a, b, f="{:.2f}"):
    if a is None or b is None or b == 0:
        return "n/a"
    return f.format(a / b)


def bold(s):
    return f"**{s}**" if s != "n/a" else s


def gb(b):
    return "n/a" if b is None else f"{b / 1e9:.2f} GB"


# --- sections --------------------------------------------------------------
def workload_table(res, wl, names, conns, phase="closed"):
    """Rows per server at one point; ratio columns coss / that server."""
    lines = ["| server | ops/s | coss/peer ops/s | p50 us | p99 us | coss/peer p99 | p99.9 us | "
             "hit ratio | coss/peer hit ratio | server CPU us/op | server context switches/op | "
             "errors |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    sel = dict(workload=wl, phase=phase)
    if conns is not None:
        sel["conns"] = conns
    base = {m: agg(res, f, server="coss", **sel).med for m, f in
            (("ops", m_ops), ("p99", lat("p99")), ("hit", m_hit))}
    for s in names:
        ops = agg(res, m_ops, server=s, **sel)
        p99 = agg(res, lat("p99"), server=s, **sel)
        hit = agg(res, m_hit, server=s, **sel)
        err = agg(res, m_errors, server=s, **sel)
        failed = res.errors(server=s, **sel)
        is_coss = s == "coss"
        lines.append("| " + " | ".join([
            s,
            ops.fmt(),
            "" if is_coss else bold(ratio(base["ops"], ops.med)),
            agg(res, lat("p50"), server=s, **sel).fmt("{:,.0f}", False),
            p99.fmt(),
            "" if is_coss else bold(ratio(base["p99"], p99.med)),
            agg(res, lat("p999"), server=s, **sel).fmt("{:,.0f}", False),
            hit.fmt("{:.4f}"),
            "" if is_coss else ratio(base["hit"], hit.med, "{:.3f}"),
            agg(res, m_cpu_per_op, server=s, **sel).fmt("{:.1f}", False),
            agg(res, m_ctx_per_op, server=s, **sel).fmt("{:.2f}", False),
            (err.fmt("{:.0f}", False) if err.ok else "n/a")
            + (f"; {len(failed)} run(s) failed" if failed else ""),
        ]) + " |")
    return "\n".join(lines)


def sweep_table(res, wl, names):
    sweep = res.sizing["sweep"]
    head = "| server | " + " | ".join(f"{c} conn ops/s" for c in sweep) + " | " + \
        " | ".join(f"coss/peer @{c}" for c in sweep) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(sweep))]
    base = {c: agg(res, m_ops, workload=wl, phase="closed", conns=c, server="coss").med
            for c in sweep}
    for s in names:
        cells = [agg(res, m_ops, workload=wl, phase="closed", conns=c, server=s) for c in sweep]
        rat = ["" if s == "coss" else ratio(base[c], cells[i].med) for i, c in enumerate(sweep)]
        lines.append(f"| {s} | " + " | ".join(x.fmt() for x in cells) + " | " +
                     " | ".join(rat) + " |")
    return "\n".join(lines)


def open_table(res, wl, names):
    runs = res.select(workload=wl, phase="open")
    if not runs:
        return "(no open-loop runs)"
    rate = runs[0].get("rate")
    lines = [f"Offered load: **{rate:,} requests/s** (Poisson arrivals, {res.sizing['main_conns']} "
             "connections) for every server — half the median closed-loop rate of the slowest "
             "server at that connection count. Latency is measured from each request's due time.",
             "",
             "| server | achieved req/s | p50 us | p90 us | p99 us | coss/peer p99 | p99.9 us | "
             "max us | hit ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    base = agg(res, lat("p99"), workload=wl, phase="open", server="coss").med
    for s in names:
        sel = dict(workload=wl, phase="open", server=s)
        p99 = agg(res, lat("p99"), **sel)
        lines.append("| " + " | ".join([
            s, agg(res, m_req, **sel).fmt(), agg(res, lat("p50"), **sel).fmt(),
            agg(res, lat("p90"), **sel).fmt(), p99.fmt(),
            "" if s == "coss" else bold(ratio(base, p99.med)),
            agg(res, lat("p999"), **sel).fmt(), agg(res, lat("max"), **sel).fmt(),
            agg(res, m_hit, **sel).fmt("{:.4f}", False)]) + " |")
    return "\n".join(lines)


def memcaslap_table(res, wl, names):
    rows = res.select(workload=wl, phase="memcaslap")
    if not rows:
        return "(not run)"

    def tps(s):
        return Agg([r["memcaslap"].get("tps") for r in rows if r["server"] == s])

    def miss(s):
        return Agg([r["memcaslap"].get("get_miss_ratio") for r in rows if r["server"] == s])

    base = tps("coss").med
    lines = ["| server | memcaslap ops/s | coss/peer | get miss ratio (memcaslap's own keys) |",
             "|---|---|---|---|"]
    for s in names:
        t = tps(s)
        lines.append(f"| {s} | {t.fmt()} | {'' if s == 'coss' else bold(ratio(base, t.med))} | "
                     f"{miss(s).fmt('{:.3f}', False)} |")
    return "\n".join(lines)


def prefill_table(res, wl, names):
    lines = ["| server | prefill sets/s | objects kept after the prefill (read-back hit ratio) | "
             "items reported by the server |", "|---|---|---|---|"]
    for s in names:
        r = res.select(workload=wl, phase="prefill", server=s)
        d = res.doc(r[0]) if r else None
        if not d:
            lines.append(f"| {s} | failed: {r[0].get('error') if r else 'not run'} | | |")
            continue
        p, pr = d["prefill"], d.get("prefill_read")
        lines.append(f"| {s} | {p['ops_per_s']:,.0f} | "
                     f"{pr['hit_ratio']:.4f} | {d['server']['items'] or 0:,} |" if pr else
                     f"| {s} | {p['ops_per_s']:,.0f} | n/a | {d['server']['items'] or 0:,} |")
    return "\n".join(lines)


def io_table(res, wl, names, conns=None):
    lines = ["| server | write amplification (coss stats) | store writes / client bytes "
             "(extstore stats) | process storage writes / client bytes (/proc io) | device "
             "write MB/s | device read MB/s | ext file in page cache at end |",
             "|---|---|---|---|---|---|---|"]
    sel = dict(workload=wl, phase="closed")
    if conns is not None:
        sel["conns"] = conns
    for s in names:
        pc = agg(res, m_pagecache, server=s, **sel)
        lines.append("| " + " | ".join([
            s, agg(res, m_wa, server=s, **sel).fmt("{:.3f}"),
            agg(res, m_ext_wa, server=s, **sel).fmt("{:.3f}"),
            agg(res, m_proc_wa, server=s, **sel).fmt("{:.3f}"),
            agg(res, m_dev_write_mbs, server=s, **sel).fmt("{:,.0f}", False),
            agg(res, m_dev_read_mbs, server=s, **sel).fmt("{:,.0f}", False),
            gb(pc.med) if pc.ok else ""]) + " |")
    return "\n".join(lines)


def trace_table(res):
    sizes = res.sizing["trace_sizes_mib"]
    ram = res.sizing["trace_ram_mib"]
    lines = ["| cache size | server | hit ratio | coss/peer | byte hit ratio | coss/peer | "
             "replay ops/s | coss WA / extstore writes per client byte | errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    for size in sizes:
        sel = dict(workload="w4", cache_mib=size)
        bh = agg(res, m_hit, server="coss", **sel).med
        bb = agg(res, m_bhit, server="coss", **sel).med
        for s in ["coss", "mc-ram", "mc-ext"]:
            h = agg(res, m_hit, server=s, **sel)
            b = agg(res, m_bhit, server=s, **sel)
            wa = agg(res, m_wa if s == "coss" else m_ext_wa, server=s, **sel)
            failed = res.errors(server=s, **sel)
            lines.append("| " + " | ".join([
                f"{size} MiB", s, h.fmt("{:.4f}"),
                "" if s == "coss" else bold(ratio(bh, h.med, "{:.3f}")),
                b.fmt("{:.4f}", False), "" if s == "coss" else ratio(bb, b.med, "{:.3f}"),
                agg(res, m_ops, server=s, **sel).fmt("{:,.0f}", False),
                wa.fmt("{:.3f}", False) if wa.ok else "",
                agg(res, m_errors, server=s, **sel).fmt("{:.0f}", False)
                + (f"; {len(failed)} failed" if failed else "")]) + " |")
    inf = agg(res, m_hit, workload="w4", cache_mib=4096, server="mc-big")
    lines.append(f"| 4 GiB (all fits) | mc-big | {inf.fmt('{:.4f}')} | | "
                 f"{agg(res, m_bhit, workload='w4', cache_mib=4096, server='mc-big').fmt('{:.4f}', False)}"
                 " | | | | |")
    return "\n".join(lines), ram


def ram_table(res):
    lines = ["| server | objects | RSS idle | RSS full | RSS / object | (RSS full - idle) / "
             "object | index bytes / object (coss stats) |", "|---|---|---|---|---|---|---|"]
    for s in ["coss", "mc-big"]:
        r = res.select(workload="ramobj", phase="stats", server=s)
        if not r or r[0].get("error"):
            lines.append(f"| {s} | failed: {r[0].get('error') if r else 'not run'} | | | | | |")
            continue
        r = r[0]
        st = json.load(open(os.path.join(res.out, r["file"])))
        items = st.get("curr_items") or 0
        idle, full = r.get("rss_idle"), r.get("rss_full")
        idx = st.get("coss_index_bytes")
        lines.append("| " + " | ".join([
            s, f"{items:,}", f"{idle / 2**20:,.0f} MiB" if idle else "n/a",
            f"{full / 2**20:,.0f} MiB" if full else "n/a",
            f"{full / items:.1f} B" if full and items else "n/a",
            f"{(full - idle) / items:.1f} B" if full and idle and items else "n/a",
            f"{idx / items:.1f} B" if idx and items else ""]) + " |")
    return "\n".join(lines)


def fio_figures(res):
    out = {}
    for name in ("seqwrite-qd4", "randread-qd1", f"randread-qd{res.sizing['main_conns']}",
                 "randread-qd32"):
        r = res.select(workload="fio", phase=name)
        if not r or r[0].get("error"):
            continue
        try:
            j = json.load(open(os.path.join(res.out, r[0]["file"])))["jobs"][0]
        except (OSError, ValueError, KeyError, IndexError):
            continue
        side = j["write"] if name.startswith("seq") else j["read"]
        out[name] = dict(bw=side["bw_bytes"] / 1e6, iops=side["iops"],
                         lat_us=side["lat_ns"]["mean"] / 1e3)
    return out


def losses_and_wins(res):
    """Every coss / peer comparison of the main rows, sorted into wins and losses."""
    rows = []
    mc = res.sizing["main_conns"]
    checks = [("w1", "small values in RAM", dict(phase="closed", conns=mc)),
              ("w2", "4 KiB, working set 8x RAM", dict(phase="closed", conns=mc)),
              ("w3", "mixed sizes to 512 KiB", dict(phase="closed")),
              ("w5", "write-heavy 50 % sets", dict(phase="closed"))]
    for wl, label, sel in checks:
        for p in PEERS:
            c_ops = agg(res, m_ops, workload=wl, server="coss", **sel).med
            p_ops = agg(res, m_ops, workload=wl, server=p, **sel).med
            c_p99 = agg(res, lat("p99"), workload=wl, server="coss", **sel).med
            p_p99 = agg(res, lat("p99"), workload=wl, server=p, **sel).med
            c_hit = agg(res, m_hit, workload=wl, server="coss", **sel).med
            p_hit = agg(res, m_hit, workload=wl, server=p, **sel).med
            if c_ops is None or p_ops is None:
                continue
            rows.append((wl, label, p, "throughput", c_ops / p_ops, True))
            if c_p99 and p_p99:
                rows.append((wl, label, p, "p99 latency", c_p99 / p_p99, False))
            if c_hit is not None and p_hit:
                rows.append((wl, label, p, "hit ratio", c_hit / p_hit, True))
    for size in res.sizing["trace_sizes_mib"]:
        for p in ["mc-ram", "mc-ext"]:
            c = agg(res, m_hit, workload="w4", cache_mib=size, server="coss").med
            q = agg(res, m_hit, workload="w4", cache_mib=size, server=p).med
            if c is not None and q:
                rows.append(("w4", f"trace at {size} MiB", p, "hit ratio", c / q, True))
    r = res.select(workload="ramobj", phase="stats", server="coss")
    q = res.select(workload="ramobj", phase="stats", server="mc-big")
    if r and q and r[0].get("rss_full") and q[0].get("rss_full"):
        try:
            ci = json.load(open(os.path.join(res.out, r[0]["file"])))["curr_items"]
            mi = json.load(open(os.path.join(res.out, q[0]["file"])))["curr_items"]
            rows.append(("ramobj", "RAM per object (RSS / objects)", "memcached",
                         "bytes", (r[0]["rss_full"] / ci) / (q[0]["rss_full"] / mi), False))
        except (OSError, ValueError, KeyError, ZeroDivisionError):
            pass
    wins, losses, ties = [], [], []
    for wl, label, p, what, r, higher_better in rows:
        good = r > 1.05 if higher_better else r < 1 / 1.05
        bad = r < 1 / 1.05 if higher_better else r > 1.05
        line = f"{label} ({wl}) vs {p}: {what} coss/peer = {r:.2f}"
        (wins if good else losses if bad else ties).append(line)
    return wins, losses, ties


def main():
    out = sys.argv[1]
    res = Results(out)
    c = res.sizing
    mc = c["main_conns"]
    machine = open(os.path.join(out, "machine.txt")).read() if os.path.exists(
        os.path.join(out, "machine.txt")) else "(machine.txt missing)"
    cmds = open(os.path.join(out, "commands.log")).read()
    first = {}
    for line in cmds.splitlines():
        for s, key in (("coss", "cossd "), ("mc-ram", f"-m {c['ram_mib']} -c"),
                       ("mc-big", f"-m {c['big_mib']} -c"), ("mc-ext", "ext_path")):
            if s not in first and key in line and not line.startswith("#"):
                if (s == "coss") != line.split()[0].endswith("/cossd"):
                    continue
                if s == "mc-ram" and "ext_path" in line:
                    continue
                first[s] = line
    try:
        import plots
        made = plots.make_all(res, out)
    except Exception as e:  # plots are a convenience; the tables are the record
        made = {}
        print(f"plots failed: {e}", file=sys.stderr)

    R = []
    w = R.append
    w("# Side by side: coss vs memcached and memcached + extstore (issue 5)\n")
    w("Produced by `bench/side_by_side/run.sh` (orchestration `suite.py`, this report "
      "`report.py`). One load generator, `coss bench` (src/tools/bench), drives every server "
      "the same way; Debian's `memcaslap` is run on the main workloads as a neutral third-party "
      "generator. Figures are **medians over "
      f"{c['reps']} repetitions, with min..max in parentheses**; **coss/peer** is the ratio of "
      "those medians, all measured in this one run. For ops/s and hit ratio a ratio above 1 "
      "favours coss; for latency a ratio below 1 favours coss. Latencies are microseconds as "
      "the client saw them (HDR-style histogram, <= 0.8 % relative error), all operations. "
      "Hit ratios are the client's (hits / gets). The machine is a 2-vCPU VM that other jobs "
      "may share (see the load average): compare within this run, as ratios.\n")
    w("## Machine\n\n```\n" + machine.strip() + "\n```\n")
    w("## Servers and settings\n")
    w("| name | what | command (port added by the suite) |\n|---|---|---|")
    for s in SERVERS:
        w(f"| {s} | {WHAT[s]} | `{first.get(s, 'n/a')}` |")
    w("")
    w(f"- coss uses its defaults otherwise: 1 MiB stripes, 4 membufs, io_uring with O_DIRECT, "
      f"store policy `{default_policy()}`, on-full `wait`. memcached 1.6.18 defaults otherwise (extstore: "
      f"64 MiB pages, 4 MiB write buffers, items > 512 B go to flash). Both servers: 2 worker "
      f"threads (the machine has 2 cores, shared with the client), loopback TCP.")
    w(f"- Client: `coss bench -T 2` (2 threads, epoll), depth 1 (no pipelining) unless noted, "
      f"{c['warmup']} s warm-up then {c['duration']} s measured per point; main rows at "
      f"{mc} connections; sweep over {c['sweep']} connections. Keys `k:<n>`; values from a "
      f"per-key deterministic size. 10 % sets unless noted. Prefill = every key set once "
      f"(pipelined, depth 16), then read once (the read-back hit ratio shows what each server "
      f"kept).")
    w("- All servers of a workload run at once (only one is loaded at a time) and the "
      "repetitions are interleaved across servers. Stores live in a fresh folder under /var/tmp "
      "and are deleted when their server stops; every server is stopped by PID (SIGTERM).")
    w("- Nothing is pinned (no CPU affinity, no cgroup limits) for any server. memcached's "
      "extstore uses buffered I/O, so its reads may be served from the kernel page cache; coss "
      "reads with O_DIRECT and does not use the page cache. The extstore file's page-cache "
      "residency is measured (`fincore`) and shown below.\n")

    wins, losses, ties = losses_and_wins(res)
    w("## Summary\n")
    w("Every main-row comparison, sorted (threshold: 5 %):\n")
    w("**Wins for coss**\n")
    w("\n".join(f"- {x}" for x in wins) or "- none")
    w("\n**Losses for coss**\n")
    w("\n".join(f"- {x}" for x in losses) or "- none")
    w("\n**Within 5 %**\n")
    w("\n".join(f"- {x}" for x in ties) or "- none")
    w("")
    ap = os.path.join(out, "analysis.md")
    if os.path.exists(ap):
        w(open(ap).read().strip() + "\n")
    fails = os.path.join(out, "server_failures.txt")
    errs = [r for r in res.runs if r.get("error")]
    if errs or os.path.exists(fails):
        w("## Failed runs\n")
        for r in errs:
            w(f"- `{r['tag']}` ({r.get('server')}): {r['error'].splitlines()[0][:300]}")
        if os.path.exists(fails):
            w("\n```\n" + open(fails).read().strip() + "\n```")
        w("")

    w(f"## 1. Small values (64-512 B), working set fits in RAM (w1)\n")
    w(f"{c['w1_keys']:,} keys, uniform popularity, values uniform 64-512 B (~{c['w1_keys'] * 288 / 1e6:.0f} MB), "
      f"10 % sets. mc-big is left out here: with everything fitting, it is the same server as "
      f"mc-ram.\n")
    w(f"### Closed loop, {mc} connections\n")
    w(workload_table(res, "w1", ["coss", "mc-ram", "mc-ext"], mc))
    w("\n### Throughput vs connections (ops/s)\n")
    w(sweep_table(res, "w1", ["coss", "mc-ram", "mc-ext"]))
    w("\n### Latency at a fixed offered load (open loop)\n")
    w(open_table(res, "w1", ["coss", "mc-ram", "mc-ext"]))
    w("\n### memcaslap (libmemcached-tools), 2 threads, 8 concurrency, 16 B keys, 64-512 B values, 10 % sets\n")
    w(memcaslap_table(res, "w1", ["coss", "mc-ram", "mc-ext"]))
    w("\n### Prefill\n")
    w(prefill_table(res, "w1", ["coss", "mc-ram", "mc-ext"]))
    w("")

    w(f"## 2. 4 KiB values, working set 8x the RAM tier (w2)\n")
    w(f"{c['w2_keys']:,} keys x 4 KiB = {c['w2_keys'] * 4096 / 2**30:.1f} GiB, RAM tier "
      f"{c['ram_mib']} MiB, store / extstore file {c['store'] / 2**30:.0f} GiB, uniform "
      f"popularity (every get is equally likely to need the disk), 10 % sets.\n")
    w(f"### Closed loop, {mc} connections\n")
    w(workload_table(res, "w2", SERVERS, mc))
    w("\n### Throughput vs connections (ops/s)\n")
    w(sweep_table(res, "w2", SERVERS))
    w("\n### Latency at a fixed offered load (open loop)\n")
    w(open_table(res, "w2", SERVERS))
    w("\n### Storage I/O during the closed-loop runs at "
      f"{mc} connections\n")
    w(io_table(res, "w2", SERVERS, mc))
    w("\n### memcaslap, 2 threads, 8 concurrency, 16 B keys, 4 KiB values, 10 % sets, "
      f"window {max(1000, c['w2_keys'] // mc):,} keys per concurrency\n")
    w(memcaslap_table(res, "w2", SERVERS))
    w("\n### Prefill\n")
    w(prefill_table(res, "w2", SERVERS))
    w("")

    w("## 3. Mixed sizes up to 512 KiB, Zipf 0.9 (w3)\n")
    w(f"{c['w3_keys']:,} keys, Zipf(0.9) popularity, values log-uniform 100 B - 512 KiB "
      f"(mean ~61 KiB, ~{c['w3_keys'] * 61e3 / 1e9:.1f} GB), 10 % sets, {mc} connections.\n")
    w(workload_table(res, "w3", SERVERS, None))
    w("\n" + io_table(res, "w3", SERVERS))
    w("\n### Prefill\n")
    w(prefill_table(res, "w3", SERVERS))
    w("")

    tt, ram = trace_table(res)
    w("## 4. Trace replay: cloudPhysicsIO (oracleGeneral) at three cache sizes (w4)\n")
    w(f"`/work/shared/traces/cloudPhysicsIO.oracleGeneral.bin`: 113,872 reads of 48,974 objects "
      f"(1.9 GiB footprint, 512 B - 68 KiB), look-aside (get; on a miss, set), "
      f"{c['trace_conns']} connections, depth 1, from a cold cache every time. Cache size = coss "
      f"store size with a {ram} MiB RAM tier; mc-ext: the same -m {ram} and an extstore file of "
      f"the cache size; mc-ram: -m {ram} + the cache size, all RAM. The compulsory-miss bound "
      "(every first access misses) is hit ratio 0.570.\n")
    w(tt)
    w("")

    w(f"## 5. Write-heavy: 50 % sets (w5)\n")
    w(f"The w2 key space and servers (4 KiB values, uniform), 50 % sets, {mc} connections.\n")
    w(workload_table(res, "w5", SERVERS, None))
    w("\n" + io_table(res, "w5", SERVERS))
    w("")

    w("## 6. Write amplification\n")
    w("coss: `coss_device_bytes_written / coss_client_bytes_written` from its stats (device "
      "bytes include relocations, stripe headers, directories and padding). memcached + "
      "extstore: `extstore_bytes_written` / key+value bytes the client stored (as counted by "
      "`coss bench`). Both also: storage writes the kernel attributes to the process "
      "(`/proc/<pid>/io` `write_bytes`) / client bytes — includes fsync'd metadata and, for "
      "buffered writers, only what reached the device during the run.\n")
    w("| workload | coss WA (stats) | coss /proc writes / client bytes | mc-ext extstore writes / "
      "client bytes | mc-ext /proc writes / client bytes |")
    w("|---|---|---|---|---|")
    for wl, sel in (("w2", dict(conns=mc, phase="closed")), ("w3", dict(phase="closed")),
                    ("w5", dict(phase="closed"))):
        w(f"| {wl} | {agg(res, m_wa, workload=wl, server='coss', **sel).fmt('{:.3f}')} | "
          f"{agg(res, m_proc_wa, workload=wl, server='coss', **sel).fmt('{:.3f}')} | "
          f"{agg(res, m_ext_wa, workload=wl, server='mc-ext', **sel).fmt('{:.3f}')} | "
          f"{agg(res, m_proc_wa, workload=wl, server='mc-ext', **sel).fmt('{:.3f}')} |")
    for size in c["trace_sizes_mib"]:
        sel = dict(workload="w4", cache_mib=size)
        w(f"| w4 trace {size} MiB | {agg(res, m_wa, server='coss', **sel).fmt('{:.3f}')} | "
          f"{agg(res, m_proc_wa, server='coss', **sel).fmt('{:.3f}')} | "
          f"{agg(res, m_ext_wa, server='mc-ext', **sel).fmt('{:.3f}')} | "
          f"{agg(res, m_proc_wa, server='mc-ext', **sel).fmt('{:.3f}')} |")
    w("")

    w(f"## 7. RAM per cached object ({c['ram_obj_keys']:,} objects, 32 B values)\n")
    w("Prefilled with `coss bench --prefill` (depth 64, 8 connections), keys `k:<n>` (2-9 "
      "digits). coss: -m 64 RAM tier (empty: only disk reads fill it) and a "
      f"{c['ram_obj_store'] / 2**30:.0f} GiB store; memcached: -m 4096. RSS from "
      "/proc/<pid>/status after the fill. Reference: Apache Traffic Server spends 10 B per "
      "directory entry.\n")
    w(ram_table(res))
    w("")

    fio = fio_figures(res)
    w("## 8. Device bandwidth against fio (the physical floor)\n")
    w(f"fio on a {c['fio_size']} file in the same folder as the stores: `--direct=1 "
      "--ioengine=io_uring`; sequential 1 MiB writes at iodepth 4 (coss has 4 membufs), 4 KiB "
      f"random reads at iodepth 1, {mc} (the connections of the main rows) and 32.\n")
    if fio:
        w("| measure | fio | coss in this run | coss / fio |\n|---|---|---|---|")
        sw = fio.get("seqwrite-qd4")
        cw = agg(res, m_dev_write_mbs, workload="w5", server="coss", phase="closed").med
        cw3 = agg(res, m_dev_write_mbs, workload="w3", server="coss", phase="closed").med
        if sw:
            w(f"| sequential write MB/s | {sw['bw']:,.0f} | w5: {cw or 0:,.0f} (device bytes "
              f"written / s) | {ratio(cw, sw['bw'], '{:.3f}')} |")
            w(f"| sequential write MB/s | {sw['bw']:,.0f} | w3: {cw3 or 0:,.0f} | "
              f"{ratio(cw3, sw['bw'], '{:.3f}')} |")
        for qd in ("randread-qd1", f"randread-qd{mc}", "randread-qd32"):
            f = fio.get(qd)
            if f:
                w(f"| 4 KiB random read IOPS ({qd}) | {f['iops']:,.0f} (mean {f['lat_us']:.0f} us) "
                  "| see below | |")
        cr = agg(res, m_dev_read_mbs, workload="w2", server="coss", phase="closed", conns=mc).med
        q = fio.get(f"randread-qd{mc}")
        if cr is not None and q:
            iops = cr * 1e6 / 4096
            w(f"| 4 KiB-equivalent device reads/s, w2 at {mc} conns (depth 1 each) | "
              f"{q['iops']:,.0f} (QD{mc}) | {iops:,.0f} ({cr:,.0f} MB/s read) | "
              f"{ratio(iops, q['iops'], '{:.3f}')} |")
        w("")
    else:
        w("(fio not run)\n")

    if made:
        w("## Plots\n")
        for title, fn in made.items():
            w(f"### {title}\n\n![{title}]({fn})\n")

    w("## Commands\n")
    w("Every command that produced a figure, verbatim, in order (`commands.log`; servers' "
      "ports are chosen free at start, store paths are under a `mktemp -d` folder deleted "
      "afterwards):\n")
    w("```\n" + cmds.strip() + "\n```")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(R) + "\n")


if __name__ == "__main__":
    main()
