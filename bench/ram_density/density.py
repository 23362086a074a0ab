#!/usr/bin/python3
"""RAM tier density, side by side with memcached (issue 12, goal 4).

  bench/ram_density/density.py COSSD OUT_DIR [--keys N] [--memory MIB] [--value BYTES]

Starts memcached and cossd with the same -m, two worker threads each, pinned to
the same CPU set, one after the other; stores N keys ("key:%07d", 11 bytes)
with VALUE-byte values over one connection (pipelined noreply sets), then
reads every key back once with 100-key gets. Reports, per server: objects held
in RAM after the sets (memcached curr_items; cossd coss_ram_items), the hits of
the read-back, its duration, and the process's resident memory (VmRSS) after
the sets. cossd's store (1 GiB, under /var/tmp) is large enough to keep every key,
so its read-back also hits what the RAM tier does not hold (from the disk,
through the page cache: this run measures density, not disk speed).
Writes OUT_DIR/report.md and OUT_DIR/results.json.
"""
import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "side_by_side"))
import servers  # noqa: E402  (the side-by-side suite's server starter)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def until(self, term):
        while term not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError(self.buf[-200:])
            self.buf += d
        i = self.buf.index(term) + len(term)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def stats(self):
        self.send(b"stats\r\n")
        out = {}
        for line in self.until(b"END\r\n").split(b"\r\n"):
            parts = line.split(b" ", 2)
            if len(parts) == 3 and parts[0] == b"STAT":
                out[parts[1].decode()] = parts[2].decode()
        return out


def run(server, keys, value, items_stat):
    """Starts `server` (servers.Server) on CPUs 0-1, stores and reads back."""
    server.argv = ["taskset", "-c", "0,1"] + server.argv
    server.start()
    try:
        c = Conn(server.port)
        t0 = time.time()
        batch = []
        for i in range(keys):
            k = b"key:%07d" % i
            batch.append(b"set %s 0 0 %d noreply\r\n%s\r\n" % (k, len(value), value))
            if len(batch) == 1000:
                c.send(b"".join(batch))
                batch = []
        c.send(b"".join(batch) + b"version\r\n")
        c.until(b"\r\n")
        set_s = time.time() - t0
        items = int(c.stats()[items_stat])
        rss = servers.rss_bytes(server.pid) or 0
        t0 = time.time()
        hits = 0
        for start in range(0, keys, 100):
            ks = b" ".join(b"key:%07d" % i for i in range(start, min(keys, start + 100)))
            c.send(b"get " + ks + b"\r\n")
            hits += c.until(b"END\r\n").count(b"VALUE ")
        get_s = time.time() - t0
        return {"server": server.kind, "items_in_ram": items, "read_back_hits": hits,
                "read_back_seconds": round(get_s, 2), "set_seconds": round(set_s, 2),
                "rss_mib": round(rss / (1 << 20), 1), "argv": " ".join(server.argv)}
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cossd")
    ap.add_argument("out")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--memory", type=int, default=64)
    ap.add_argument("--value", type=int, default=100)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    value = b"v" * a.value
    tmp = tempfile.mkdtemp(prefix="coss-density-", dir="/var/tmp")
    log = lambda line: None  # noqa: E731 (the command lines are in results.json)
    try:
        mc = run(servers.memcached("mc", tmp, tmp, log, a.memory), a.keys, value, "curr_items")
        co = run(servers.cossd(os.path.abspath(a.cossd), "coss", tmp, tmp, log, a.memory, "1g",
                               extra=("--checkpoint", "none")),
                 a.keys, value, "coss_ram_items")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = co["items_in_ram"] / mc["items_in_ram"]
    res = {"keys": a.keys, "value_bytes": a.value, "memory_mib": a.memory,
           "ratio_items_cossd_over_memcached": round(ratio, 3), "runs": [mc, co]}
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write(f"# RAM tier density: {a.keys} keys of 11 bytes, {a.value}-byte values, -m {a.memory}\n\n")
        f.write("Command: `bench/ram_density/density.py " + " ".join(sys.argv[1:]) + "`\n\n")
        f.write("| server | objects in RAM | read-back hits | read-back s | sets s | RSS MiB |\n")
        f.write("|---|---|---|---|---|---|\n")
        for r in (mc, co):
            f.write(f"| {r['server']} | {r['items_in_ram']} | {r['read_back_hits']} | "
                    f"{r['read_back_seconds']} | {r['set_seconds']} | {r['rss_mib']} |\n")
        f.write(f"\ncossd / memcached objects in RAM: **{ratio:.2f}x**\n")
    print(open(os.path.join(a.out, "report.md")).read())


if __name__ == "__main__":
    main()
