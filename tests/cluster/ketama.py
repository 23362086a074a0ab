"""A model of how nutcracker 0.5.0 places memcached keys with
`distribution: ketama` and `hash: fnv1a_64`, written from its documented
behaviour and checked against the running proxy by test_twemproxy.py.

* The key hash nutcracker calls fnv1a_64 works on 32 bits: the offset basis and
  the prime of 64-bit FNV-1a truncated to their low 32 bits (0x84222325 and
  0x1b3), each key byte read as a signed char.
* The ring: every live node gets floor(share * 40 * live_nodes) * 4 points
  (share = weight / total weight, computed in single precision, so three
  equal nodes get 160 points each); point group i of a node is the MD5 of
  "<name>-<i>", whose 16 bytes give 4 little-endian 32-bit points. <name> is
  the node's name when the server line has one ("host:port:weight name"),
  else "host:port:weight".
* A key goes to the first point at or after its hash, wrapping to the first.
"""
import bisect
import hashlib
import math
import struct


def fnv1a_64(key: bytes) -> int:
    h = 0x84222325
    for b in key:
        h ^= b if b < 0x80 else (b - 0x100) & 0xFFFFFFFF
        h = (h * 0x1B3) & 0xFFFFFFFF
    return h


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


class Ring:
    def __init__(self, nodes):
        """nodes: list of (name, weight) of the live nodes, in config order."""
        total = sum(w for _, w in nodes)
        live = len(nodes)
        points = []
        for idx, (name, weight) in enumerate(nodes):
            share = _f32(_f32(weight) / _f32(total))
            per_node = math.floor(_f32(_f32(_f32(share * 160) / 4) * live) + 1e-10) * 4
            for i in range(per_node // 4):
                d = hashlib.md5(f"{name}-{i}".encode()).digest()
                for x in range(4):
                    points.append((int.from_bytes(d[4 * x:4 * x + 4], "little"), idx))
        points.sort(key=lambda p: p[0])
        self.values = [v for v, _ in points]
        self.owners = [o for _, o in points]
        self.names = [n for n, _ in nodes]

    def node(self, key: bytes) -> str:
        i = bisect.bisect_left(self.values, fnv1a_64(key))
        if i == len(self.values):
            i = 0
        return self.names[self.owners[i]]
