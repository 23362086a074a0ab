"""Overload actors shared by tests/server/test_overload.py (seconds) and
bench/soak/soak.py (minutes). Not a test itself (no test_ prefix).

Every actor is a thread on its own loopback connection(s) that runs until
`stop` is set and counts what it saw in `self.n` (a dict of counters):

  Writer      pipelined sets (replies read, so --on-full busy refusals are
              seen) with self-describing values, up to a byte budget; keeps the
              last acknowledged version of each key for the final check.
  SlowReader  pipelines gets of big objects and never reads a byte.
  Vanisher    connects, sends half a command line or half a value or a big
              get, and goes away (FIN or RST); never completes a set.
  Flood       opens more connections than the -c limit allows, holds the
              accepted ones for a while, counts the refused ones.
  Checker     a well-behaved client: gets known objects and checks them,
              set/get of its own key; records its latencies.

memory_bound() states what the server may hold at most for a configuration.
"""
import errno
import random
import socket
import struct
import threading
import time

MIB = 1 << 20
TOO_MANY = b"ERROR Too many open connections\r\n"


def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def proc_kib(pid, field):
    """VmRSS / VmHWM of a process in KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Reader:
    """Buffered reads of exact byte counts / lines from a socket."""

    def __init__(self, s):
        self.s, self.buf = s, bytearray()

    def fill(self):
        d = self.s.recv(262144)
        if not d:
            raise EOFError(bytes(self.buf[:200]))
        self.buf += d

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i + 2])
                del self.buf[:i + 2]
                return out
            self.fill()

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


def stats(port=None, sock=None, reader=None):
    """`stats` as a dict of strings (on a fresh connection unless given one)."""
    own = sock is None
    if own:
        sock = connect(port)
        reader = Reader(sock)
    try:
        sock.sendall(b"stats\r\n")
        out = {}
        while True:
            line = reader.line()
            if line == b"END\r\n":
                return out
            _, k, v = line.decode().rstrip("\r\n").split(" ", 2)
            out[k] = v
    finally:
        if own:
            sock.close()


# --- the objects stored before the overload ---------------------------------

def known_set(n, max_size, seed=7):
    """n keys with values from 1 byte to max_size (log-spread), random bytes."""
    rnd = random.Random(seed)
    out = {}
    for i in range(n):
        size = max(1, int(max_size ** (i / max(1, n - 1))))
        out[b"known:%d" % i] = rnd.randbytes(size)
    return out


def store_all(port, objects):
    """Plain sets, one reply each (durable with --write-ack durable)."""
    s = connect(port)
    r = Reader(s)
    try:
        for k, v in objects.items():
            for attempt in range(100):  # --on-full busy may refuse while the disk lags
                s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(v), v))
                line = r.line()
                if not line.startswith(b"SERVER_ERROR out of memory"):
                    break
                time.sleep(0.01)
            if line != b"STORED\r\n":
                raise AssertionError(f"set {k!r}: {line!r}")
    finally:
        s.close()


def verify_all(port, objects, batch=50):
    """Gets every key; returns (served exactly, [problems])."""
    s = connect(port, timeout=30)
    r = Reader(s)
    ok, bad = 0, []
    keys = list(objects)
    try:
        for i in range(0, len(keys), batch):
            part = keys[i:i + batch]
            s.sendall(b"get " + b" ".join(part) + b"\r\n")
            got = {}
            while True:
                line = r.line()
                if line == b"END\r\n":
                    break
                f = line.split()
                got[f[1]] = r.exact(int(f[3]) + 2)[:-2]
            for k in part:
                want = objects[k]
                if k not in got:
                    bad.append((k, "missing"))
                elif got[k] != want:
                    bad.append((k, f"wrong value ({len(got[k])} bytes, want {len(want)})"))
                else:
                    ok += 1
    finally:
        s.close()
    return ok, bad


# --- writer values: "key:version:" then a fill byte that depends on both ---

def writer_value(key, ver, size):
    head = b"%s:%d:" % (key, ver)
    fill = 65 + (ver * 7 + len(key)) % 26
    return head + bytes([fill]) * max(0, size - len(head))


def writer_value_ok(key, v):
    """v is some version of key's writer value (keys look like w<n>:<i>)."""
    parts = v.split(b":", 3)
    if len(parts) < 4 or b"%s:%s" % (parts[0], parts[1]) != key or not parts[2].isdigit():
        return False
    return v == writer_value(key, int(parts[2]), len(v))


class Actor(threading.Thread):
    def __init__(self, name, stop):
        super().__init__(name=name, daemon=True)
        self.stop = stop
        self.n = {}
        self.error = None

    def count(self, k, d=1):
        self.n[k] = self.n.get(k, 0) + d

    def run(self):
        try:
            self.body()
        except Exception as e:  # noqa: BLE001 - reported by the caller
            if not self.stop.is_set():
                self.error = f"{type(e).__name__}: {e}"


class Writer(Actor):
    """Sets of `sizes` values over `nkeys` keys, `batch` per round trip, until
    `budget` value bytes were acknowledged or stop. `rate`: bytes/s cap (None:
    as fast as the server takes them). `bursts`: (on_s, off_s, max_bytes):
    writes only in the first on_s of every on_s + off_s seconds, at most
    max_bytes per window (None: no cap), as fast as the server takes them."""

    def __init__(self, stop, port, idx, budget, sizes, nkeys=100, batch=16, rate=None,
                 bursts=None, seed=0):
        super().__init__(f"writer{idx}", stop)
        self.port, self.idx, self.budget, self.sizes = port, idx, budget, sizes
        self.nkeys, self.batch, self.rate, self.bursts = nkeys, batch, rate, bursts
        self.rnd = random.Random(seed * 1000 + idx)
        self.acked = {}  # key -> (version, size) of the last STORED
        self.bytes_acked = 0
        self.budget_reached_at = None  # time.monotonic() when the budget ran out

    def body(self):
        s = connect(self.port, timeout=120)
        r = Reader(s)
        ver = 0
        t0 = time.monotonic()
        burst_window, burst_start = -1, 0
        while not self.stop.is_set() and self.bytes_acked < self.budget:
            if self.bursts:
                on, off, cap = self.bursts
                since = time.monotonic() - t0
                window = int(since // (on + off))
                if window != burst_window:
                    burst_window, burst_start = window, self.bytes_acked
                if since % (on + off) >= on or (cap and self.bytes_acked - burst_start >= cap):
                    self.stop.wait(0.02)
                    continue
            sent = []
            req = []
            for _ in range(self.batch):
                key = b"w%d:%d" % (self.idx, self.rnd.randrange(self.nkeys))
                ver += 1
                size = self.rnd.choice(self.sizes)
                req.append(b"set %s 0 0 %d\r\n%s\r\n" % (key, size, writer_value(key, ver, size)))
                sent.append((key, ver, size))
            s.sendall(b"".join(req))
            for key, v, size in sent:
                line = r.line()
                if line == b"STORED\r\n":
                    self.acked[key] = (v, size)
                    self.bytes_acked += size
                    self.count("stored")
                elif line.startswith(b"SERVER_ERROR out of memory"):
                    self.count("busy")
                else:
                    raise AssertionError(f"set {key!r}: {line!r}")
            if self.rate:
                ahead = self.bytes_acked / self.rate - (time.monotonic() - t0)
                if ahead > 0:
                    self.stop.wait(ahead)
        self.count("bytes", self.bytes_acked)
        if self.bytes_acked >= self.budget:
            self.budget_reached_at = time.monotonic()
        s.close()

    def expected(self):
        return {k: writer_value(k, v, size) for k, (v, size) in self.acked.items()}


class SlowReader(Actor):
    """Sends gets of `keys` (several per line, or meta gets) until its socket
    is full or `max_bytes` were sent, then sits there without reading."""

    def __init__(self, stop, port, idx, keys, meta=False, max_bytes=8 * MIB):
        super().__init__(f"slow{idx}", stop)
        self.port, self.keys, self.meta, self.max_bytes = port, keys, meta, max_bytes
        self.sock = None

    def body(self):
        self.sock = s = connect(self.port)
        s.sendall(b"mn\r\n")  # refused at the -c limit? then there is nothing to do
        first = Reader(s).line()
        if first == TOO_MANY:
            self.count("refused")
            s.close()
            return
        if first != b"MN\r\n":
            raise AssertionError(f"slow reader: {first!r}")
        s.setblocking(False)
        if self.meta:
            one = b"".join(b"mg %s v k\r\n" % k for k in self.keys)
        else:
            one = b"get " + b" ".join(self.keys) + b"\r\n"
        sent = 0
        pending = b""
        while not self.stop.is_set() and sent < self.max_bytes:
            if not pending:
                pending = one * 16
            try:
                n = s.send(pending)
                sent += n
                pending = pending[n:]
                continue
            except BlockingIOError:
                pass
            self.stop.wait(0.05)
        self.count("request_bytes", sent)
        self.stop.wait()
        # leaves without reading anything (the server has replies queued)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()


class Vanisher(Actor):
    """Clients that go away mid-request, one after the other."""

    def __init__(self, stop, port, idx, big_keys, pause=0.005, seed=0):
        super().__init__(f"vanish{idx}", stop)
        self.port, self.idx, self.big_keys, self.pause = port, idx, big_keys, pause
        self.rnd = random.Random(seed * 1000 + 500 + idx)
        self.keys_begun = set()  # sets begun and never finished

    def body(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            kind = i % 5
            try:
                s = connect(self.port)
            except OSError:
                self.count("connect_failed")
                self.stop.wait(0.05)
                continue
            try:
                if kind == 0:  # half a value
                    key = b"vanished:%d:%d" % (self.idx, i)
                    self.keys_begun.add(key)
                    n = self.rnd.randint(1000, 200000)
                    s.sendall(b"set %s 0 0 %d\r\n" % (key, n) + b"v" * (n // 2))
                elif kind == 1:  # half a command line
                    s.sendall(b"get known:1 known:2 kno")
                elif kind == 2:  # a big get, then gone before the replies
                    s.sendall(b"get " + b" ".join(self.rnd.sample(self.big_keys,
                                                                  min(8, len(self.big_keys)))) +
                              b"\r\n")
                elif kind == 3:  # a set header only (the value never comes)
                    key = b"vanished:%d:%d" % (self.idx, i)
                    self.keys_begun.add(key)
                    s.sendall(b"set %s 0 0 5000\r\n" % key)
                else:  # a meta set with half its value, then RST
                    key = b"vanished:%d:%d" % (self.idx, i)
                    self.keys_begun.add(key)
                    s.sendall(b"ms %s 3000 T0\r\n" % key + b"m" * 1500)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.setblocking(False)
                try:
                    d = s.recv(64)  # the -c limit may have refused us
                    if d.startswith(b"ERROR Too many"):
                        self.count("refused")
                except (BlockingIOError, ConnectionResetError):
                    pass
                self.count("vanished")
            except OSError as e:
                if e.errno not in (errno.EPIPE, errno.ECONNRESET):
                    raise
                self.count("refused_or_reset")
            finally:
                s.close()
            self.stop.wait(self.pause)


class Flood(Actor):
    """Every `period` s, opens `n` connections; each accepted one must answer a
    no-op, each refused one must say TOO_MANY and close. Holds the accepted
    ones for `hold` s, then closes them."""

    def __init__(self, stop, port, n, hold, period, start_delay=0.5):
        super().__init__("flood", stop)
        self.port, self.nconn, self.hold, self.period = port, n, hold, period
        self.start_delay = start_delay

    def body(self):
        if self.stop.wait(self.start_delay):
            return
        while not self.stop.is_set():
            t0 = time.monotonic()
            held = []
            for _ in range(self.nconn):
                s = connect(self.port)
                held.append(s)
            accepted = []
            for s in held:
                s.sendall(b"mn\r\n")
            for s in held:
                r = Reader(s)
                try:
                    line = r.line()
                except (EOFError, ConnectionResetError):
                    line = b""
                if line == b"MN\r\n":
                    accepted.append(s)
                    self.count("accepted")
                elif line == TOO_MANY:
                    self.count("refused")
                    s.settimeout(5)
                    try:
                        if s.recv(1) == b"":
                            self.count("refused_closed")
                    except ConnectionResetError:
                        self.count("refused_closed")
                    s.close()
                else:
                    raise AssertionError(f"flood: unexpected {line!r}")
            self.count("rounds")
            self.stop.wait(self.hold)
            for s in accepted:
                s.close()
            self.stop.wait(max(0.0, self.period - (time.monotonic() - t0)))


class Checker(Actor):
    """A well-behaved client during the overload."""

    def __init__(self, stop, port, known, writers=(), seed=0):
        super().__init__("checker", stop)
        self.port, self.known, self.writers = port, known, writers
        self.rnd = random.Random(seed + 99)
        self.lat = []

    def body(self):
        s = connect(self.port, timeout=60)
        r = Reader(s)
        keys = list(self.known)
        i = 0
        last = None  # the checker's own key: last value acknowledged
        while not self.stop.is_set():
            i += 1
            t0 = time.monotonic()
            k = self.rnd.choice(keys)
            s.sendall(b"get %s\r\n" % k)
            line = r.line()
            want = self.known[k]
            if line != b"VALUE %s 0 %d\r\n" % (k, len(want)):
                raise AssertionError(f"checker: get {k!r}: {line!r}")
            if r.exact(len(want) + 7) != want + b"\r\nEND\r\n":
                raise AssertionError(f"checker: get {k!r}: wrong value")
            mine = b"checker-%d" % i
            s.sendall(b"set checker 0 0 %d\r\n%s\r\nget checker\r\n" % (len(mine), mine))
            line = r.line()
            if line == b"STORED\r\n":
                last = mine
            elif line.startswith(b"SERVER_ERROR out of memory"):  # --on-full busy
                self.count("own_set_refused")
            else:
                raise AssertionError(f"checker: set: {line!r}")
            want = (b"VALUE checker 0 %d\r\n%s\r\nEND\r\n" % (len(last), last) if last
                    else b"END\r\n")
            got = r.exact(len(want))
            if got != want:
                raise AssertionError(f"checker: own key: {got!r}, want {want!r}")
            # a writer's key: absent or self-consistent
            if self.writers:
                w = self.rnd.choice(self.writers)
                wk = b"w%d:%d" % (w.idx, self.rnd.randrange(w.nkeys))
                s.sendall(b"get %s\r\n" % wk)
                line = r.line()
                if line != b"END\r\n":
                    v = r.exact(int(line.split()[3]) + 7)[:-7]
                    if not writer_value_ok(wk, v):
                        raise AssertionError(f"checker: {wk!r} holds a foreign value {v[:40]!r}")
                    self.count("writer_values_checked")
            self.lat.append(time.monotonic() - t0)
            self.count("rounds")
            self.stop.wait(0.01)
        s.close()


def memory_bound(cfg, base_kib, index_bytes, policy_bytes=0, slack_mib=16):
    """Upper bound on the server's RSS (bytes) for configuration `cfg` (a dict:
    conn_limit, conn_output_limit, max_item, max_line,
    max_get_line, ram, membufs, stripe, devices) with the process measured at
    `base_kib` right after start and the index at `index_bytes`:

      base                    code, libraries, threads, allocator at start (measured)
      ram                     -m, the RAM tier (its charge is close to its footprint)
      index                   coss_index_bytes (largest seen)
      policy                  coss_policy_bytes (admission's ghost, largest seen)
      store buffers           membufs x (stripe + max item) per device (a run may span
                              stripes when a value does not fit one)
      per connection x -c     unsent replies and reads in flight up to conn-output-limit
                              (reads are paced by their sizes from the store's index),
                              plus one read let through unpaced (max item), plus the
                              read buffer and the requests queued behind a running one
                              (< 3 x (max-line + max item + 2))
      slack                   allocator arenas and fragmentation, journal,
                              reinsertion reads (stated, not derived)
    Returns (total, components) with components as {name: bytes}.
    """
    bound_in = max(cfg["max_line"] + cfg["max_item"] + 2, cfg["max_get_line"])
    per_conn = cfg["conn_output_limit"] + cfg["max_item"] + 3 * bound_in
    comp = {
        "base (measured at start)": base_kib * 1024,
        "RAM tier (-m)": cfg["ram"],
        "index (coss_index_bytes)": index_bytes,
        "admission ghost (coss_policy_bytes)": policy_bytes,
        "store buffers (membufs x (stripe + max item))":
            cfg["devices"] * cfg["membufs"] * (cfg["stripe"] + cfg["max_item"]),
        f"connections ({cfg['conn_limit']} x {per_conn} B)": cfg["conn_limit"] * per_conn,
        "slack (stated)": slack_mib * MIB,
    }
    return sum(comp.values()), comp
