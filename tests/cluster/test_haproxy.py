#!/usr/bin/env python3
"""Three cossd HTTP caching nodes behind haproxy (`balance uri`, `hash-type
consistent`), on loopback, in front of one origin (tests/server/http_origin.py).

* Spread: 300 cacheable URLs requested twice through haproxy; the second round
  asks the origin nothing; each URL is stored on exactly one node, and every
  node holds a share.
* Loss: a node stopped with SIGTERM is marked down by haproxy's health checks;
  meanwhile its URLs are redispatched to the next node (no error); afterwards
  only its URLs reach the origin, the others are still hits on their nodes.
* Return: restarted on its store, it is marked up again, gets its URLs back
  and serves them from its warm store: no origin request at all.
* The health check never reaches the origin.
* scripts/http-cluster.sh start / status / stop / start (warm) with 4 nodes.

haproxy runs with a configuration derived from deploy/haproxy/coss-http.cfg
(only addresses and the admin socket's path changed), so the example is the
thing tested. Figures are printed for docs/OPERATIONS.md.
"""
import http.client
import os
import random
import re
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
import harness  # noqa: E402
from http_origin import Origin  # noqa: E402

EXAMPLE = os.path.join(ROOT, "deploy", "haproxy", "coss-http.cfg")
HTTP_CLUSTER_SH = os.path.join(ROOT, "scripts", "http-cluster.sh")
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
# A missing proxy fails the tests (scripts/deps.sh installs it); it never skips them.
assert os.access(HAPROXY, os.X_OK), f"haproxy is not installed ({HAPROXY}): run scripts/deps.sh"
NAMES = ["coss-a", "coss-b", "coss-c"]
HOST = "www.coss.test"  # one Host for every request: the cache key includes it
HEALTH_PATH = "/.coss-health"


def proxy_config(listen_port, stats_port, sock, node_ports):
    """The example configuration with this test's addresses."""
    with open(EXAMPLE) as f:
        text = f.read()

    def sub(pattern, repl):
        nonlocal text
        text, n = re.subn(pattern, repl, text, flags=re.M)
        assert n == 1, f"example: no single line matches {pattern}"

    sub(r"^(    bind 127\.0\.0\.1:)8080$", rf"\g<1>{listen_port}")
    sub(r"^(    bind 127\.0\.0\.1:)8180$", rf"\g<1>{stats_port}")
    sub(r"^(    stats socket )/run/haproxy/coss-http\.sock( .*)$", rf"\g<1>{sock}\g<2>")
    for i, (name, port) in enumerate(zip(NAMES, node_ports)):
        sub(rf"^(    server {name} 127\.0\.0\.1:)\d+( id {i + 1})$", rf"\g<1>{port}\g<2>")
    return text


def example_check_timing():
    with open(EXAMPLE) as f:
        m = re.search(r"(?m)^    default-server (.*)$", f.read())
    return m.group(1)


class Haproxy:
    """haproxy in the foreground (-db) as a child process (dies with the test)."""

    def __init__(self, tmp, node_ports):
        self.port = harness.free_port()
        self.stats_port = harness.free_port()
        self.sock = os.path.join(tmp, "haproxy.sock")
        self.conf = os.path.join(tmp, "haproxy.cfg")
        self.log_path = os.path.join(tmp, "haproxy.log")
        with open(self.conf, "w") as f:
            f.write(proxy_config(self.port, self.stats_port, self.sock, node_ports))
        self.proc = None
        self.log = None

    def start(self, timeout=15):
        r = subprocess.run([HAPROXY, "-c", "-f", self.conf], capture_output=True, text=True)
        assert r.returncode == 0, f"haproxy rejects the derived configuration: {r.stdout}{r.stderr}"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([HAPROXY, "-f", self.conf, "-db"], stdout=self.log,
                                     stderr=self.log, stdin=subprocess.DEVNULL,
                                     preexec_fn=harness._die_with_parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited with {self.proc.returncode}: {self.read_log()}")
            try:
                st = self.servers()
                if len(st) == len(NAMES) and all(s == ("UP", "L7OK") for s in st.values()):
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("haproxy did not see the nodes up: " + self.read_log())

    def command(self, cmd):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(cmd.encode() + b"\n")
            out = b""
            while d := s.recv(65536):
                out += d
        return out.decode()

    def rows(self):
        """{server name: its `show stat` row} for the backend's servers."""
        lines = self.command("show stat").splitlines()
        head = lines[0].lstrip("# ").split(",")
        out = {}
        for ln in lines[1:]:
            row = dict(zip(head, ln.split(",")))
            if row.get("pxname") == "coss" and row.get("svname") in NAMES:
                out[row["svname"]] = row
        return out

    def servers(self):
        """{server name: (status, last check status)}."""
        return {n: (r["status"], r["check_status"]) for n, r in self.rows().items()}

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None


class Client:
    """Keep-alive HTTP/1.1 client (http.client); reconnects when the other
    side closed an idle connection."""

    def __init__(self, port):
        self.port = port
        self.c = None

    def get(self, path, method="GET", headers=None):
        h = {"Host": HOST}
        h.update(headers or {})
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.c.request(method, path, headers=h)
                r = self.c.getresponse()
                body = r.read()
                out = (r.status, {k.lower(): v for k, v in r.getheaders()}, body)
                if r.will_close:
                    self.close()
                return out
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # only an idle keep-alive connection closed under us; a new
                # one is not retried
                self.close()
                if attempt == 1:
                    raise

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


def http_stats(node):
    c = node.connect()
    try:
        return {k[5:]: int(v) for k, v in harness.stats(c).items() if k.startswith("http_")}
    finally:
        c.close()


def delta(after, before, key):
    return after[key] - before[key]


def body_of(path):
    return (f"the object at {path}\n" * 16).encode()


class HaproxyCluster(unittest.TestCase):
    N_URLS = 300

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="coss-haproxy-test-", dir=harness.TMP_BASE)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.origin = Origin()
        self.addCleanup(self.origin.close)
        self.paths = [f"/obj/{i:03d}" for i in range(self.N_URLS)]
        for p in self.paths:
            self.origin.set(p, headers={"Cache-Control": "max-age=3600"}, body=body_of(p))
        self.nodes = []
        self.http_ports = []
        for name in NAMES:
            d = os.path.join(self.tmp, name)
            os.mkdir(d)
            port = harness.free_port()
            n = harness.Server(("--http-port", str(port), "--http-origin",
                                f"http://127.0.0.1:{self.origin.port}"),
                               store_size="64m", tmpdir=d, threads=1)
            self.addCleanup(n.cleanup)
            self.addCleanup(n.stop)
            n.start()
            self.nodes.append(n)
            self.http_ports.append(port)
        for port in self.http_ports:
            self.wait_http(port)
        self.proxy = Haproxy(self.tmp, self.http_ports)
        self.addCleanup(self.proxy.stop)
        self.proxy.start()
        self.client = Client(self.proxy.port)
        self.addCleanup(self.client.close)

    def wait_http(self, port, timeout=20):
        """Until the node's HTTP port answers the health check's request."""
        deadline = time.time() + timeout
        c = Client(port)
        try:
            while time.time() < deadline:
                try:
                    if c.get(HEALTH_PATH, "HEAD", {"Cache-Control": "only-if-cached"})[0] in (200, 504):
                        return
                except OSError:
                    c.close()
                time.sleep(0.05)
        finally:
            c.close()
        raise AssertionError(f"port {port} does not answer HTTP")

    def wait_state(self, name, state, timeout=20):
        t = time.time()
        while time.time() - t < timeout:
            if self.proxy.servers()[name][0] == state:
                return time.time() - t
            time.sleep(0.05)
        raise AssertionError(f"haproxy never marked {name} {state}: {self.proxy.servers()}")

    def origin_paths_since(self, mark):
        with self.origin.lock:
            return [r[1] for r in self.origin.requests[mark:]]

    def origin_mark(self):
        with self.origin.lock:
            return len(self.origin.requests)

    def all_stats(self, nodes=None):
        return {n: http_stats(self.nodes[NAMES.index(n)]) for n in (nodes or NAMES)}

    def round(self, curl_path=None):
        """Requests every URL once through haproxy; every answer must be the
        origin's body. One URL goes through curl instead."""
        for p in self.paths:
            if p == curl_path:
                r = subprocess.run(["curl", "-sS", "-i", "-H", f"Host: {HOST}",
                                    f"http://127.0.0.1:{self.proxy.port}{p}"],
                                   capture_output=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stderr)
                head, _, body = r.stdout.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
                self.assertIn(b"\r\nvia: 1.1 coss", head.lower())
                self.assertEqual(body, body_of(p))
                continue
            status, headers, body = self.client.get(p)
            self.assertEqual((status, body), (200, body_of(p)), p)
            self.assertEqual(headers.get("via"), "1.1 coss")

    def holders(self, path):
        """The nodes (of those running) that hold path, asked directly with
        only-if-cached (answered from the node's store, never the origin)."""
        out = []
        for name, node, port in zip(NAMES, self.nodes, self.http_ports):
            if node.proc is None:
                continue
            c = Client(port)
            try:
                status = c.get(path, "HEAD", {"Cache-Control": "only-if-cached"})[0]
            finally:
                c.close()
            self.assertIn(status, (200, 504))
            if status == 200:
                out.append(name)
        return out

    def test_node_loss_and_warm_return(self):
        t_start = time.time()
        victim = "coss-b"
        vi = NAMES.index(victim)
        v = self.nodes[vi]
        total = len(self.paths)

        # --- (a) two rounds: the second asks the origin nothing
        s0 = self.all_stats()
        self.round(curl_path=self.paths[7])
        fetched = self.origin_paths_since(0)
        self.assertEqual(sorted(fetched), sorted(self.paths))  # each URL once
        s1 = self.all_stats()
        mark = self.origin_mark()
        self.round(curl_path=self.paths[8])
        self.assertEqual(self.origin_paths_since(mark), [])
        s2 = self.all_stats()
        # each URL is held by exactly one node, the one that served it both times
        owner = {}
        for p in self.paths:
            h = self.holders(p)
            self.assertEqual(len(h), 1, f"{p} held by {h}")
            owner[p] = h[0]
        owned = {n: [p for p in self.paths if owner[p] == n] for n in NAMES}
        for n in NAMES:
            self.assertEqual(delta(s1[n], s0[n], "misses"), len(owned[n]), n)
            self.assertEqual(delta(s1[n], s0[n], "stored"), len(owned[n]), n)
            self.assertEqual(delta(s2[n], s1[n], "hits"), len(owned[n]), n)
            self.assertEqual(delta(s2[n], s1[n], "misses"), 0, n)
            self.assertGreater(len(owned[n]), 0.10 * total, f"{n}'s share: {len(owned[n])}")
        print(f"\nshares of {total} URLs: " +
              ", ".join(f"{n} {len(owned[n])}" for n in NAMES) +
              f"; round 2: {sum(delta(s2[n], s1[n], 'hits') for n in NAMES)} hits, 0 origin requests")

        # --- (b) the victim stops (SIGTERM). Until haproxy marks it down its
        # URLs are redispatched to the next node on the ring: no errors.
        mine = owned[victim]
        mark = self.origin_mark()
        s3 = self.all_stats([n for n in NAMES if n != victim])
        v.proc.send_signal(signal.SIGTERM)
        t_kill = time.time()
        window = []
        i = 0
        while self.proxy.servers()[victim][0] != "DOWN":
            if time.time() - t_kill > 20:
                self.fail(f"haproxy never marked {victim} down: {self.proxy.servers()}")
            p = mine[i % len(mine)]
            i += 1
            status, _, body = self.client.get(p)
            window.append((round(time.time() - t_kill, 2), status, body == body_of(p)))
            time.sleep(0.02)
        t_down = time.time() - t_kill
        self.assertEqual(v.stop(), 0, "cossd's exit code on SIGTERM")
        bad = [w for w in window if w[1:] != (200, True)]
        row = self.proxy.rows()[victim]
        print(f"{victim} stopped: marked DOWN after {t_down:.2f} s ({example_check_timing()}); "
              f"{len(window)} requests for its URLs meanwhile, {len(bad)} not served, "
              f"haproxy retried {row['wretr']} and redispatched {row['wredis']}")
        self.assertEqual(bad, [])
        self.round(curl_path=mine[0])
        moved = self.origin_paths_since(mark)
        s4 = self.all_stats([n for n in NAMES if n != victim])
        # exactly the victim's URLs reached the origin (each once, or twice
        # when the redispatch in the window picked another node than the ring)
        self.assertEqual(set(moved), set(mine))
        self.assertLessEqual(len(moved), len(mine) + len(window))
        share = len(set(moved)) / total
        self.assertGreaterEqual(share, 0.15)
        self.assertLessEqual(share, 0.55)
        # the live nodes served their own URLs from their stores
        for n in NAMES:
            if n == victim:
                continue
            self.assertGreaterEqual(delta(s4[n], s3[n], "hits"), len(owned[n]), n)
        # the victim's URLs now live on the other nodes
        taken = {n: 0 for n in NAMES}
        for p in mine:
            h = self.holders(p)
            self.assertTrue(h, p)
            for n in h:
                taken[n] += 1
        print(f"after the loss: {len(set(moved))} URLs ({share:.0%}) reached the origin "
              f"({len(moved)} origin requests), all of them {victim}'s; "
              f"taken over by " + ", ".join(f"{n} {taken[n]}" for n in NAMES if n != victim) +
              "; every other URL a hit on its node")

        # --- (c) the victim restarts on its store: marked up, its URLs come
        # back to it and are hits from its warm store
        v.start()
        t_listen = time.time()
        self.wait_http(self.http_ports[vi])
        self.wait_state(victim, "UP")
        t_up = time.time() - t_listen
        opened = re.findall(r"store open in (\d+) ms: (\d+) objects", v.read_log())
        self.assertEqual(len(opened), 2, v.read_log())
        mark = self.origin_mark()
        s5 = self.all_stats()
        self.round(curl_path=mine[1])
        s6 = self.all_stats()
        self.assertEqual(self.origin_paths_since(mark), [])
        for n in NAMES:
            self.assertEqual(delta(s6[n], s5[n], "hits"), len(owned[n]), n)
            self.assertEqual(delta(s6[n], s5[n], "misses"), 0, n)
        print(f"{victim} restarted: store open in {opened[-1][0]} ms with {opened[-1][1]} objects, "
              f"marked UP {t_up:.2f} s after it listened; next round: "
              f"{delta(s6[victim], s5[victim], 'hits')} of its {len(mine)} URLs hits on it, "
              f"{sum(delta(s6[n], s5[n], 'hits') for n in NAMES)}/{total} hits, 0 origin requests")

        # the health checks never reached the origin
        self.assertEqual(self.origin.hits(HEALTH_PATH), 0)
        # every request haproxy logged for a URL got a 200
        logged = re.findall(r"^\S+ \[[^\]]+\] http-in \S+ \S+ (\d{3}) .*\"GET /obj/",
                            self.proxy.read_log(), re.M)
        self.assertEqual(len(logged), 4 * total + len(window))
        self.assertEqual(set(logged), {"200"})
        print(f"whole test: {time.time() - t_start:.1f} s")


class HttpClusterScript(unittest.TestCase):
    NODES = 4

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="coss-http-sh-", dir=harness.TMP_BASE)
        self.env = dict(os.environ, COSSD=harness.COSSD)
        self.origin = Origin()
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.addCleanup(self.origin.close)
        self.addCleanup(self.kill_leftovers)
        self.addCleanup(self.sh, "stop")
        self.base = self.free_base()

    def ports(self, base):
        return [base] + [base + k for k in range(1, self.NODES + 1)] + \
            [base + 100] + [base + 100 + k for k in range(1, self.NODES + 1)]

    def free_base(self):
        # below the ephemeral range (client connections fill it)
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
        rng = random.Random()
        for _ in range(200):
            base = rng.randrange(max(1024, low - 12000), low - 120)
            ok = True
            for p in self.ports(base):
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    try:
                        s.bind(("127.0.0.1", p))
                    except OSError:
                        ok = False
            if ok:
                return base
        raise RuntimeError("no free ports")

    def sh(self, *args, check=None):
        p = subprocess.run([HTTP_CLUSTER_SH, args[0], "--dir", self.dir] + list(args[1:]),
                           capture_output=True, text=True, env=self.env, timeout=60)
        if check is not None:
            self.assertEqual(p.returncode, check, p.stdout + p.stderr)
        return p

    def pids(self):
        out = {}
        files = [os.path.join(self.dir, f"node-{chr(97 + k)}", "cossd.pid") for k in range(self.NODES)]
        for f in files + [os.path.join(self.dir, "haproxy.pid")]:
            try:
                with open(f) as pf:
                    pid = int(pf.read().strip())
                with open(f"/proc/{pid}/cmdline", "rb") as cf:
                    if self.dir in cf.read().decode(errors="replace"):
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

    def test_start_status_stop_warm_restart(self):
        paths = [f"/sh/{i:03d}" for i in range(60)]
        for p in paths:
            self.origin.set(p, headers={"Cache-Control": "max-age=3600"}, body=body_of(p))
        p = self.sh("start", check=1)
        self.assertIn("--origin", p.stderr)
        args = ("--origin", f"http://127.0.0.1:{self.origin.port}", "--nodes", str(self.NODES),
                "--base-port", str(self.base), "--store-size", "64m")
        # a port in use: a clear error, nothing left running
        with socket.socket() as blocker:
            blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            blocker.bind(("127.0.0.1", self.base + 102))
            blocker.listen()
            p = self.sh("start", *args, check=1)
            self.assertIn(f"port {self.base + 102} on 127.0.0.1 is in use", p.stderr)
        self.assertEqual(self.pids(), {})
        t = time.time()
        self.sh("start", *args, check=0)
        print(f"\nhttp-cluster.sh start ({self.NODES} nodes): {time.time() - t:.2f} s")
        self.assertEqual(len(self.pids()), self.NODES + 1)
        p = self.sh("status", check=0)
        self.assertEqual(len(re.findall(r"^coss-[a-d]: running.*haproxy: UP \(L7OK\)$", p.stdout,
                                        re.M)), self.NODES, p.stdout)
        self.assertIn("haproxy: running", p.stdout)
        c = Client(self.base)
        for _ in range(2):
            for path in paths:
                self.assertEqual(c.get(path)[::2], (200, body_of(path)))
        self.assertEqual(len(self.origin.requests), len(paths))
        c.close()
        # every node holds some of them
        items = [int(x) for x in re.findall(r", (\d+) items,", self.sh("status", check=0).stdout)]
        self.assertEqual(len(items), self.NODES)
        self.assertEqual(sum(items), len(paths))
        self.assertTrue(all(items), items)

        p = self.sh("stop", check=0)
        self.assertEqual(p.stdout.count("stopped cleanly"), self.NODES, p.stdout)
        self.assertEqual(self.pids(), {})
        self.sh("status", check=3)
        # warm: the settings are remembered, and every URL is a hit
        self.sh("start", check=0)
        c = Client(self.base)
        for path in paths:
            self.assertEqual(c.get(path)[::2], (200, body_of(path)))
        c.close()
        self.assertEqual(len(self.origin.requests), len(paths))
        # a node crashes: status says so, start brings back only that one
        pid_b = self.pids()[os.path.join(self.dir, "node-b", "cossd.pid")]
        os.kill(pid_b, signal.SIGKILL)
        deadline = time.time() + 10
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
