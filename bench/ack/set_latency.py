#!/usr/bin/python3
"""A set's latency as one client sees it at a fixed offered load, per acknowledgement mode.

    bench/ack/set_latency.py COSSD OUT_DIR [SETS] [RATE]

Starts Debian's memcached and cossd with --write-ack durable, written and
buffered side by side (each on a fresh store in /var/tmp, same -m and -t), then
sends SETS (default 6000) `set` commands of 100-byte values to each, from one
connection per server, in interleaved rounds of 250 (memcached, durable,
written, buffered, memcached, ...) so that the machine's noise falls on all of
them alike. Sets are paced at RATE per second (default 1000; 0: closed loop,
each sent as soon as the previous reply came); a set's latency runs from its
scheduled send time to its reply, so a late reply also delays, and counts
against, the ones behind it. Writes OUT_DIR/report.md with p50, p99 and mean
per server and each p50's and p99's ratio to memcached's. Needs a quiet machine.
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


ROUND = 250


class Client:
    """One connection; collects the latency of every set it sends."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.lat = []
        self.sent = 0

    def run(self, n, rate, record=True):
        value = b"v" * 100
        gap = 1.0 / rate if rate else 0.0
        due = time.perf_counter()
        for _ in range(n):
            if gap:
                early = due - time.perf_counter() - 0.0003
                if early > 0:
                    time.sleep(early)  # then spin the rest: a wake-up's delay is not the server's
                while time.perf_counter() < due:
                    pass
            else:
                due = time.perf_counter()
            self.sock.sendall(b"set k%d 0 0 100\r\n%s\r\n" % (self.sent % 5000, value))
            self.sent += 1
            buf = b""
            while not buf.endswith(b"\r\n"):
                buf += self.sock.recv(64)
            if buf != b"STORED\r\n":
                raise RuntimeError(buf)
            if record:
                self.lat.append((time.perf_counter() - due) * 1e6)
            due += gap

    def summary(self):
        lat = sorted(self.lat)
        return {"p50": lat[len(lat) // 2], "p99": lat[int(len(lat) * 0.99)],
                "mean": statistics.fmean(lat)}


def main():
    cossd, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 6000
    rate = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    os.makedirs(out, exist_ok=True)
    runs = [("memcached", None)] + [(f"cossd --write-ack {m}", m)
                                    for m in ("durable", "written", "buffered")]
    procs, tmps, clients = [], [], {}
    try:
        for name, mode in runs:
            port = free_port()
            tmp = tempfile.mkdtemp(prefix="coss-ack-", dir="/var/tmp")
            tmps.append(tmp)
            if mode is None:
                cmd = ["memcached", "-p", str(port), "-U", "0", "-l", "127.0.0.1", "-m", "64",
                       "-u", "nobody", "-t", "2"]
            else:
                cmd = [cossd, "-p", str(port), "-l", "127.0.0.1", "-m", "64", "-t", "2",
                       "--store", os.path.join(tmp, "s.coss") + ":256m", "--write-ack", mode]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            wait_port(port, proc)
            clients[name] = Client(port)
            clients[name].run(200, rate, record=False)  # warm up
        for _ in range((n + ROUND - 1) // ROUND):
            for c in clients.values():
                c.run(ROUND, rate)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        for tmp in tmps:
            shutil.rmtree(tmp, ignore_errors=True)
    results = {name: c.summary() for name, c in clients.items()}
    for name, r in results.items():
        print(name, {k: round(v, 1) for k, v in r.items()}, flush=True)
    base = results["memcached"]
    lines = [f"# A set's latency, one client per server, {rate or 'closed-loop'} sets/s, "
             "100-byte values\n",
             f"Command: `bench/ack/set_latency.py {cossd} {out} {n} {rate}`\n",
             "| server | p50 µs | p99 µs | mean µs | p50 / memcached | p99 / memcached |",
             "|---|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['p50']:.0f} | {r['p99']:.0f} | {r['mean']:.0f} | "
                     f"{r['p50'] / base['p50']:.2f}x | {r['p99'] / base['p99']:.2f}x |")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
