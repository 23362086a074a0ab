"""Servers of the side-by-side suite: cossd and Debian's memcached, started on
free loopback ports with comparable settings and stopped by PID.

Contract: Server.start() returns once the port accepts connections (or raises
with the last lines of the server's log); Server.stop() sends SIGTERM to that
PID only, waits, and SIGKILLs it after a timeout. Every command line is
appended to the suite's commands.log by the caller-supplied `log` function.
"""
import os
import signal
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, kind, argv, logdir, log):
        self.name = name  # "coss", "mc-ram", "mc-big", "mc-ext"
        self.kind = kind  # "coss" or "memcached"
        self.argv = argv  # without port
        self.logdir = logdir
        self.log = log
        self.port = None
        self.proc = None
        self.logfile = None
        self.died = None  # text, once the process was found dead

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=60):
        self.port = free_port()
        argv = self.argv + ["-p", str(self.port)]
        self.log(" ".join(argv))
        self.logfile = os.path.join(self.logdir, f"{self.name}-{self.port}.log")
        out = open(self.logfile, "w")
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} at start:\n"
                                   + self.tail())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen within {timeout}s:\n" + self.tail())

    def alive(self):
        if self.proc is None:
            return False
        if self.proc.poll() is not None:
            if self.died is None:
                self.died = (f"{self.name} (pid {self.proc.pid}) exited with "
                             f"{self.proc.returncode}; log tail:\n{self.tail()}")
            return False
        return True

    def tail(self, n=15):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout=60):
        """SIGTERM this PID, wait up to `timeout` s, then SIGKILL. Returns seconds taken."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        t0 = time.time()
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        return time.time() - t0


def cossd(binary, name, workdir, logdir, log, ram_mib, store_bytes, threads=2, extra=()):
    store = os.path.join(workdir, f"{name}.coss")
    argv = [binary, "-l", "127.0.0.1", "-t", str(threads), "-m", str(ram_mib), "-c", "4096",
            "--store", f"{store}:{store_bytes}"] + list(extra)
    return Server(name, "coss", argv, logdir, log)


def memcached(name, workdir, logdir, log, ram_mib, ext_bytes=None, threads=2):
    argv = ["memcached", "-l", "127.0.0.1", "-U", "0", "-t", str(threads), "-m", str(ram_mib),
            "-c", "4096"]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    if ext_bytes:
        d = os.path.join(workdir, f"{name}-ext")
        os.makedirs(d, exist_ok=True)
        if os.geteuid() == 0:
            import pwd
            os.chown(d, pwd.getpwnam("nobody").pw_uid, -1)
        argv += ["-o", f"ext_path={d}/extstore:{ext_bytes // (1 << 20)}M"]
    return Server(name, "memcached", argv, logdir, log)


def ext_file(server):
    """The extstore file of an mc-ext server (for page-cache residency), or None."""
    for a in server.argv:
        if a.startswith("ext_path="):
            return a[len("ext_path="):].rsplit(":", 1)[0]
    return None


def page_cache_bytes(path):
    """Bytes of `path` resident in the page cache (util-linux fincore), or None."""
    if not path or not os.path.exists(path):
        return None
    try:
        r = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path],
                           capture_output=True, text=True, timeout=30)
        return int(r.stdout.split()[0])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def rss_bytes(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None
