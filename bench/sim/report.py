#!/usr/bin/env python3
"""Builds report.md of a `coss sim` matrix run (bench/sim/run.sh).

usage: report.py OUT_DIR DEFAULT_POLICY "GOAL WORKLOADS"

Reads OUT_DIR/<workload>.csv and .json (written by `coss sim --out`), and
writes OUT_DIR/report.md: the goal check of issue 6 for the default policy
(miss ratio vs exact LRU on every (workload, size) pair, write amplification
<= 1.2 beside classic COSS's), a scoreboard of every policy against the same
goals, per-workload tables with the PNGs, and re-reference histograms.
"""
import csv
import json
import os
import sys

out, default = sys.argv[1], sys.argv[2]
goal = sys.argv[3].split() if len(sys.argv) > 3 else []
ORDER = ["trace", "zipf0.8", "zipf1.0", "zipf1.2", "scan", "onehit", "ttl"]
names = [w for w in ORDER if os.path.exists(os.path.join(out, w + ".csv"))]
names += sorted(f[:-4] for f in os.listdir(out)
                if f.endswith(".csv") and f[:-4] not in names)
rows, meta = {}, {}
for w in names:
    rows[w] = list(csv.DictReader(open(os.path.join(out, w + ".csv"))))
    meta[w] = json.load(open(os.path.join(out, w + ".json")))
goal = [w for w in goal if w in rows] or names


def f(r, k):
    return float(r[k])


def size_label(r):
    return "%g%%" % round(f(r, "cache_fraction") * 100, 3)


def sizes(w):
    seen = []
    for r in rows[w]:
        if r["cache_bytes"] not in seen:
            seen.append(r["cache_bytes"])
    return seen


def find(w, policy, cache_bytes):
    for r in rows[w]:
        if r["policy"] == policy and r["cache_bytes"] == cache_bytes:
            return r
    return None


def delta(r, lru):
    return (f(r, "miss_ratio") - f(lru, "miss_ratio")) / f(lru, "miss_ratio")


def mib(b):
    return "%.1f MiB" % (float(b) / 2**20)


def score(policy, ws):
    """(pairs, pairs <= lru, worst delta, max write amp) over workloads ws."""
    n = ok = 0
    worst, wa = -1e9, 0.0
    for w in ws:
        for cb in sizes(w):
            r, lru = find(w, policy, cb), find(w, "lru", cb)
            if r is None or lru is None:
                continue
            d = delta(r, lru)
            n += 1
            ok += d <= 1e-12
            worst = max(worst, d)
            wa = max(wa, f(r, "write_amp"))
    return n, ok, worst, wa


L = []
p = L.append
p("# coss sim: relocation and admission policies, measured (issue 6)\n")
p("Produced by `bench/sim/run.sh`; every figure below comes from the CSV/JSON next to this "
  "file, written by the `coss sim` commands in [commands.log](commands.log). Machine and "
  "source: [machine.txt](machine.txt).\n")
p("**Accounting.** " + meta[names[0]]["accounting"] + "\n")
p("Replay: look-aside (get; on a miss, insert the object). Miss ratio counts gets; write "
  "amplification (WA) = device bytes written ÷ object bytes of every insert the replay asked "
  "for. Δ vs LRU = (miss − miss_LRU) / miss_LRU, relative.\n")

# --- goal check for the default
p("## Goal check: default policy `%s` against exact LRU\n" % default)
p("Goals (issue 6): miss ratio ≤ exact LRU on ≥ 90 % of the (workload, size) pairs and never "
  "more than 2 % worse; WA ≤ 1.2 on every pair, with classic COSS (`always`) beside it.\n")
p("| workload | size | LRU miss | FIFO miss | `%s` miss | Δ vs LRU | ≤ LRU? | WA `%s` | WA classic COSS |"
  % (default, default))
p("|---|---|---|---|---|---|---|---|---|")
for w in goal:
    for cb in sizes(w):
        lru, fifo = find(w, "lru", cb), find(w, "fifo", cb)
        d, c = find(w, default, cb), find(w, "always", cb)
        if lru is None or d is None:
            continue
        dl = delta(d, lru)
        verdict = "yes" if dl <= 1e-12 else ("within 2 %" if dl <= 0.02 else "**no**")
        p("| %s | %s | %.4f | %s | %.4f | %+.2f %% | %s | %.3f | %s |" % (
            w, size_label(lru), f(lru, "miss_ratio"),
            "%.4f" % f(fifo, "miss_ratio") if fifo else "-", f(d, "miss_ratio"), 100 * dl,
            verdict, f(d, "write_amp"), "%.3f" % f(c, "write_amp") if c else "-"))
n, ok, worst, wa = score(default, goal)
if n:
    p("\n**Default `%s`: ≤ LRU on %d of %d pairs (%.0f %%; goal ≥ 90 %%); worst Δ %+.2f %% (goal "
      "≤ +2 %%); max WA %.3f (goal ≤ 1.2).** %s\n" % (
          default, ok, n, 100.0 * ok / n, 100 * worst, wa,
          "All goals met." if ok >= 0.9 * n and worst <= 0.02 and wa <= 1.2
          else "Not every goal is met: see the rows marked **no** and the WA column."))

# --- scoreboard of every policy
pols = []
for w in names:
    for r in rows[w]:
        if r["policy"] not in pols and r["policy"] != "lru":
            pols.append(r["policy"])
p("## Scoreboard: every policy against the same goals (goal workloads: %s)\n" % ", ".join(goal))
p("| policy | pairs | ≤ LRU | worst Δ vs LRU | mean Δ vs LRU | max WA | mean WA |")
p("|---|---|---|---|---|---|---|")
for pol in pols:
    ds, was = [], []
    for w in goal:
        for cb in sizes(w):
            r, lru = find(w, pol, cb), find(w, "lru", cb)
            if r is None or lru is None:
                continue
            ds.append(delta(r, lru))
            was.append(f(r, "write_amp"))
    if not ds:
        continue
    p("| `%s` | %d | %d | %+.2f %% | %+.2f %% | %.3f | %.3f |" % (
        pol, len(ds), sum(d <= 1e-12 for d in ds), 100 * max(ds), 100 * sum(ds) / len(ds),
        max(was), sum(was) / len(was)))
p("\n(lru/fifo WA is 1 by construction: they write each admitted object once and carry no "
  "headers.)\n")

# --- per workload
p("## Per workload\n")
for w in names:
    m = meta[w]
    buckets = m["objects_by_requests"]
    pop = ", ".join("%s: %.1f %%" % ("1" if i == 0 else ">=%d" % (1 << i) if i == len(buckets) - 1
                                      else "%d-%d" % (1 << i, (2 << i) - 1),
                                      100.0 * c / max(1, m["objects"]))
                    for i, c in enumerate(buckets) if c and 100.0 * c / max(1, m["objects"]) >= 0.1)
    p("### %s%s\n" % (w, "" if w in goal else " (extra, not in the goal set)"))
    p("`%s` — %d requests, %d objects, footprint %s, largest object %d B. Objects by number of "
      "requests: %s.\n" % (m["workload"], m["requests"], m["objects"], mib(m["footprint_bytes"]),
                           m["max_object_bytes"], pop))
    p("| policy | cache | stripe | miss | byte miss | Δ vs LRU | WA | relocated | fmt | evicted never read | replay s |")
    p("|---|---|---|---|---|---|---|---|---|---|---|")
    for cb in sizes(w):
        lru = find(w, "lru", cb)
        for r in rows[w]:
            if r["cache_bytes"] != cb:
                continue
            ev = sum(int(r[k]) for k in r if k.startswith("reref_"))
            p("| `%s` | %s (%s) | %s | %.4f | %.4f | %s | %.3f | %s | %s | %s | %.1f |" % (
                r["policy"], mib(cb), size_label(r),
                "%d KiB" % (int(r["stripe_size"]) // 1024) if int(r["stripe_size"]) else "-",
                f(r, "miss_ratio"), f(r, "byte_miss_ratio"),
                "-" if r["policy"] == "lru" or lru is None else "%+.2f %%" % (100 * delta(r, lru)),
                f(r, "write_amp"), mib(r["relocated_bytes"]),
                "%.3f" % f(r, "format_overhead") if f(r, "format_overhead") else "-",
                "%.1f %%" % (100.0 * int(r["reref_0"]) / ev) if ev else "-", f(r, "seconds")))
    p("\n![%s](%s.png)\n" % (w, w))

# --- re-reference histograms at the middle size
p("## Re-reference histograms\n")
p("Objects evicted, by reads while cached (0, 1, 2-3, 4-7, ...; the engine's 4-bit log "
  "counter, exact for the baselines), at the middle cache size of each workload — the "
  "diary's question: how many objects are written and never read again?\n")
for w in names:
    szs = sizes(w)
    cb = szs[len(szs) // 2]
    sel = [r for r in rows[w] if r["cache_bytes"] == cb]
    if not sel:
        continue
    p("**%s at %s**\n" % (w, size_label(sel[0])))
    p("| policy | evicted | 0 | 1 | 2-3 | 4-7 | 8-15 | ≥16 |")
    p("|---|---|---|---|---|---|---|---|")
    for r in sel:
        b = [int(r["reref_%d" % (0 if i == 0 else 1 << (i - 1))]) for i in range(16)]
        ev = sum(b)
        if not ev:
            continue
        cols = b[:5] + [sum(b[5:])]
        p("| `%s` | %d | %s |" % (r["policy"], ev,
                                  " | ".join("%.1f %%" % (100.0 * c / ev) for c in cols)))
    p("")

# --- replay speed
p("## Replay speed\n")
p("Wall seconds of each engine replay (single thread; %s jobs ran in parallel on the "
  "machine's cores):\n" % "two")
p("| workload | requests | slowest engine replay (s) | fastest (s) |")
p("|---|---|---|---|")
for w in names:
    es = [f(r, "seconds") for r in rows[w] if int(r["stripe_size"])]
    if es:
        p("| %s | %d | %.1f | %.1f |" % (w, meta[w]["requests"], max(es), min(es)))
p("")
open(os.path.join(out, "report.md"), "w").write("\n".join(L) + "\n")
