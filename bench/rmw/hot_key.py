#!/usr/bin/python3
"""Read-modify-write on one hot key, side by side with memcached.

    bench/rmw/hot_key.py COSSD OUT_DIR [CONNS] [INCRS] [ROUNDS]

Starts Debian's memcached and cossd (each -t 2 -m 64, cossd on a fresh store in
/var/tmp, its default --write-ack), sets one counter, then CONNS connections
(default 8) each send INCRS `incr` commands (default 5000) on that key, all
pipelined at once, and read every reply. Pipelined mode sends a connection's
commands in one write; request/response mode (INCRS / 2.5 per connection)
sends each after the previous reply. Rounds alternate between the servers.
Reports per server and mode: seconds for the whole batch (median of ROUNDS,
default 3), replies that were not a number (e.g. SERVER_ERROR), and whether
the counter ended at the exact total. $COSSD_ARGS adds options to cossd's
command line (e.g. --write-ack written for a build whose default differs).
Writes OUT_DIR/report.md. Needs a quiet machine.
"""
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "side_by_side"))
from servers import Server  # noqa: E402


def recv_lines(s, n):
    buf, lines = b"", []
    while len(lines) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
        *done, buf = buf.split(b"\r\n")
        lines += done
    return lines


def one_batch(port, conns, incrs, pipelined):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"set hot 0 0 1\r\n0\r\n")
    recv_lines(c, 1)
    bad = []

    def client():
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if pipelined:
            s.sendall(b"incr hot 1\r\n" * incrs)
            lines = recv_lines(s, incrs)
        else:
            lines = []
            for _ in range(incrs):
                s.sendall(b"incr hot 1\r\n")
                lines += recv_lines(s, 1)
        bad.extend(x for x in lines if not x.isdigit())
        s.close()

    threads = [threading.Thread(target=client) for _ in range(conns)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    c.sendall(b"get hot\r\n")
    lines = recv_lines(c, 3)
    c.close()
    exact = lines[1] == str(conns * incrs - len(bad)).encode()
    return secs, len(bad), exact


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    cossd, out = sys.argv[1], sys.argv[2]
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    incrs = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(dir="/var/tmp")
    extra = os.environ.get("COSSD_ARGS", "").split()

    def log(_line):
        pass

    margs = ["memcached", "-l", "127.0.0.1", "-U", "0", "-t", "2", "-m", "64"]
    if os.geteuid() == 0:
        margs += ["-u", "nobody"]
    cargs = [cossd, "-l", "127.0.0.1", "-t", "2", "-m", "64", "--store",
             tmp + "/store.coss:256m"] + extra
    servers = {"memcached": Server("memcached", "memcached", margs, tmp, log),
               "cossd": Server("cossd", "coss", cargs, tmp, log)}
    try:
        for srv in servers.values():
            srv.start()
        modes = [("pipelined", True, incrs), ("request/response", False, max(1, int(incrs / 2.5)))]
        results = {}
        for _ in range(rounds):
            for mode, pipelined, n in modes:
                for name, srv in servers.items():
                    results.setdefault((name, mode), []).append(
                        one_batch(srv.port, conns, n, pipelined))
        lines = ["# incr on one key from %d connections, side by side" % conns, "",
                 "Command: `%sbench/rmw/hot_key.py %s %s %d %d %d`" % (
                     "COSSD_ARGS='%s' " % " ".join(extra) if extra else "", cossd, out, conns, incrs,
                     rounds),
                 "", "| server | mode | incr per connection | seconds (median of %d) | "
                 "failed replies (all rounds) | counter exact every round |" % rounds,
                 "|---|---|---|---|---|---|"]
        for (name, mode), rs in results.items():
            n = dict((m, k) for m, _, k in modes)[mode]
            lines.append("| %s | %s | %d | %.3f | %d | %s |" % (
                name, mode, n, statistics.median(r[0] for r in rs), sum(r[1] for r in rs),
                "yes" if all(r[2] for r in rs) else "no"))
        text = "\n".join(lines) + "\n"
        with open(os.path.join(out, "report.md"), "w") as f:
            f.write(text)
        print(text)
    finally:
        for srv in servers.values():
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
