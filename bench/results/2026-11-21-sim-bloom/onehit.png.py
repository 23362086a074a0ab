# Written by `coss sim`: plots miss ratio and write amplification against
# cache size from the CSV it wrote. usage: python3 THIS.py RESULTS.csv OUT.png TITLE
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = list(csv.DictReader(open(sys.argv[1])))
series = {}
for r in rows:
    series.setdefault(r["policy"], []).append(
        (float(r["cache_fraction"]) * 100, float(r["miss_ratio"]), float(r["write_amp"])))
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
for name, pts in series.items():
    pts.sort()
    x = [p[0] for p in pts]
    style = "--" if name in ("lru", "fifo") else "-"
    a.plot(x, [p[1] for p in pts], style, marker="o", label=name)
    if name not in ("lru", "fifo"):
        b.plot(x, [p[2] for p in pts], style, marker="o", label=name)
for ax, t in ((a, "miss ratio"), (b, "write amplification (device / stored bytes)")):
    ax.set_xscale("log")
    ax.set_xlabel("cache size, % of footprint")
    ax.set_title(t)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
b.axhline(1.2, color="grey", lw=0.8, ls=":")
fig.suptitle(sys.argv[3], fontsize=10)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
