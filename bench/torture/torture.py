#!/usr/bin/env python3
"""Crash torture for cossd: drive it with real clients while recording what it
acknowledged, SIGKILL it at random moments, restart it on the same store, and
check every key: a hit must carry the latest acknowledged value (or the value of
the one write that was in flight when the server died); a miss is always
allowed; an older value, a deleted value or corrupt bytes are failures.

usage: torture.py --cossd PATH [--cycles N] [--clients C] [--keys K]
                  [--min-run S] [--max-run S] [--store-size 64m] [--seed N] [--dir D]
                  [--cossd-arg=--write-ack=buffered ...]
Exit status 0 when every check passed, 1 on a violation (printed), 2 on setup errors.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ABSENT = ("absent",)


def value_for(key, serial, rng):
    body = f"{key}:{serial}:".encode()
    return body + bytes([97 + (serial + i) % 26 for i in range(rng.randint(16, 6000))])


def parse_serial(key, data):
    head = data.split(b":", 2)
    if len(head) < 3 or head[0].decode() != key:
        return None
    serial = int(head[1])
    expect = head[0] + b":" + head[1] + b":" + bytes([97 + (serial + i) % 26 for i in range(len(head[2]))])
    return serial if expect == data else None


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def exact(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def get(self, key):
        self.s.sendall(b"get " + key.encode() + b"\r\n")
        l = self.line()
        if l == b"END":
            return None
        parts = l.split()
        assert parts[0] == b"VALUE", l
        data = self.exact(int(parts[3]) + 2)[:-2]
        assert self.line() == b"END"
        return data


class Server:
    def __init__(self, cossd, tmp, store_size):
        self.cossd, self.tmp = cossd, tmp
        self.port = None
        self.args = ["-t", "2", "-m", "4", "--membufs", "2",
                     "--store", os.path.join(tmp, "store.coss") + ":" + store_size]
        self.proc = None

    def start(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        log = open(os.path.join(self.tmp, "cossd.log"), "ab")
        self.proc = subprocess.Popen([self.cossd, "-p", str(self.port)] + self.args, stdout=log, stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                with open(os.path.join(self.tmp, "cossd.log"), "rb") as f:
                    tail = f.read()[-2000:].decode(errors="replace")
                raise RuntimeError("cossd exited:\n" + tail)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("cossd did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def client(port, keys, record, inflight, stop, rng, counter):
    try:
        c = Conn(port)
    except OSError:
        return
    while not stop.is_set():
        key = rng.choice(keys)
        if rng.random() < 0.8:
            counter[0] += 1
            serial = counter[0]
            val = value_for(key, serial, rng)
            inflight[key] = serial
            try:
                c.s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key.encode(), len(val), val))
                reply = c.line()
            except (OSError, ConnectionError):
                return  # the server died with this write in flight
            if reply == b"STORED":
                record[key] = serial
            del inflight[key]
        else:
            inflight[key] = ABSENT
            try:
                c.s.sendall(b"delete %s\r\n" % key.encode())
                reply = c.line()
            except (OSError, ConnectionError):
                return
            if reply in (b"DELETED", b"NOT_FOUND"):
                record[key] = ABSENT
            del inflight[key]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cossd", required=True)
    ap.add_argument("--cycles", type=int, default=20)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--keys", type=int, default=400, help="keys per client")
    ap.add_argument("--min-run", type=float, default=0.2)
    ap.add_argument("--max-run", type=float, default=1.5)
    ap.add_argument("--store-size", default="64m")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", default=os.environ.get("COSS_TEST_DIR", "/var/tmp"))
    ap.add_argument("--cossd-arg", action="append", default=[], help="extra cossd argument (repeatable)")
    a = ap.parse_args()
    if not os.access(a.cossd, os.X_OK):
        print(f"torture: {a.cossd} is not executable", file=sys.stderr)
        return 2
    rng = random.Random(a.seed)
    tmp = tempfile.mkdtemp(prefix="coss-torture-", dir=a.dir)
    server = Server(a.cossd, tmp, a.store_size)
    server.args += a.cossd_arg
    record = {}  # key -> serial acknowledged last, or ABSENT
    counter = [0]
    keysets = [[f"c{t}k{i}" for i in range(a.keys)] for t in range(a.clients)]
    totals = {"hits": 0, "misses": 0, "checked": 0, "acked": 0}
    try:
        server.start()
        for cycle in range(a.cycles):
            stop = threading.Event()
            inflights = [dict() for _ in range(a.clients)]
            threads = [threading.Thread(target=client, args=(server.port, keysets[t], record, inflights[t], stop,
                                                             random.Random(rng.random()), counter))
                       for t in range(a.clients)]
            before = counter[0]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(a.min_run, a.max_run))
            server.kill()  # SIGKILL while clients are writing
            stop.set()
            for t in threads:
                t.join()
            totals["acked"] += counter[0] - before
            server.start()
            c = Conn(server.port)
            for t in range(a.clients):
                for key in keysets[t]:
                    got = c.get(key)
                    totals["checked"] += 1
                    want = record.get(key, ABSENT)
                    maybe = inflights[t].get(key)
                    if got is None:
                        totals["misses"] += 1
                        record[key] = ABSENT  # gone now; it must not come back later
                        continue
                    totals["hits"] += 1
                    serial = parse_serial(key, got)
                    if serial is None:
                        print(f"FAIL cycle {cycle}: {key}: corrupt bytes ({len(got)} bytes)")
                        return 1
                    if serial != want and serial != maybe:
                        print(f"FAIL cycle {cycle}: {key}: served write #{serial}; acknowledged state "
                              f"{'deleted' if want == ABSENT else '#' + str(want)}, in flight {maybe}")
                        return 1
                    record[key] = serial
            c.s.close()
            print(f"cycle {cycle + 1}/{a.cycles}: ok ({totals['checked']} checks so far)", flush=True)
        print(f"torture: {a.cycles} SIGKILL cycles, {totals['acked']} writes sent, {totals['checked']} key "
              f"checks: {totals['hits']} hits with the acknowledged value, {totals['misses']} misses, 0 violations")
        return 0
    finally:
        if server.proc and server.proc.poll() is None:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
