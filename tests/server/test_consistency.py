#!/usr/bin/env python3
"""No stale reads across connections: once a client has seen STORED for
value i of a key, no client may read a value older than i, even while the key
moves between the store's buffers, the device and the RAM tier (reads from
disk racing with overwrites are what the RAM tier's fill tickets guard)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402


class MonotonicReads(harness.ServerTest):
    """The RAM tier off: reads race overwrites in the store's buffers and on the
    device."""
    SERVER_ARGS = ("--membufs", "2", "--write-ack", "buffered")
    MEMORY = "0"
    SOURCE = "coss_hits_store_disk"

    def test_reads_never_go_back(self):
        acked = [0]
        stop = threading.Event()
        errors = []

        def reader():
            c = self.server.connect()
            try:
                while not stop.is_set():
                    floor = acked[0]
                    c.send(b"get hot\r\n")
                    line = c.line()
                    if line == b"END\r\n":
                        errors.append(f"hot missing after {floor}")
                        return
                    n = int(line.split()[3])
                    v = int(c.read_exact(n + 2)[:-2].split(b":")[0])
                    c.read_until(b"END\r\n")
                    if v < floor:
                        errors.append(f"read {v} after {floor} was acknowledged")
                        return
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))
            finally:
                c.close()

        w = self.conn()
        w.expect(b"set hot 0 0 1\r\n0\r\n", b"STORED\r\n")
        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        filler = b"f" * 4000
        deadline = time.time() + 20
        i = 0
        while i < 400 and time.time() < deadline and not errors:
            i += 1
            v = b"%d:" % i + b"x" * (i % 3000)  # sizes vary: some reads need two blocks
            w.expect(b"set hot 0 0 %d\r\n%s\r\n" % (len(v), v), b"STORED\r\n")
            acked[0] = i
            # push the key's stripe towards the device so that reads go to disk
            w.send(b"".join(b"set fill%d 0 0 %d noreply\r\n%s\r\n" % (j, len(filler), filler)
                            for j in range(60)))
            w.expect(b"mn\r\n", b"MN\r\n")
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertGreater(i, 50)
        s = stats(w)
        self.assertGreater(int(s[self.SOURCE]), 0, f"no read was served from {self.SOURCE}")


class MonotonicReadsThroughRam(MonotonicReads):
    """The RAM tier on: every set also enters it (read-your-writes), racing the
    readers' fills and the tier's evictions."""
    MEMORY = "4"
    SOURCE = "coss_hits_ram"


if __name__ == "__main__":
    harness.main()
