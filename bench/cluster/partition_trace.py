#!/usr/bin/env python3
"""Splits an oracleGeneral trace (24-byte records: u32 time, u64 object id,
u32 size, i64 next access) into one trace per cluster node, by where
nutcracker's ketama (tests/cluster/ketama.py, nodes coss-a, coss-b, coss-c)
puts the key `t:<object id>` that `coss bench --trace` would send.

  partition_trace.py TRACE OUTDIR  ->  OUTDIR/coss-a.bin, coss-b.bin, coss-c.bin

`coss sim` on each part with a third of the cache, against the whole trace
with the whole cache, shows how close a three-node cluster comes to one cache
of the combined size (docs/OPERATIONS.md, "Scale-out behind twemproxy").
The next-access field is copied unchanged (coss sim's policies do not use it).
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "cluster"))
from ketama import Ring  # noqa: E402

REC = 24


def main():
    trace, outdir = sys.argv[1], sys.argv[2]
    ring = Ring([("coss-a", 1), ("coss-b", 1), ("coss-c", 1)])
    data = open(trace, "rb").read()
    if len(data) % REC:
        raise SystemExit(f"{trace}: not a whole number of {REC}-byte records")
    parts = {n: bytearray() for n in ring.names}
    owner = {}
    for off in range(0, len(data), REC):
        oid = struct.unpack_from("<Q", data, off + 4)[0]
        n = owner.get(oid)
        if n is None:
            n = owner[oid] = ring.node(b"t:%d" % oid)
        parts[n] += data[off:off + REC]
    os.makedirs(outdir, exist_ok=True)
    for n, b in parts.items():
        with open(os.path.join(outdir, n + ".bin"), "wb") as f:
            f.write(b)
        objs = sum(1 for v in owner.values() if v == n)
        print(f"{n}: {len(b) // REC} requests, {objs} objects")


if __name__ == "__main__":
    main()
