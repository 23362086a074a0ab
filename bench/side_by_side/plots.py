"""PNG plots of the side-by-side suite (called by report.py).

make_all(res, out) draws, with matplotlib (Agg), into OUT:
  throughput_vs_connections.png   closed-loop ops/s vs connections (w1, w2), median and min..max
  latency_cdf.png                 open-loop latency CDF and tail (w1, w2), the median-p99 repetition
  hit_ratio_vs_cache_size.png     trace replay hit ratio per cache size (w4)
  write_amplification.png         device / client bytes per workload
and returns {title: file name}. Without matplotlib it falls back to gnuplot
for the two line plots that matter most (throughput, hit ratio), if installed.
"""
import os
import shutil
import statistics
import subprocess

import report as R

COLORS = {"coss": "#d62728", "mc-ram": "#1f77b4", "mc-big": "#2ca02c", "mc-ext": "#9467bd"}


def series_sweep(res, wl, server):
    xs, med, lo, hi = [], [], [], []
    for c in res.sizing["sweep"]:
        a = R.agg(res, R.m_ops, workload=wl, phase="closed", conns=c, server=server)
        if a.ok:
            xs.append(c)
            med.append(a.med)
            lo.append(a.med - min(a.vals))
            hi.append(max(a.vals) - a.med)
    return xs, med, lo, hi


def series_trace(res, server):
    xs, med, lo, hi = [], [], [], []
    for size in res.sizing["trace_sizes_mib"]:
        a = R.agg(res, R.m_hit, workload="w4", cache_mib=size, server=server)
        if a.ok:
            xs.append(size)
            med.append(a.med)
            lo.append(a.med - min(a.vals))
            hi.append(max(a.vals) - a.med)
    return xs, med, lo, hi


def median_cdf(res, wl, server):
    docs = []
    for r in res.select(workload=wl, phase="open", server=server):
        d = res.doc(r)
        if d and not r.get("error"):
            docs.append(d)
    if not docs:
        return None
    docs.sort(key=lambda d: d["result"]["latency_us"]["all"]["p99"])
    return docs[len(docs) // 2]["result"]["cdf_us"]


def make_all(res, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return gnuplot_fallback(res, out)
    made = {}

    # 1. throughput vs connections
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, wl, title in ((axes[0], "w1", "w1: 64-512 B, fits in RAM"),
                          (axes[1], "w2", "w2: 4 KiB, working set 8x RAM tier")):
        for s in R.SERVERS:
            xs, med, lo, hi = series_sweep(res, wl, s)
            if xs:
                ax.errorbar(xs, med, yerr=[lo, hi], marker="o", capsize=3, label=s,
                            color=COLORS[s])
        ax.set_xscale("log", base=2)
        ax.set_xticks(res.sizing["sweep"])
        ax.set_xticklabels([str(c) for c in res.sizing["sweep"]])
        ax.set_xlabel("connections (depth 1)")
        ax.set_ylabel("ops/s (median, min..max)")
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "throughput_vs_connections.png"), dpi=110)
    plt.close(fig)
    made["Throughput vs connections"] = "throughput_vs_connections.png"

    # 2. latency CDF (open loop, same offered load)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for col, wl in enumerate(("w1", "w2")):
        rate = next((r.get("rate") for r in res.select(workload=wl, phase="open")), None)
        for s in R.SERVERS:
            cdf = median_cdf(res, wl, s)
            if not cdf:
                continue
            qs = [q for q, _ in cdf]
            us = [max(v, 1e-3) for _, v in cdf]
            axes[0][col].plot(us, qs, label=s, color=COLORS[s])
            tail = [(v, 1 - q) for q, v in cdf if q < 1]
            axes[1][col].plot([max(v, 1e-3) for v, _ in tail], [t for _, t in tail], label=s,
                              color=COLORS[s], marker=".")
        axes[0][col].set_title(f"{wl}: open loop at {rate:,} req/s" if rate else wl)
        for row in (0, 1):
            axes[row][col].set_xscale("log")
            axes[row][col].set_xlabel("latency (us)")
            axes[row][col].grid(alpha=0.3, which="both")
            axes[row][col].legend()
        axes[0][col].set_ylabel("fraction of requests <= x")
        axes[1][col].set_yscale("log")
        axes[1][col].set_ylabel("fraction of requests > x (tail)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "latency_cdf.png"), dpi=110)
    plt.close(fig)
    made["Latency CDF (open loop)"] = "latency_cdf.png"

    # 3. hit ratio vs cache size
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for s in ("coss", "mc-ram", "mc-ext"):
        xs, med, lo, hi = series_trace(res, s)
        if xs:
            ax.errorbar(xs, med, yerr=[lo, hi], marker="o", capsize=3, label=s, color=COLORS[s])
    inf = R.agg(res, R.m_hit, workload="w4", cache_mib=4096, server="mc-big")
    if inf.ok:
        ax.axhline(inf.med, color=COLORS["mc-big"], ls="--", label="mc-big (everything fits)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(res.sizing["trace_sizes_mib"])
    ax.set_xticklabels([f"{s} MiB" for s in res.sizing["trace_sizes_mib"]])
    ax.set_xlabel("cache size (coss store / extstore file / extra RAM)")
    ax.set_ylabel("hit ratio (client, look-aside replay)")
    ax.set_title("cloudPhysicsIO trace replay")
    ax.set_ylim(0, 0.65)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "hit_ratio_vs_cache_size.png"), dpi=110)
    plt.close(fig)
    made["Hit ratio vs cache size"] = "hit_ratio_vs_cache_size.png"

    # 4. write amplification
    mc = res.sizing["main_conns"]
    groups = [("w2", dict(workload="w2", phase="closed", conns=mc)),
              ("w3", dict(workload="w3", phase="closed")),
              ("w5", dict(workload="w5", phase="closed"))]
    groups += [(f"trace {s}M", dict(workload="w4", cache_mib=s))
               for s in res.sizing["trace_sizes_mib"]]
    bars = [("coss (stats)", "coss", R.m_wa, COLORS["coss"]),
            ("coss (/proc io)", "coss", R.m_proc_wa, "#ff9896"),
            ("mc-ext (extstore stats)", "mc-ext", R.m_ext_wa, COLORS["mc-ext"]),
            ("mc-ext (/proc io)", "mc-ext", R.m_proc_wa, "#c5b0d5")]
    fig, ax = plt.subplots(figsize=(10, 4.2))
    width = 0.8 / len(bars)
    for i, (label, server, metric, color) in enumerate(bars):
        xs, ys = [], []
        for g, (_, sel) in enumerate(groups):
            a = R.agg(res, metric, server=server, **sel)
            if a.ok:
                xs.append(g + (i - (len(bars) - 1) / 2) * width)
                ys.append(a.med)
        ax.bar(xs, ys, width=width, label=label, color=color)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g for g, _ in groups])
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_ylabel("bytes written to storage / bytes clients stored")
    ax.set_title("Write amplification (median)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "write_amplification.png"), dpi=110)
    plt.close(fig)
    made["Write amplification"] = "write_amplification.png"
    return made


def gnuplot_fallback(res, out):
    if not shutil.which("gnuplot"):
        return {}
    made = {}
    data = os.path.join(out, "plot-data")
    os.makedirs(data, exist_ok=True)
    lines = []
    for s in R.SERVERS:
        xs, med, _, _ = series_sweep(res, "w2", s)
        if xs:
            fn = os.path.join(data, f"sweep-w2-{s}.dat")
            with open(fn, "w") as f:
                f.writelines(f"{x} {y}\n" for x, y in zip(xs, med))
            lines.append(f"'{fn}' using 1:2 with linespoints title '{s}'")
    if lines:
        script = ("set terminal png size 800,500; set output '" +
                  os.path.join(out, "throughput_vs_connections.png") +
                  "'; set logscale x 2; set xlabel 'connections'; set ylabel 'ops/s'; plot " +
                  ", ".join(lines))
        subprocess.run(["gnuplot", "-e", script], check=False)
        made["Throughput vs connections (w2)"] = "throughput_vs_connections.png"
    lines = []
    for s in ("coss", "mc-ram", "mc-ext"):
        xs, med, _, _ = series_trace(res, s)
        if xs:
            fn = os.path.join(data, f"trace-{s}.dat")
            with open(fn, "w") as f:
                f.writelines(f"{x} {y}\n" for x, y in zip(xs, med))
            lines.append(f"'{fn}' using 1:2 with linespoints title '{s}'")
    if lines:
        script = ("set terminal png size 800,500; set output '" +
                  os.path.join(out, "hit_ratio_vs_cache_size.png") +
                  "'; set logscale x 2; set xlabel 'cache MiB'; set ylabel 'hit ratio'; plot " +
                  ", ".join(lines))
        subprocess.run(["gnuplot", "-e", script], check=False)
        made["Hit ratio vs cache size"] = "hit_ratio_vs_cache_size.png"
    return made
