#!/usr/bin/python3
"""Helpers for bench/http/run.sh (standard library only).

  helper.py gen DIR PREFIX COUNT SIZE        objects DIR/PREFIX/NNNNNN of SIZE random bytes;
                                             prints nothing, writes DIR/PREFIX.paths (one URL
                                             path a line, shuffled: line 1 is the most popular
                                             under the Zipf choice)
  helper.py warm PORT PATHS [CONNS]          GETs every path once, in a random order, over CONNS
                                             keep-alive connections; prints a JSON line (requests,
                                             bytes, seconds, non-200 answers)
  helper.py wrkjson FILE                     the JSON line wrk's done() printed in FILE
  helper.py count-origin LOG PREFIX          origin access log: requests per URL under PREFIX
                                             as JSON (lines, distinct URLs, max per URL)
  helper.py report SCENARIO OUT              OUT/report.md from OUT/raw.jsonl and OUT/meta.json
"""
import http.client
import json
import os
import random
import sys
import threading
import time


def gen(d, prefix, count, size):
    count, size = int(count), int(size)
    sub = os.path.join(d, prefix)
    os.makedirs(sub, exist_ok=True)
    chunk = 1 << 20
    paths = []
    for i in range(count):
        name = "%06d" % i
        p = os.path.join(sub, name)
        paths.append("/%s/%s" % (prefix, name))
        if os.path.exists(p) and os.path.getsize(p) == size:
            continue
        with open(p, "wb") as f:
            left = size
            while left > 0:
                n = min(left, chunk)
                f.write(os.urandom(n))
                left -= n
        os.chmod(p, 0o644)
    random.Random(12345).shuffle(paths)
    with open(os.path.join(d, prefix + ".paths"), "w") as f:
        f.write("\n".join(paths) + "\n")


def warm(port, paths_file, conns=4):
    port, conns = int(port), int(conns)
    paths = [l.strip() for l in open(paths_file) if l.strip()]
    # in an order unrelated to the Zipf ranks (the list's order): an LRU cache warmed from the
    # most to the least popular object would start the run holding the least popular ones
    random.Random(2).shuffle(paths)
    stats = {"requests": 0, "bytes": 0, "non200": 0, "errors": 0}
    lock = threading.Lock()

    def worker(part):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        n = b = bad = err = 0
        for p in part:
            for attempt in range(3):
                try:
                    c.request("GET", p)
                    r = c.getresponse()
                    while True:
                        data = r.read(1 << 20)
                        if not data:
                            break
                        b += len(data)
                    n += 1
                    if r.status != 200:
                        bad += 1
                    if r.will_close:
                        c.close()
                    break
                except (OSError, http.client.HTTPException):
                    err += 1
                    c.close()
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        c.close()
        with lock:
            stats["requests"] += n
            stats["bytes"] += b
            stats["non200"] += bad
            stats["errors"] += err

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker, args=(paths[i::conns],)) for i in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    stats["seconds"] = round(time.monotonic() - t0, 3)
    stats["objects"] = len(paths)
    print(json.dumps(stats))


def wrkjson(path):
    for line in open(path):
        if line.startswith("WRKJSON "):
            print(line[len("WRKJSON "):].strip())
            return
    sys.exit("no WRKJSON line in " + path)


def count_origin(log, prefix):
    per = {}
    lines = 0
    if os.path.exists(log):
        for line in open(log):
            f = line.split()
            if len(f) >= 4 and f[3].startswith("/" + prefix + "/"):
                lines += 1
                per[f[3]] = per.get(f[3], 0) + 1
    print(json.dumps({"lines": lines, "distinct": len(per), "max_per_url": max(per.values(), default=0)}))


def fmt(v, unit):
    if v is None:
        return "n/a"
    if unit == "MB/s":
        return "%.1f" % v
    if unit == "ratio":
        return "%.3f" % v
    return "%.0f" % v


def report(scenario, out):
    meta = json.load(open(os.path.join(out, "meta.json")))
    rows = [json.loads(l) for l in open(os.path.join(out, "raw.jsonl")) if l.strip()]
    titles = {
        "hot": "hot set: 1 KiB objects, uniform random, requests per second",
        "large-set": "large set: 32 KiB objects, several times the memory, Zipf, hits per second",
        "big": "big objects, 4 connections, MB/s",
        "restart": "restart: hit ratio in the first seconds after a clean stop and after kill -9",
    }
    p = []
    p.append("# HTTP caching, side by side: %s\n" % titles.get(scenario, scenario))
    if meta.get("smoke"):
        p.append("**SMOKE RUN (short, small sizes): these figures check the script, they are not results.**\n")
    p.append("Command: `%s`, commit %s, %s.\n" % (meta["command"], meta["commit"], meta["date"]))
    p.append(meta["setup"] + "\n")
    # metrics per scenario: (key, label, unit)
    if scenario == "restart":
        metrics = [("hit_ratio_after_term", "hit ratio, first %s after SIGTERM + restart" % meta["restart_duration"], "ratio"),
                   ("hit_ratio_after_kill9", "hit ratio, first %s after kill -9 + restart" % meta["restart_duration"], "ratio")]
    elif scenario == "hot":
        metrics = [("requests_per_s", "requests/s", "req/s")]
    elif scenario == "large-set":
        metrics = [("hits_per_s", "hits/s (proxy's own counter)", "hits/s")]
    else:
        metrics = [("mb_per_s", "MB/s (10^6 bytes, wrk)", "MB/s")]
    by = {}
    for r in rows:
        by.setdefault(r["server"], {}).update(r)
    servers = [s for s in meta["servers"] if s in by]
    for key, label, unit in metrics:
        p.append("## %s\n" % label)
        base = by.get("cossd", {}).get(key)
        p.append("| server | %s | cossd / server |" % label)
        p.append("|---|---|---|")
        for s in servers:
            v = by[s].get(key)
            if s == "cossd":
                ratio = "—"
            elif base is not None and v:
                ratio = "**%.2fx**" % (base / v)
            else:
                ratio = "n/a"
            p.append("| %s | %s | %s |" % (s, fmt(v, unit), ratio))
        p.append("")
    # details
    p.append("## Details per server\n")
    detail_keys = [k for k in ("requests_per_s", "hits_per_s", "mb_per_s", "hit_ratio", "hits", "requests",
                               "wrk_requests", "wrk_errors", "wrk_non2xx", "latency_p50_ms", "latency_p99_ms",
                               "origin_warm_fetches", "origin_warm_distinct", "origin_warm_max_per_url",
                               "origin_requests_during_run", "warm_seconds", "warm_errors", "ready_after_term_s",
                               "ready_after_kill9_s", "hits_after_term", "requests_after_term",
                               "hits_after_kill9", "requests_after_kill9", "mem_end_rss_mib", "mem_end_cache_mib", "mem_end_shmem_mib", "cgroup_peak_mib",
                               "cgroup_failcnt", "oom_kills", "note")
                   if any(k in by[s] for s in servers)]
    p.append("| server | " + " | ".join(detail_keys) + " |")
    p.append("|---|" + "---|" * len(detail_keys))
    for s in servers:
        cells = []
        for k in detail_keys:
            v = by[s].get(k)
            if v is None:
                cells.append("")
            elif isinstance(v, float):
                cells.append("%.3f" % v if abs(v) < 10 else "%.1f" % v)
            else:
                cells.append(str(v))
        p.append("| %s | %s |" % (s, " | ".join(cells)))
    p.append("")
    warn = []
    for s in servers:
        r = by[s]
        if r.get("note"):
            warn.append("%s: %s" % (s, r["note"]))
        if r.get("oom_kills"):
            warn.append("%s was OOM-killed %d time(s) in its cgroup: its figures are not valid "
                        "(Varnish's manager restarts a killed child, with an empty cache)" % (s, r["oom_kills"]))
        for k in ("wrk_errors", "wrk_non2xx", "warm_errors"):
            if r.get(k):
                warn.append("%s: %s = %s" % (s, k, r[k]))
        for k in ("requests", "requests_after_term", "requests_after_kill9"):
            if k in r and r[k] < 0:
                warn.append("%s: its counters went back (%s = %s): the process restarted during the run" % (s, k, r[k]))
        if r.get("hit_ratio", 0) > 1:
            warn.append("%s: hit ratio above 1: its counters were reset during the run" % s)
        if scenario == "hot" and r.get("origin_warm_max_per_url", 1) > 1:
            warn.append("%s: the origin saw a URL %d times during the warm-up" % (s, r["origin_warm_max_per_url"]))
    if warn:
        p.append("## Warnings\n")
        for w in warn:
            p.append("- **" + w + "**")
        p.append("")
    p.append("## Server command lines\n")
    for s in servers:
        for c in by[s].get("commands", []):
            p.append("- %s: `%s`" % (s, c))
    p.append("")
    p.append("Load: `%s`\n" % meta["wrk_command"])
    p.append("Configs used are in `configs/`, wrk's raw outputs in `raw/`, one JSON line per server "
             "in `raw.jsonl`, the servers' own logs (when not empty) in `raw/`.\n")
    p.append("## Machine\n")
    p.append("```\n%s\n```\n" % meta["machine"].strip())
    notes = meta.get("notes") or []
    if notes:
        p.append("## Notes\n")
        for n in notes:
            p.append("- " + n)
        p.append("")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(p))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"gen": gen, "warm": warm, "wrkjson": wrkjson, "count-origin": count_origin,
     "report": report}[cmd](*args)


if __name__ == "__main__":
    main()
