#!/usr/bin/python3
"""A set's latency as one waiting client sees it, per acknowledgement mode.

    bench/ack/set_latency.py COSSD OUT_DIR [SETS]

Starts memcached (Debian's) and cossd with --write-ack durable, written and
buffered, one after the other, each on a fresh store in /var/tmp, and sends
SETS (default 3000) `set` commands of 100-byte values from one connection,
each waiting for its reply (closed loop: latency, not throughput). Writes
OUT_DIR/report.md with p50, p99 and mean per server, and the ratio of each
p50 and p99 to memcached's. Needs a quiet machine.
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc):
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not listen")


def measure(port, n):
    c = socket.create_connection(("127.0.0.1", port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    value = b"v" * 100
    lat = []
    for i in range(n + 200):  # the first 200 warm up
        req = b"set k%d 0 0 100\r\n%s\r\n" % (i % 5000, value)
        t0 = time.perf_counter()
        c.sendall(req)
        buf = b""
        while not buf.endswith(b"\r\n"):
            buf += c.recv(64)
        if buf != b"STORED\r\n":
            raise RuntimeError(buf)
        if i >= 200:
            lat.append((time.perf_counter() - t0) * 1e6)
    c.close()
    lat.sort()
    return {"p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99)],
            "mean": statistics.fmean(lat)}


def main():
    cossd, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 3000
    os.makedirs(out, exist_ok=True)
    runs = [("memcached", None)] + [(f"cossd --write-ack {m}", m)
                                    for m in ("durable", "written", "buffered")]
    results = {}
    for name, mode in runs:
        port = free_port()
        tmp = tempfile.mkdtemp(prefix="coss-ack-", dir="/var/tmp")
        if mode is None:
            cmd = ["memcached", "-p", str(port), "-U", "0", "-l", "127.0.0.1", "-m", "64",
                   "-u", "nobody", "-t", "2"]
        else:
            cmd = [cossd, "-p", str(port), "-l", "127.0.0.1", "-m", "64", "-t", "2",
                   "--store", os.path.join(tmp, "s.coss") + ":256m", "--write-ack", mode]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port, proc)
            results[name] = measure(port, n)
        finally:
            proc.terminate()
            proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)
        print(name, {k: round(v, 1) for k, v in results[name].items()}, flush=True)
    base = results["memcached"]
    lines = ["# A set's latency, one waiting client, 100-byte values\n",
             f"Command: `bench/ack/set_latency.py {cossd} {out} {n}`\n",
             "| server | p50 µs | p99 µs | mean µs | p50 / memcached | p99 / memcached |",
             "|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['p50']:.0f} | {r['p99']:.0f} | {r['mean']:.0f} | "
                     f"{r['p50'] / base['p50']:.2f}x | {r['p99'] / base['p99']:.2f}x |")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
