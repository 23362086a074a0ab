#!/usr/bin/env python3
"""Three cossd behind nutcracker (twemproxy), on loopback.

* Differential: the same command streams (every memcached command nutcracker
  forwards) sent through the proxy to three nodes and straight to one
  standalone cossd give the same replies (CAS values normalised).
* Balance: keys set through the proxy land on exactly the node the ketama
  model (ketama.py) predicts, each node holds a fair share.
* Failure: a SIGKILLed node is ejected, the others keep serving, its keys miss;
  restarted on its store it is put back after server_retry_timeout and serves
  its keys again.
* scripts/cluster.sh start / status / stop / start (warm) and its errors.

The nodes use harness.Server (tests/server/harness.py); nutcracker is started
here with a configuration derived from deploy/nutcracker/coss-cluster.yml.
Figures (balance, error counts, timings) are printed for docs/OPERATIONS.md.
"""
import os
import re
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "server"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from ketama import Ring  # noqa: E402

EXAMPLE = os.path.join(ROOT, "deploy", "nutcracker", "coss-cluster.yml")
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")
NUTCRACKER = shutil.which("nutcracker") or "/usr/sbin/nutcracker"
# A missing proxy fails the tests (scripts/deps.sh installs it); it never skips them.
assert os.access(NUTCRACKER, os.X_OK), f"nutcracker is not installed ({NUTCRACKER}): run scripts/deps.sh"
NAMES = ["coss-a", "coss-b", "coss-c"]


def proxy_config(listen_port, node_ports, retry_ms=None):
    """The example configuration with this test's ports (and retry timeout)."""
    with open(EXAMPLE) as f:
        text = f.read()
    text, n = re.subn(r"(?m)^(  listen: 127\.0\.0\.1:)\d+$", rf"\g<1>{listen_port}", text)
    assert n == 1, "example: listen line not found"
    for name, port in zip(NAMES, node_ports):
        text, n = re.subn(rf"(?m)^(    - 127\.0\.0\.1:)\d+(:1 {name})$", rf"\g<1>{port}\g<2>", text)
        assert n == 1, f"example: server line of {name} not found"
    if retry_ms is not None:
        text, n = re.subn(r"(?m)^(  server_retry_timeout: )\d+$", rf"\g<1>{retry_ms}", text)
        assert n == 1
    return text


def example_setting(key):
    with open(EXAMPLE) as f:
        m = re.search(rf"(?m)^  {key}: (\S+)$", f.read())
    return m.group(1)


class Proxy:
    """nutcracker as a child process (dies with the test)."""

    def __init__(self, tmp, node_ports, retry_ms=None):
        self.port = harness.free_port()
        self.stats_port = harness.free_port()
        self.conf = os.path.join(tmp, "nutcracker.yml")
        self.log_path = os.path.join(tmp, "nutcracker.log")
        with open(self.conf, "w") as f:
            f.write(proxy_config(self.port, node_ports, retry_ms))
        self.proc = None

    def start(self, timeout=10):
        self.proc = subprocess.Popen(
            [NUTCRACKER, "-c", self.conf, "-s", str(self.stats_port), "-a", "127.0.0.1",
             "-o", self.log_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=harness._die_with_parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nutcracker exited with {self.proc.returncode}: {self.read_log()}")
            try:
                c = self.connect(timeout=1)
                c.send(b"get probe\r\n")
                if c.line() == b"END\r\n":
                    c.close()
                    return self
                c.close()
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nutcracker did not answer: " + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def connect(self, timeout=5):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return harness.Conn(s)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Cluster:
    """Three harness.Server nodes behind one Proxy, in one temporary folder."""

    def __init__(self, node_args=(), retry_ms=None, store_size="64m"):
        self.tmp = tempfile.mkdtemp(prefix="coss-cluster-test-", dir=harness.TMP_BASE)
        self.nodes = []
        for name in NAMES:
            d = os.path.join(self.tmp, name)
            os.mkdir(d)
            self.nodes.append(harness.Server(node_args, store_size=store_size, tmpdir=d, threads=1))
        self.proxy = Proxy(self.tmp, [n.port for n in self.nodes], retry_ms)
        self.ring = Ring([(name, 1) for name in NAMES])

    def start(self):
        try:
            for n in self.nodes:
                n.start()
            self.proxy.start()
        except Exception:
            self.cleanup()
            raise
        return self

    def node(self, name):
        return self.nodes[NAMES.index(name)]

    def cleanup(self):
        self.proxy.stop()
        for n in self.nodes:
            n.stop()
            n.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- reading replies structurally (nutcracker supports no meta commands, so
# there is no mn sentinel: each command's reply shape is known from its verb)

def read_reply(conn, command):
    line = command.split(b"\r\n", 1)[0]
    words = line.split()
    verb = words[0]
    if words[-1] == b"noreply":
        return b""
    if verb in (b"get", b"gets"):
        out = b""
        while True:
            ln = conn.line()
            out += ln
            if ln.startswith(b"VALUE "):
                out += conn.read_exact(int(ln.split()[3]) + 2)
                continue
            return out
    if verb == b"quit":
        return b"<EOF>" if conn.is_closed(5) else b"<open>"
    return conn.line()


class CasNames:
    """Replaces each key's CAS values by <n> in order of first appearance for
    that key, so replies compare equal when every key's CAS changes at the
    same points. (Per key: each node numbers its own CAS values, so values of
    keys on different nodes say nothing about each other.)"""

    def __init__(self):
        self.names = {}
        self.last = None

    def __call__(self, reply):
        def sub(m):
            key, v = m.group(2), m.group(3)
            self.last = v
            seen = self.names.setdefault(key, {})
            if v not in seen:
                seen[v] = b"<%d>" % len(seen)
            return m.group(1) + seen[v] + b"\r\n"
        return re.sub(rb"(VALUE (\S+) \d+ \d+ )(\d+)\r\n", sub, reply)


BIG = b"".join(bytes([i % 251]) for i in range(200_000))
MIB = b"m" * (1 << 20)
K250 = b"k" * 241  # + the 9-byte case prefix = 250

# (name, [steps]); a step is a list of commands sent pipelined in one write.
# {k} is a per-case key prefix, {cas} the last CAS value this connection saw.
MULTI = [b"{k}%d.%d" % (i, i * 7919) for i in range(24)]  # spread over the 3 nodes
CASES = [
    ("set_get", [[b"set {k}a 0 0 1\r\nx\r\n", b"get {k}a\r\n", b"get {k}a {k}nope {k}a\r\n"],
                 [b"set {k}b 4294967295 0 5\r\nhello\r\n", b"get {k}b\r\n"],
                 [b"set {k}e 7 0 0\r\n\r\n", b"get {k}e\r\n", b"set {k}a 3 0 2\r\nyz\r\n",
                  b"get {k}a\r\n"]]),
    ("multi_get", [[b"set %s %d 0 6\r\nval-%02d\r\n" % (k, i, i) for i, k in enumerate(MULTI)],
                   [b"get " + b" ".join(MULTI) + b" {k}missing\r\n"],
                   [b"gets " + b" ".join(MULTI[::-1]) + b"\r\n"],
                   [b"get {k}missing1 {k}missing2\r\n",
                    b"gets %s %s %s\r\n" % (MULTI[3], MULTI[3], MULTI[17])]]),
    ("add_replace", [[b"add {k}a 0 0 1\r\nq\r\n", b"add {k}a 0 0 1\r\nr\r\n",
                      b"replace {k}b 0 0 1\r\nq\r\n", b"replace {k}a 3 0 2\r\nzz\r\n",
                      b"get {k}a {k}b\r\n"]]),
    ("append_prepend", [[b"append {k}a 0 0 1\r\nx\r\n", b"prepend {k}a 0 0 1\r\nx\r\n"],
                        [b"set {k}a 9 0 1\r\nm\r\n", b"append {k}a 5 5 2\r\nyz\r\n",
                         b"prepend {k}a 0 0 1\r\nw\r\n", b"get {k}a\r\n"]]),
    ("cas", [[b"set {k}a 5 0 3\r\nabc\r\n", b"gets {k}a\r\n"],
             [b"cas {k}a 7 0 2 {cas}\r\nxy\r\n"], [b"cas {k}a 7 0 2 {cas}\r\nzz\r\n"],
             [b"gets {k}a\r\n"], [b"cas {k}nope 0 0 1 5\r\nx\r\n", b"cas {k}a 1 0 1 {cas} noreply\r\nq\r\n",
                                   b"gets {k}a\r\n"]]),
    ("incr_decr", [[b"incr {k}n 1\r\n", b"decr {k}n 1\r\n", b"set {k}n 0 0 2\r\n10\r\n",
                    b"incr {k}n 5\r\n", b"decr {k}n 100\r\n", b"get {k}n\r\n"],
                   [b"incr {k}n 18446744073709551615\r\n", b"incr {k}n 1\r\n", b"get {k}n\r\n"],
                   [b"set {k}m 0 0 20\r\n18446744073709551615\r\n", b"incr {k}m 1\r\n", b"get {k}m\r\n"],
                   [b"set {k}x 0 0 3\r\n1ab\r\n", b"incr {k}x 1\r\n", b"decr {k}x 1\r\n"],
                   [b"set {k}w 0 0 3\r\n100\r\n", b"decr {k}w 1\r\n", b"get {k}w\r\n"]]),
    ("delete", [[b"delete {k}a\r\n", b"set {k}a 0 0 1\r\nx\r\n", b"delete {k}a\r\n",
                 b"delete {k}a\r\n", b"get {k}a\r\n"]]),
    ("touch", [[b"touch {k}a 10\r\n", b"set {k}a 0 0 1\r\nx\r\n", b"touch {k}a 100\r\n",
                b"get {k}a\r\n", b"touch {k}a 0\r\n", b"get {k}a\r\n"],
               [b"touch {k}a -1\r\n", b"get {k}a\r\n"]]),
    ("noreply", [[b"set {k}a 0 0 1 noreply\r\nx\r\n", b"add {k}a 0 0 1 noreply\r\ny\r\n",
                  b"get {k}a\r\n"],
                 [b"replace {k}a 0 0 1 noreply\r\nz\r\n", b"append {k}a 0 0 1 noreply\r\n1\r\n",
                  b"prepend {k}a 0 0 1 noreply\r\n0\r\n", b"get {k}a\r\n"],
                 [b"set {k}n 0 0 1 noreply\r\n5\r\n", b"incr {k}n 3 noreply\r\n",
                  b"decr {k}n 1 noreply\r\n", b"get {k}n\r\n"],
                 [b"touch {k}n 100 noreply\r\n", b"delete {k}a noreply\r\n", b"get {k}a {k}n\r\n"]]),
    ("expiry", [[b"set {k}b 0 2592000 1\r\nx\r\n", b"get {k}b\r\n", b"set {k}c 0 4102444800 1\r\nx\r\n",
                 b"get {k}c\r\n", b"set {k}d 0 1000000000 1\r\nx\r\n", b"get {k}d\r\n"]]),
    ("binary", [[b"set {k}a 0 0 7\r\n\x00\r\n\xff\n\r\x01\r\n", b"get {k}a\r\n"],
                [b"set {k}" + K250 + b" 1 0 3\r\nlng\r\n", b"get {k}" + K250 + b"\r\n"]]),
    ("large", [[b"set {k}big 3 0 %d\r\n%s\r\n" % (len(BIG), BIG), b"get {k}big\r\n"],
               [b"set {k}mib 4 0 %d\r\n%s\r\n" % (len(MIB), MIB), b"get {k}mib {k}big\r\n"],
               [b"append {k}big 0 0 3\r\nend\r\n", b"get {k}big\r\n"]]),
    ("version_quit", [[b"version\r\n"], [b"get {k}a\r\n", b"quit\r\n"]]),
]


class ThroughProxy(unittest.TestCase):
    """One cluster and one standalone node for the differential and balance
    tests (the tests use disjoint keys)."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster().start()
        cls.single = harness.Server(threads=1)
        try:
            cls.single.start()
        except Exception:
            cls.single.cleanup()
            cls.cluster.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.cleanup()
        rc = cls.single.stop()
        cls.single.cleanup()
        assert rc == 0, f"standalone cossd exited with {rc}"

    def run_case(self, idx, name, steps):
        prefix = b"c%02d_%-5s" % (idx, name[:5].encode())  # 9 bytes
        prefix = prefix.replace(b" ", b"_")
        out = {}
        for target, conn in (("proxy", self.cluster.proxy.connect()),
                             ("single", self.single.connect())):
            names = CasNames()
            replies = []
            try:
                for step in steps:
                    cmds = []
                    for c in step:
                        c = c.replace(b"{k}", prefix)
                        if b"{cas}" in c:
                            c = c.replace(b"{cas}", names.last or b"0")
                        cmds.append(c)
                    conn.send(b"".join(cmds))
                    replies.append([names(read_reply(conn, c)) for c in cmds])
            finally:
                conn.close()
            out[target] = replies
        return out

    def test_differential(self):
        """Every forwarded command: same replies through the proxy as from one node."""
        for idx, (name, steps) in enumerate(CASES):
            with self.subTest(case=name):
                out = self.run_case(idx, name, steps)
                for i, (p, s) in enumerate(zip(out["proxy"], out["single"])):
                    self.assertEqual(p, s, f"case {name} step {i}")
                # and the replies are the meaningful ones, not two equal errors
                flat = b"".join(b"".join(r) for r in out["single"])
                self.assertNotIn(b"ERROR", flat.replace(b"CLIENT_ERROR cannot increment or decrement"
                                                        b" non-numeric value", b""), name)
        # the multi-key get really crossed nodes
        keys = [k.replace(b"{k}", b"c01_multi") for k in MULTI]
        self.assertEqual(len({self.cluster.ring.node(k) for k in keys}), 3)

    def test_proxy_rejects(self):
        """What nutcracker 0.5.0 does not forward: it closes the client
        connection without a reply (a single cossd answers each of these)."""
        rejected = [b"stats\r\n", b"flush_all\r\n", b"verbosity 1\r\n", b"mg foo v\r\n",
                    b"gat 10 foo\r\n", b"foo\r\n", b"get " + b"k" * 251 + b"\r\n",
                    b"set neg 0 -1 1\r\nx\r\n", b"delete foo 0\r\n"]
        for req in rejected:
            with self.subTest(req=req[:20]):
                c = self.cluster.proxy.connect()
                c.send(req)
                self.assertTrue(c.is_closed(5), req)
                c.close()
                d = self.single.connect()
                d.send(req)
                self.assertNotEqual(d.s.recv(65536), b"", req)  # an answer, not a close
                d.close()

    def test_balance_and_placement(self):
        """3000 keys through the proxy: each on exactly the node ketama says."""
        from pymemcache.client.base import Client
        keys = [f"user:{i}:profile" for i in range(3000)]
        values = {k: f"v{i}".encode() * 4 for i, k in enumerate(keys)}
        proxy = Client(("127.0.0.1", self.cluster.proxy.port), connect_timeout=5, timeout=10)
        self.assertEqual(proxy.set_many(values, noreply=False), [])
        got = proxy.get_many(keys)
        proxy.close()
        self.assertEqual(got, values)
        where = {}
        counts = {}
        for name, node in zip(NAMES, self.cluster.nodes):
            c = Client(("127.0.0.1", node.port), connect_timeout=5, timeout=10)
            held = c.get_many(keys)
            c.close()
            counts[name] = len(held)
            for k, v in held.items():
                self.assertEqual(v, values[k])
                where.setdefault(k, []).append(name)
        for k in keys:
            self.assertEqual(where.get(k), [self.cluster.ring.node(k.encode())], k)
        # memcstat (libmemcached-tools) on each node agrees
        items = {}
        for name, node in zip(NAMES, self.cluster.nodes):
            p = subprocess.run(["memcstat", f"--servers=127.0.0.1:{node.port}"],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 0, p.stderr)
            items[name] = int(re.search(r"curr_items: (\d+)", p.stdout).group(1))
            self.assertGreaterEqual(items[name], counts[name])
        shares = ", ".join(f"{n} {counts[n]} ({100 * counts[n] / len(keys):.1f} %)" for n in NAMES)
        print(f"\nbalance of {len(keys)} keys: {shares}")
        for n in NAMES:
            self.assertGreaterEqual(counts[n], 0.15 * len(keys), shares)

    def test_memcached_tools(self):
        """memccp / memccat through the proxy; the file lands on the predicted node."""
        with tempfile.TemporaryDirectory(dir=harness.TMP_BASE) as d:
            path = os.path.join(d, "coss-cluster-file.bin")
            data = os.urandom(300_000)
            with open(path, "wb") as f:
                f.write(data)
            srv = f"--servers=127.0.0.1:{self.cluster.proxy.port}"
            p = subprocess.run(["memccp", srv, path], capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 0, p.stderr)
            p = subprocess.run(["memccat", srv, "coss-cluster-file.bin"], capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, data + b"\n")  # memccat ends each value with a newline
            owner = self.cluster.node(self.cluster.ring.node(b"coss-cluster-file.bin"))
            p = subprocess.run(["memccat", f"--servers=127.0.0.1:{owner.port}", "coss-cluster-file.bin"],
                               capture_output=True, timeout=20)
            self.assertEqual(p.stdout, data + b"\n")


def get_one(conn, key):
    """'hit' + value, 'miss', or the error line."""
    conn.send(b"get " + key + b"\r\n")
    ln = conn.line()
    if ln.startswith(b"VALUE "):
        v = conn.read_exact(int(ln.split()[3]) + 2)[:-2]
        if conn.line() != b"END\r\n":
            raise AssertionError("no END")
        return ("hit", v)
    if ln == b"END\r\n":
        return ("miss", None)
    return ("error", ln.strip())


def retrying(conn, request, read, tries=4):
    """Sends request until the reply is not a SERVER_ERROR (nutcracker never
    retries; its notes ask clients to retry more than server_failure_limit
    times). Returns (reply, number of SERVER_ERROR replies seen)."""
    errors = 0
    for _ in range(tries):
        conn.send(request)
        r = read()
        if not (isinstance(r, bytes) and r.startswith(b"SERVER_ERROR")) and \
                not (isinstance(r, tuple) and r[0] == "error"):
            return r, errors
        errors += 1
    raise AssertionError(f"{request[:40]!r}: {tries} SERVER_ERROR replies")


def get_retrying(conn, key):
    def read():
        ln = conn.line()
        if ln.startswith(b"VALUE "):
            v = conn.read_exact(int(ln.split()[3]) + 2)[:-2]
            assert conn.line() == b"END\r\n"
            return ("hit", v)
        return ("miss", None) if ln == b"END\r\n" else ("error", ln.strip())
    return retrying(conn, b"get " + key + b"\r\n", read)[0]


class NodeFailure(unittest.TestCase):
    RETRY_MS = 1500
    # small stripes: a node's writes reach the disk after 64 KiB, not 1 MiB
    NODE_ARGS = ("--stripe-size", "64k")

    def setUp(self):
        self.cluster = Cluster(self.NODE_ARGS, retry_ms=self.RETRY_MS).start()
        self.addCleanup(self.cluster.cleanup)

    def wait_stripes_durable(self, node, timeout=10):
        """Until the node's stripe-write count stops moving."""
        c = node.connect()
        last, stable_since = None, time.time()
        deadline = time.time() + timeout
        while time.time() < deadline:
            n = harness.stats(c)["coss_stripes_written"]
            if n != last:
                last, stable_since = n, time.time()
            elif time.time() - stable_since > 0.5:
                break
            time.sleep(0.05)
        c.close()
        return int(last)

    def test_kill_eject_restart_warm(self):
        cl = self.cluster
        victim = "coss-b"
        limit = int(example_setting("server_failure_limit"))
        keys = [b"obj:%05d" % i for i in range(900)]
        val = {k: (k + b":") * 60 for k in keys}  # ~600 B each
        owner = {k: cl.ring.node(k) for k in keys}
        c = cl.proxy.connect()
        c.send(b"".join(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(val[k]), val[k]) for k in keys))
        self.assertEqual(c.read_exact(8 * len(keys)), b"STORED\r\n" * len(keys))
        # The victim's last, partly filled stripe buffer is lost at SIGKILL (the
        # journal keeps key hashes, not values): push its keys into written
        # stripes with filler sent straight to it (200 KiB = 3 stripes of 64 KiB).
        v = cl.node(victim)
        d = v.connect()
        filler = b"f" * 4000
        d.send(b"".join(b"set filler%03d 0 0 %d noreply\r\n%s\r\n" % (i, len(filler), filler)
                        for i in range(50)))
        d.expect(b"get nothing\r\n", b"END\r\n")
        d.close()
        self.wait_stripes_durable(v)
        vkeys = [k for k in keys if owner[k] == victim]
        others = [k for k in keys if owner[k] != victim]
        self.assertGreater(len(vkeys), 200)

        # --- SIGKILL the victim; poll one of its keys and one other key
        v.stop(signal.SIGKILL)
        t_kill = time.time()
        events = []
        other_results = []
        i = 0
        while time.time() - t_kill < 2.5 * self.RETRY_MS / 1000:
            events.append((time.time() - t_kill, get_one(c, vkeys[i % len(vkeys)])))
            other_results.append(get_one(c, others[i % len(others)]))
            i += 1
            time.sleep(0.02)
        kinds = [e[1][0] for e in events]
        errors = [(round(t, 2), r) for t, (k, r) in events if k == "error"]
        print(f"\nafter SIGKILL of {victim}: {len(events)} gets of its keys, "
              f"{kinds.count('error')} errors at {errors}, {kinds.count('miss')} misses, "
              f"{kinds.count('hit')} hits; {len(other_results)} gets of other keys: "
              f"{sum(r[0] == 'hit' for r in other_results)} hits")
        self.assertEqual(kinds.count("hit"), 0)
        self.assertTrue(all(r[0] == "hit" for r in other_results), other_results[:5])
        for _, r in errors:
            self.assertTrue(r.startswith(b"SERVER_ERROR "), r)
        self.assertGreaterEqual(kinds.count("miss"), len(events) // 2)
        # an error burst when a node dies and at each retry while it stays down,
        # never more than server_failure_limit requests per burst
        cycles = 1 + int((time.time() - t_kill) * 1000 / self.RETRY_MS)
        self.assertGreaterEqual(kinds.count("error"), 1)
        self.assertLessEqual(kinds.count("error"), limit * cycles)

        # --- while it is out: new sets succeed; some of its keys are
        # overwritten or deleted (they go to the other nodes now)
        fresh = [b"new:%04d" % i for i in range(300)]
        c.send(b"".join(b"set %s 0 0 3\r\nnew\r\n" % k for k in fresh))
        replies = [c.line() for _ in fresh]
        # a retry of the dead node that falls in this pipeline fails every
        # request queued for it, not only server_failure_limit of them; a
        # client retries those
        self.assertTrue(all(r == b"STORED\r\n" or r.startswith(b"SERVER_ERROR ") for r in replies))
        retried = sum(r != b"STORED\r\n" for r in replies)
        for k, r in zip(fresh, replies):
            if r != b"STORED\r\n":
                self.assertEqual(retrying(c, b"set %s 0 0 3\r\nnew\r\n" % k, c.line)[0], b"STORED\r\n")
        stored = fresh
        overwritten, deleted = vkeys[:20], vkeys[20:40]
        for k in overwritten:
            self.assertEqual(get_retrying(c, k), ("miss", None))
            r, _ = retrying(c, b"set %s 0 0 7\r\nupdated\r\n" % k, c.line)
            self.assertEqual(r, b"STORED\r\n")
            self.assertEqual(get_retrying(c, k), ("hit", b"updated"))
        for k in deleted:
            r, _ = retrying(c, b"delete %s\r\n" % k, c.line)
            self.assertEqual(r, b"NOT_FOUND\r\n")  # the node that has it is out

        # --- restart on the same store; time until its keys are served again
        v.start()
        t_up = time.time()
        probe = vkeys[-1]
        restored = None
        while time.time() - t_up < 3 * self.RETRY_MS / 1000 + 5:
            r = get_one(c, probe)
            if r == ("hit", val[probe]):
                restored = time.time() - t_up
                break
            time.sleep(0.02)
        self.assertIsNotNone(restored, f"{victim}'s keys never came back; log:\n{v.read_log()}")
        print(f"{victim} restarted: its keys served again {restored:.2f} s after it listened "
              f"(server_retry_timeout {self.RETRY_MS} ms); down for {t_up - t_kill:.1f} s")
        self.assertLessEqual(restored, self.RETRY_MS / 1000 + 2)
        # the warm store: every key written before the kill is served through
        # the proxy, except those changed while the node was out (below)
        changed = set(overwritten) | set(deleted)
        lost = [k for k in vkeys if k not in changed and get_one(c, k) != ("hit", val[k])]
        self.assertEqual(lost, [], f"{len(lost)} of {len(vkeys)} keys lost")
        for k in others:
            self.assertEqual(get_one(c, k), ("hit", val[k]))
        # Keys overwritten or deleted while the node was ejected: the proxy
        # routes them to the returning node again, which still has the old
        # values. A warm store that comes back after an ejection serves what it
        # held at the kill, not the writes made meanwhile.
        stale = sum(get_one(c, k) == ("hit", val[k]) for k in overwritten)
        revived = sum(get_one(c, k) == ("hit", val[k]) for k in deleted)
        print(f"after the restore: {stale}/{len(overwritten)} keys overwritten during the ejection "
              f"read their old value, {revived}/{len(deleted)} deleted keys are back; "
              f"{len(stored)} keys set during the ejection "
              f"({retried} of them retried)")
        self.assertEqual(stale, len(overwritten))
        self.assertEqual(revived, len(deleted))
        # keys set during the ejection that belong to the victim now miss
        # (they were written to another node); the rest are still there
        moved = [k for k in stored if cl.ring.node(k) == victim]
        kept = [k for k in stored if cl.ring.node(k) != victim]
        self.assertTrue(all(get_one(c, k)[0] == "miss" for k in moved))
        self.assertTrue(all(get_one(c, k) == ("hit", b"new") for k in kept))
        c.close()


class ClusterScript(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="coss-cluster-sh-", dir=harness.TMP_BASE)
        self.base = self.free_base()
        self.env = dict(os.environ, COSSD=harness.COSSD)
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.addCleanup(self.kill_leftovers)
        self.addCleanup(self.sh, "stop")

    @staticmethod
    def free_base():
        # Below the ephemeral range, which client connections (and their
        # TIME_WAIT leftovers: thousands when a load runs beside the tests) fill.
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
        rng = random.Random()
        for _ in range(200):
            base = rng.randrange(max(1024, low - 12000), low - 5)
            ok = True
            for p in range(base, base + 5):
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
                    try:
                        s.bind(("127.0.0.1", p))
                    except OSError:
                        ok = False
            if ok:
                return base
        raise RuntimeError("no 5 free consecutive ports")

    def sh(self, *args, check=None):
        p = subprocess.run([CLUSTER_SH, args[0], "--dir", self.dir] + list(args[1:]),
                           capture_output=True, text=True, env=self.env, timeout=60)
        if check is not None:
            self.assertEqual(p.returncode, check, p.stdout + p.stderr)
        return p

    def pids(self):
        out = {}
        for f in [os.path.join(self.dir, f"node-{n}", "cossd.pid") for n in "abc"] + \
                 [os.path.join(self.dir, "nutcracker.pid")]:
            try:
                with open(f) as pf:
                    pid = int(pf.read().strip())
                with open(f"/proc/{pid}/cmdline", "rb") as cf:
                    cmdline = cf.read().decode(errors="replace")
                if self.dir in cmdline:
                    out[f] = pid
            except (OSError, ValueError):
                pass
        return out

    def kill_leftovers(self):
        for pid in self.pids().values():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def proxy(self):
        s = socket.create_connection(("127.0.0.1", self.base), timeout=5)
        return harness.Conn(s)

    def test_start_status_stop_restart(self):
        # a port in use: a clear error, nothing left running
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", self.base + 2))
            blocker.listen()
            p = self.sh("start", "--base-port", str(self.base), "--store-size", "64m", check=1)
            self.assertIn(f"port {self.base + 2} on 127.0.0.1 is in use", p.stderr)
        self.assertEqual(self.pids(), {})
        # a stale pidfile (a live pid that is not ours) is removed
        os.makedirs(os.path.join(self.dir, "node-a"), exist_ok=True)
        with open(os.path.join(self.dir, "node-a", "cossd.pid"), "w") as f:
            f.write(f"{os.getpid()}\n")
        t = time.time()
        p = self.sh("start", "--base-port", str(self.base), "--store-size", "64m", check=0)
        print(f"\ncluster.sh start: {time.time() - t:.2f} s")
        self.assertIn("removing stale pidfile", p.stderr)
        self.assertEqual(len(self.pids()), 4)
        p = self.sh("status", check=0)
        self.assertEqual(len(re.findall(r"^coss-[abc]: running", p.stdout, re.M)), 3, p.stdout)
        self.assertIn("nutcracker: running", p.stdout)
        # a second start leaves everything alone
        before = self.pids()
        p = self.sh("start", check=0)
        self.assertIn("already running", p.stdout)
        self.assertEqual(self.pids(), before)

        c = self.proxy()
        keys = [b"sh:%04d" % i for i in range(500)]
        c.send(b"".join(b"set %s 0 0 %d\r\n%s\r\n" % (k, len(k), k) for k in keys))
        self.assertEqual(c.read_exact(8 * len(keys)), b"STORED\r\n" * len(keys))
        c.close()

        t = time.time()
        p = self.sh("stop", check=0)
        print(f"cluster.sh stop: {time.time() - t:.2f} s")
        self.assertEqual(p.stdout.count("stopped cleanly"), 3, p.stdout)
        self.assertEqual(self.pids(), {})
        p = self.sh("status", check=3)
        self.assertEqual(p.stdout.count(": stopped"), 4, p.stdout)

        # warm restart: every key is served, the nodes loaded their checkpoints
        self.sh("start", check=0)
        c = self.proxy()
        for k in keys:
            self.assertEqual(get_one(c, k), ("hit", k))
        c.close()
        total = 0
        for n in "abc":
            with open(os.path.join(self.dir, f"node-{n}", "cossd.log")) as f:
                log = f.read()
            opens = re.findall(r"store open in \d+ ms: (\d+) objects", log)
            self.assertEqual(len(opens), 2, log)
            total += int(opens[-1])
        self.assertEqual(total, len(keys))

        # one node crashes: status says so, start brings back only that one
        pid_b = self.pids()[os.path.join(self.dir, "node-b", "cossd.pid")]
        os.kill(pid_b, signal.SIGKILL)
        deadline = time.time() + 5
        while os.path.exists(f"/proc/{pid_b}") and time.time() < deadline:
            time.sleep(0.05)
        p = self.sh("status", check=3)
        self.assertIn("coss-b: stopped", p.stdout)
        p = self.sh("start", check=0)
        self.assertIn("coss-b up", p.stdout)
        self.assertNotIn("coss-a up", p.stdout)
        self.sh("status", check=0)
        self.sh("stop", check=0)
        self.assertEqual(self.pids(), {})


if __name__ == "__main__":
    if not harness.COSSD:
        print("set COSSD to the cossd binary", file=sys.stderr)
        sys.exit(1)
    harness.main()
