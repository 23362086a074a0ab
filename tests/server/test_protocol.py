#!/usr/bin/env python3
"""Raw-socket protocol tests: every command, every error reply, noreply,
pipelining, large and binary values, expiry, CAS conflicts, incr wrap."""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402


class StorageCommands(harness.ServerTest):
    def test_set_get_gets(self):
        c = self.conn()
        c.expect(b"set a 5 0 3\r\nabc\r\n", b"STORED\r\n")
        c.expect(b"get a\r\n", b"VALUE a 5 3\r\nabc\r\nEND\r\n")
        c.expect(b"get nope\r\n", b"END\r\n")
        c.send(b"gets a\r\n")
        line = c.line()
        self.assertRegex(line, rb"^VALUE a 5 3 \d+\r\n$")
        self.assertEqual(c.read_exact(10), b"abc\r\nEND\r\n")
        c.expect(b"get a nope a\r\n", b"VALUE a 5 3\r\nabc\r\nVALUE a 5 3\r\nabc\r\nEND\r\n")

    def test_add_replace_append_prepend(self):
        c = self.conn()
        c.expect(b"add ar 1 0 1\r\nx\r\n", b"STORED\r\n")
        c.expect(b"add ar 1 0 1\r\ny\r\n", b"NOT_STORED\r\n")
        c.expect(b"replace rp 0 0 1\r\nx\r\n", b"NOT_STORED\r\n")
        c.expect(b"replace ar 2 0 2\r\nyy\r\n", b"STORED\r\n")
        c.expect(b"append ar 9 9 1\r\nz\r\n", b"STORED\r\n")
        c.expect(b"prepend ar 9 9 1\r\nw\r\n", b"STORED\r\n")
        c.expect(b"get ar\r\n", b"VALUE ar 2 4\r\nwyyz\r\nEND\r\n")
        c.expect(b"append nope 0 0 1\r\nx\r\n", b"NOT_STORED\r\n")
        c.expect(b"prepend nope 0 0 1\r\nx\r\n", b"NOT_STORED\r\n")

    def test_cas(self):
        c = self.conn()
        c.expect(b"set cs 0 0 1\r\nx\r\n", b"STORED\r\n")
        c.send(b"gets cs\r\n")
        cas = int(c.line().split()[4])
        c.read_until(b"END\r\n")
        c.expect(b"cas cs 3 0 1 %d\r\ny\r\n" % (cas + 1000), b"EXISTS\r\n")
        c.expect(b"cas cs 3 0 1 %d\r\ny\r\n" % cas, b"STORED\r\n")
        c.expect(b"cas cs 3 0 1 %d\r\nz\r\n" % cas, b"EXISTS\r\n")  # the cas changed
        c.expect(b"get cs\r\n", b"VALUE cs 3 1\r\ny\r\nEND\r\n")
        c.expect(b"cas nope 0 0 1 1\r\nx\r\n", b"NOT_FOUND\r\n")

    def test_cas_conflict_between_clients(self):
        a, b = self.conn(), self.conn()
        a.expect(b"set cc 0 0 1\r\n0\r\n", b"STORED\r\n")
        a.send(b"gets cc\r\n")
        cas_a = int(a.line().split()[4])
        a.read_until(b"END\r\n")
        b.send(b"gets cc\r\n")
        cas_b = int(b.line().split()[4])
        b.read_until(b"END\r\n")
        self.assertEqual(cas_a, cas_b)
        b.expect(b"cas cc 0 0 1 %d\r\nb\r\n" % cas_b, b"STORED\r\n")
        a.expect(b"cas cc 0 0 1 %d\r\na\r\n" % cas_a, b"EXISTS\r\n")
        a.expect(b"get cc\r\n", b"VALUE cc 0 1\r\nb\r\nEND\r\n")

    def test_concurrent_incr_is_atomic(self):
        c = self.conn()
        c.expect(b"set ctr 0 0 1\r\n0\r\n", b"STORED\r\n")
        conns = [self.conn() for _ in range(4)]
        for x in conns:
            x.send(b"incr ctr 1\r\n" * 200)
        for x in conns:
            for _ in range(200):
                self.assertRegex(x.line(), rb"^\d+\r\n$")
        c.expect(b"get ctr\r\n", b"VALUE ctr 0 3\r\n800\r\nEND\r\n")

    def test_delete(self):
        c = self.conn()
        c.expect(b"set d 0 0 1\r\nx\r\n", b"STORED\r\n")
        c.expect(b"delete d\r\n", b"DELETED\r\n")
        c.expect(b"delete d\r\n", b"NOT_FOUND\r\n")
        c.expect(b"get d\r\n", b"END\r\n")
        c.expect(b"set d 0 0 1\r\nx\r\ndelete d 0\r\n", b"STORED\r\nDELETED\r\n")
        c.expect(b"delete d 5\r\n",
                 b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n")

    def test_touch_keeps_the_cas_value(self):
        # memcached keeps CAS on touch/gat/gats/mg T; so does cossd (the engine keeps
        # the version on a re-put of the value just read).
        import re as _re
        c = self.conn()
        c.expect(b"set tc 5 0 2\r\nab\r\n", b"STORED\r\n")

        def cas_of():
            c.send(b"gets tc\r\n")
            m = _re.match(rb"^VALUE tc 5 2 (\d+)\r\n$", c.line())
            self.assertIsNotNone(m)
            c.read_until(b"END\r\n")
            return int(m.group(1))

        before = cas_of()
        c.expect(b"touch tc 100\r\n", b"TOUCHED\r\n")
        self.assertEqual(cas_of(), before)
        c.expect(b"gat 200 tc\r\n", b"VALUE tc 5 2\r\nab\r\nEND\r\n")
        self.assertEqual(cas_of(), before)
        c.expect(b"gats 300 tc\r\n", b"VALUE tc 5 2 %d\r\nab\r\nEND\r\n" % before)
        c.send(b"mg tc T400 c t\r\n")
        self.assertRegex(c.line(), rb"^HD c%d t(399|400)\r\n$" % before)
        self.assertEqual(cas_of(), before)
        # the TTL did change, also as seen through the RAM tier after a refill
        c.expect(b"get tc\r\n", b"VALUE tc 5 2\r\nab\r\nEND\r\n")
        c.send(b"mg tc t\r\n")
        self.assertRegex(c.line(), rb"^HD t(399|400)\r\n$")
        # a client holding the old CAS value can still swap
        c.expect(b"cas tc 5 0 2 %d\r\ncd\r\n" % before, b"STORED\r\n")
        self.assertNotEqual(cas_of(), before)

    def test_touch_and_gat(self):
        c = self.conn()
        c.expect(b"touch t 10\r\n", b"NOT_FOUND\r\n")
        c.expect(b"set t 3 0 1\r\nx\r\n", b"STORED\r\n")
        c.expect(b"touch t 100\r\n", b"TOUCHED\r\n")
        c.send(b"mg t t\r\n")
        self.assertRegex(c.line(), rb"^HD t(99|100)\r\n$")
        c.expect(b"gat 200 t nope\r\n", b"VALUE t 3 1\r\nx\r\nEND\r\n")
        c.send(b"mg t t\r\n")
        self.assertRegex(c.line(), rb"^HD t(199|200)\r\n$")
        c.send(b"gats 0 t\r\n")
        self.assertRegex(c.line(), rb"^VALUE t 3 1 \d+\r\n$")
        c.read_until(b"END\r\n")
        c.expect(b"mg t t\r\n", b"HD t-1\r\n")
        c.expect(b"touch t -1\r\nget t\r\n", b"TOUCHED\r\nEND\r\n")

    def test_incr_decr(self):
        c = self.conn()
        c.expect(b"incr n 1\r\ndecr n 1\r\n", b"NOT_FOUND\r\nNOT_FOUND\r\n")
        c.expect(b"set n 7 0 2\r\n10\r\n", b"STORED\r\n")
        c.expect(b"incr n 5\r\n", b"15\r\n")
        c.expect(b"decr n 100\r\n", b"0\r\n")
        c.expect(b"incr n 18446744073709551615\r\n", b"18446744073709551615\r\n")
        c.expect(b"incr n 2\r\n", b"1\r\n")  # wraps around 2^64
        c.expect(b"get n\r\n", b"VALUE n 7 20\r\n1                   \r\nEND\r\n")
        c.expect(b"incr n abc\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n")
        c.expect(b"incr n -1\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n")
        c.expect(b"incr n 18446744073709551616\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n")
        c.expect(b"set s 0 0 3\r\nabc\r\nincr s 1\r\n",
                 b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        c.expect(b"set s 0 0 20\r\n18446744073709551616\r\nincr s 1\r\n",
                 b"STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n")

    def test_noreply(self):
        c = self.conn()
        c.send(b"set nr 0 0 1 noreply\r\nx\r\nadd nr 0 0 1 noreply\r\ny\r\n"
               b"append nr 0 0 1 noreply\r\nz\r\nincr nr 1 noreply\r\ntouch nr 100 noreply\r\n"
               b"set nc 0 0 1 noreply\r\n5\r\nincr nc 5 noreply\r\ndecr nc 1 noreply\r\n"
               b"delete gone noreply\r\nverbosity 0 noreply\r\nflush_all 99999 noreply\r\n"
               b"cas nr 0 0 1 1 noreply\r\nq\r\nreplace nope 0 0 1 noreply\r\nq\r\n")
        c.expect(b"get nr nc\r\n", b"VALUE nr 0 2\r\nxz\r\nVALUE nc 0 2\r\n9 \r\nEND\r\n")  # decr pads like memcached
        c.expect(b"flush_all 0\r\n", b"OK\r\n")  # cancels the delayed one
        c.expect(b"set nr 0 0 abc noreply\r\n", b"")
        c.expect(b"mn\r\n", b"MN\r\n")

    def test_flush_all(self):
        c = self.conn()
        c.expect(b"set f1 0 0 1\r\nx\r\nset f2 0 0 1\r\ny\r\n", b"STORED\r\nSTORED\r\n")
        c.expect(b"flush_all\r\n", b"OK\r\n")
        c.expect(b"get f1 f2\r\n", b"END\r\n")
        c.expect(b"flush_all abc\r\n", b"CLIENT_ERROR invalid exptime argument\r\n")
        c.expect(b"set f3 0 0 1\r\nx\r\nflush_all 2\r\nget f3\r\n",
                 b"STORED\r\nOK\r\nVALUE f3 0 1\r\nx\r\nEND\r\n")
        deadline = time.time() + 6
        while time.time() < deadline:
            c.send(b"get f3\r\n")
            if c.read_until(b"END\r\n") == b"END\r\n":
                break
            time.sleep(0.2)
        else:
            self.fail("delayed flush_all never happened")
        c.expect(b"set f4 0 0 1\r\nx\r\nget f4\r\n", b"STORED\r\nVALUE f4 0 1\r\nx\r\nEND\r\n")

    def test_version_verbosity_quit(self):
        c = self.conn()
        c.send(b"version\r\n")
        self.assertRegex(c.line(), rb"^VERSION 1\.6\.\d+-coss-\S+\r\n$")
        c.expect(b"verbosity 1\r\n", b"OK\r\n")
        c.expect(b"verbosity 0\r\n", b"OK\r\n")
        c.expect(b"verbosity\r\n", b"ERROR\r\n")
        c.send(b"get never-set\r\nquit\r\nget never-set\r\n")
        self.assertEqual(c.read_until(b"END\r\n"), b"END\r\n")
        self.assertTrue(c.is_closed())


class ErrorReplies(harness.ServerTest):
    SERVER_ARGS = ("-I", "100k")

    def test_unknown_commands(self):
        c = self.conn()
        for cmd in [b"foo\r\n", b"GET a\r\n", b"GET /\r\n", b"\r\n", b"get\r\n", b"gets\r\n", b"incr a\r\n",
                    b"touch a\r\n", b"delete\r\n", b"set a 0\r\n", b"cas a 0 0 1\r\n", b"mx a\r\n",
                    b"mg\r\n", b"shutdown\r\n", b"slabs reassign 1 2\r\n"]:
            c.expect(cmd, b"ERROR\r\n")
        c.expect(b"stats nonsense\r\n", b"ERROR\r\n")

    def test_behaviours_of_newer_memcached(self):
        # Where memcached 1.6.18 (Debian's, the differential test's peer) still
        # said ERROR, newer memcached says what is wrong; cossd follows it
        # (not for a blank line: see text_commands.cc).
        c = self.conn()
        c.expect(b"cas a 0 0 1 \r\n", b"CLIENT_ERROR bad command line format\r\n")  # empty CAS
        c.expect(b"slabs automove invalid\r\n", b"CLIENT_ERROR bad command line format\r\n")
        c.expect(b"slabs automove\r\n", b"CLIENT_ERROR bad command line format\r\n")
        c.expect(b"slabs automove 1\r\n", b"OK\r\n")  # accepted; cossd has no slabs
        c.expect(b"mn\r\n", b"MN\r\n")

    def test_an_http_request_line_closes_without_a_word(self):
        # A browser tricked into sending HTTP to the memcached port must not get
        # anything back that could read as HTTP, nor have its lines run.
        for line in (b"GET / HTTP/1.0\r\n", b"POST /x HTTP/1.1\r\n", b"HEAD / HTTP/1.1\r\n"):
            c = self.conn()
            c.send(line + b"set a 0 0 1\r\nx\r\n")
            c.s.settimeout(5)
            got = b""
            while True:
                try:
                    d = c.s.recv(65536)
                except ConnectionResetError:
                    break
                if not d:
                    break
                got += d
            self.assertEqual(got, b"", line)  # closed, and nothing said
        c = self.conn()
        c.expect(b"get a\r\n", b"END\r\n")  # the set after the request line never ran

    def test_client_errors_keep_the_connection(self):
        c = self.conn()
        k251 = b"k" * 251
        c.expect(b"get " + k251 + b"\r\n", b"CLIENT_ERROR bad command line format\r\n")
        c.expect(b"set a 0 0 abc\r\n", b"CLIENT_ERROR bad command line format\r\n")
        c.expect(b"set a -1 0 1\r\nx\r\n", b"CLIENT_ERROR bad command line format\r\nERROR\r\n")
        c.expect(b"gat abc a\r\n", b"CLIENT_ERROR invalid exptime argument\r\n")
        c.expect(b"touch a abc\r\n", b"CLIENT_ERROR invalid exptime argument\r\n")
        c.expect(b"incr a x\r\n", b"CLIENT_ERROR invalid numeric delta argument\r\n")
        c.expect(b"verbosity x\r\n", b"CLIENT_ERROR bad command line format\r\n")
        c.expect(b"mg a Z\r\n", b"CLIENT_ERROR invalid flag\r\n")
        c.expect(b"mg a v v\r\n", b"CLIENT_ERROR duplicate flag\r\n")
        c.expect(b"mg a O" + b"o" * 33 + b"\r\n", b"CLIENT_ERROR opaque token too long\r\n")
        c.expect(b"mg a Tx\r\n", b"CLIENT_ERROR bad token in command line format\r\n")
        c.expect(b"mg !!! b\r\n", b"CLIENT_ERROR error decoding key\r\n")
        c.expect(b"md a Z\r\n", b"CLIENT_ERROR invalid or duplicate flag\r\n")
        c.expect(b"ma a MX\r\n", b"CLIENT_ERROR invalid mode for ma M token\r\n")
        c.expect(b"ms a 1 MX\r\nx\r\n", b"CLIENT_ERROR invalid mode for ms M token\r\n")
        c.expect(b"stats detail\r\n", b"CLIENT_ERROR usage: stats detail on|off|dump\r\n")
        c.expect(b"set ok 0 0 2\r\nhi\r\nget ok\r\n", b"STORED\r\nVALUE ok 0 2\r\nhi\r\nEND\r\n")

    def test_bad_data_chunk(self):
        c = self.conn()
        c.expect(b"set bd 0 0 2\r\nxyzwget bd\r\n", b"CLIENT_ERROR bad data chunk\r\nEND\r\n")
        c.expect(b"set bd 0 0 2\r\nxyzw\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n")
        c.expect(b"ms bd 1\r\nxyz\r\nmn\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\nMN\r\n")
        c.expect(b"set bd 0 0 1\r\nx\r\nget bd\r\n", b"STORED\r\nVALUE bd 0 1\r\nx\r\nEND\r\n")

    def test_value_too_large_is_swallowed(self):
        c = self.conn()
        big = b"v" * (100 * 1024 + 1)
        c.expect(b"set big 0 0 %d\r\n" % len(big) + big + b"\r\nget big\r\n",
                 b"SERVER_ERROR object too large for cache\r\nEND\r\n")
        c.expect(b"set big 0 0 %d noreply\r\n" % len(big) + big + b"\r\nmn\r\n", b"MN\r\n")
        c.expect(b"ms big %d T0\r\n" % len(big) + big + b"\r\nmn\r\n",
                 b"SERVER_ERROR object too large for cache\r\nMN\r\n")
        ok = b"o" * (100 * 1024)
        c.expect(b"set big 0 0 %d\r\n" % len(ok) + ok + b"\r\n", b"STORED\r\n")
        c.expect(b"append big 0 0 1\r\nx\r\n", b"SERVER_ERROR object too large for cache\r\n")
        s = stats(c)
        self.assertGreaterEqual(int(s["store_too_large"]), 3)

    def test_line_too_long_closes(self):
        c = self.conn()
        c.send(b"set " + b"x" * 5000)
        self.assertEqual(c.read_until(b"\r\n"), b"CLIENT_ERROR line too long\r\n")
        self.assertTrue(c.is_closed())
        c2 = self.conn()  # the server is fine
        c2.expect(b"mn\r\n", b"MN\r\n")

    def test_long_get_lines_are_allowed(self):
        c = self.conn()
        keys = b" ".join(b"key%05d" % i for i in range(1000))  # ~9 KB line
        c.expect(b"set key00007 0 0 1\r\nx\r\n", b"STORED\r\n")
        c.expect(b"get " + keys + b"\r\n", b"VALUE key00007 0 1\r\nx\r\nEND\r\n")


class MetaCommands(harness.ServerTest):
    def test_basic_codes(self):
        c = self.conn()
        c.expect(b"mn\r\n", b"MN\r\n")
        c.expect(b"mg m1 v\r\n", b"EN\r\n")
        c.expect(b"ms m1 2 F5 T0\r\nhi\r\n", b"HD\r\n")
        c.expect(b"mg m1 v f s k Oop\r\n", b"VA 2 f5 s2 km1 Oop\r\nhi\r\n")
        c.expect(b"mg m1\r\n", b"HD\r\n")
        c.expect(b"ms m1 2 ME\r\nyo\r\n", b"NS\r\n")
        c.expect(b"ms m1 2 MA\r\nyo\r\nmg m1 v\r\n", b"HD\r\nVA 4\r\nhiyo\r\n")
        c.expect(b"ms m1 1 C1\r\nx\r\n", b"EX\r\n")
        c.expect(b"ms m2 1 C1\r\nx\r\n", b"NF\r\n")
        c.expect(b"md m2\r\n", b"NF\r\n")
        c.expect(b"md m1 q\r\nmg m1 v\r\n", b"EN\r\n")
        c.expect(b"mg m1 v q\r\nmn\r\n", b"MN\r\n")

    def test_cas_tokens(self):
        c = self.conn()
        c.send(b"ms mc 1 c\r\nx\r\n")
        cas = int(c.line().split()[1][1:])
        c.expect(b"mg mc c v\r\n", b"VA 1 c%d\r\nx\r\n" % cas)
        c.expect(b"ms mc 1 C%d\r\ny\r\n" % (cas + 99), b"EX\r\n")
        c.expect(b"ms mc 1 C%d\r\ny\r\n" % cas, b"HD\r\n")
        c.expect(b"md mc C%d\r\n" % cas, b"EX\r\n")

    def test_arithmetic(self):
        c = self.conn()
        c.expect(b"ma ma1\r\n", b"NF\r\n")
        c.expect(b"ma ma1 N0 J10 v\r\n", b"VA 2\r\n10\r\n")
        c.expect(b"ma ma1 v\r\n", b"VA 2\r\n11\r\n")
        c.expect(b"ma ma1 v D9 MD\r\n", b"VA 1\r\n2\r\n")
        c.expect(b"ma ma1 MD D5 v\r\n", b"VA 1\r\n0\r\n")
        c.expect(b"ma ma1 q\r\nmn\r\n", b"MN\r\n")
        c.expect(b"ms ma2 3\r\nabc\r\nma ma2\r\n",
                 b"HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n")

    def test_base64_keys(self):
        c = self.conn()
        c.expect(b"ms AAECAw== 1 b\r\nx\r\n", b"HD\r\n")  # key bytes 00 01 02 03
        c.expect(b"mg AAECAw== b v k\r\n", b"VA 1 kAAECAw== b\r\nx\r\n")
        c.send(b"me AAECAw== b\r\n")
        self.assertTrue(c.line().startswith(b"ME AAECAw== exp=-1 "))
        c.expect(b"mg abc v\r\n", b"EN\r\n")

    def test_vivify_and_stale(self):
        c = self.conn()
        c.expect(b"mg viv N30 v\r\n", b"VA 0 W\r\n\r\n")
        c.expect(b"mg viv N30 v\r\n", b"VA 0 Z\r\n\r\n")
        c.expect(b"ms viv 3 T60\r\nnew\r\nmg viv v\r\n", b"HD\r\nVA 3\r\nnew\r\n")
        c.expect(b"md viv I T30\r\nmg viv v\r\n", b"HD\r\nVA 3 X W\r\nnew\r\n")
        c.expect(b"mg viv v\r\n", b"VA 3 Z X\r\nnew\r\n")

    def test_meta_debug(self):
        c = self.conn()
        c.expect(b"me nothing\r\n", b"EN\r\n")
        c.expect(b"ms dbg 5\r\nhello\r\n", b"HD\r\n")
        c.send(b"me dbg\r\n")
        self.assertRegex(c.line(), rb"^ME dbg exp=-1 la=\d+ cas=\d+ fetch=(yes|no) cls=1 size=\d+\r\n$")

    def test_explicit_cas_is_refused_clearly(self):
        c = self.conn()
        c.send(b"ms e 1 E5\r\nx\r\n")
        self.assertTrue(c.line().startswith(b"CLIENT_ERROR"))
        c.expect(b"mn\r\n", b"MN\r\n")


class ValuesAndPipelining(harness.ServerTest):
    def test_one_mib_value_with_default_limit(self):
        c = self.conn()
        v = random.randbytes(4096) * 256  # 1 MiB, binary
        self.assertEqual(len(v), 1 << 20)
        c.expect(b"set big 0 0 %d\r\n" % len(v) + v + b"\r\n", b"STORED\r\n")
        c.send(b"get big\r\n")
        self.assertEqual(c.line(), b"VALUE big 0 %d\r\n" % len(v))
        self.assertEqual(c.read_exact(len(v) + 2), v + b"\r\n")
        self.assertEqual(c.line(), b"END\r\n")
        c.expect(b"set big2 0 0 %d\r\n" % (len(v) + 1) + v + b"x\r\n",
                 b"SERVER_ERROR object too large for cache\r\n")

    def test_binary_safe_values(self):
        c = self.conn()
        for i in range(50):
            v = random.randbytes(random.randint(0, 3000))
            c.expect(b"set bin%d %d 0 %d\r\n" % (i, i, len(v)) + v + b"\r\n", b"STORED\r\n")
            c.send(b"get bin%d\r\n" % i)
            self.assertEqual(c.line(), b"VALUE bin%d %d %d\r\n" % (i, i, len(v)))
            self.assertEqual(c.read_exact(len(v) + 7), v + b"\r\nEND\r\n")

    def test_pipeline_in_order(self):
        c = self.conn()
        req, want = b"", b""
        for i in range(2000):
            v = b"val%d" % i
            req += b"set p%d 0 0 %d\r\n%s\r\n" % (i, len(v), v)
            want += b"STORED\r\n"
            req += b"get p%d p%d\r\n" % (i, i - 1)
            want += b"VALUE p%d 0 %d\r\n%s\r\n" % (i, len(v), v)
            if i > 0:
                pv = b"val%d" % (i - 1)
                want += b"VALUE p%d 0 %d\r\n%s\r\n" % (i - 1, len(pv), pv)
            want += b"END\r\n"
            if i % 7 == 0:
                req += b"bogus\r\n"
                want += b"ERROR\r\n"
            if i % 11 == 0:
                req += b"incr p%d 1\r\n" % i
                want += b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
        c.send(req)
        self.assertEqual(c.read_exact(len(want)), want)

    def test_expiry(self):
        c = self.conn()
        c.expect(b"set e1 0 1 1\r\nx\r\nset e2 0 100 1\r\ny\r\nset e3 0 -1 1\r\nz\r\n",
                 b"STORED\r\nSTORED\r\nSTORED\r\n")
        c.expect(b"get e3\r\n", b"END\r\n")
        past = int(time.time()) - 10
        c.expect(b"set e4 0 %d 1\r\nx\r\nget e4\r\n" % past, b"STORED\r\nEND\r\n")
        future = int(time.time()) + 100
        c.expect(b"set e5 0 %d 1\r\nx\r\nget e5\r\n" % future, b"STORED\r\nVALUE e5 0 1\r\nx\r\nEND\r\n")
        time.sleep(2.1)
        c.expect(b"get e1 e2\r\n", b"VALUE e2 0 1\r\ny\r\nEND\r\n")
        c.expect(b"touch e1 10\r\nincr e1 1\r\ndelete e1\r\n", b"NOT_FOUND\r\nNOT_FOUND\r\nNOT_FOUND\r\n")
        c.expect(b"add e1 0 0 1\r\nn\r\nget e1\r\n", b"STORED\r\nVALUE e1 0 1\r\nn\r\nEND\r\n")


class DiskPath(harness.ServerTest):
    """Objects that left the write buffers are read from the device
    asynchronously; replies must stay in request order."""
    SERVER_ARGS = ("--membufs", "2")
    MEMORY = "0"  # no RAM tier: every hit beyond the buffers is a device read

    def test_pipelined_disk_reads_stay_in_order(self):
        c = self.conn()
        vals = {}
        req = []
        for i in range(3000):
            v = (b"%d-" % i) * random.randint(200, 1500)
            vals[i] = v
            req.append(b"set d%d %d 0 %d noreply\r\n%s\r\n" % (i, i, len(v), v))
        c.send(b"".join(req))
        c.expect(b"mn\r\n", b"MN\r\n")
        order = list(range(3000))
        random.shuffle(order)
        req, want = b"", b""
        for n, i in enumerate(order[:1500]):
            keys = [i, order[(n + 1) % 3000]]
            req += b"get d%d d%d\r\n" % tuple(keys)
            for k in keys:
                want += b"VALUE d%d %d %d\r\n%s\r\n" % (k, k, len(vals[k]), vals[k])
            want += b"END\r\n"
            if n % 50 == 0:
                nv = b"new%d" % i
                vals[i] = nv
                req += b"set d%d %d 0 %d\r\n%s\r\nget d%d\r\n" % (i, i, len(nv), nv, i)
                want += b"STORED\r\nVALUE d%d %d %d\r\n%s\r\nEND\r\n" % (i, i, len(nv), nv)
        c.send(req)
        got = c.read_exact(len(want))
        self.assertEqual(got, want)
        s = stats(c)
        self.assertGreater(int(s["coss_hits_store_disk"]), 1000)


class _Contention:
    """Read-modify-write commands from many clients on one key: each is applied
    exactly once and none fails (memcached never fails an incr). They take
    turns per key (src/server/key_turns.h), so none has to retry its
    compare-and-swap: without turns, two workers fell into step and one command
    lost all of its attempts (SERVER_ERROR too many concurrent changes)."""

    def _retries(self, c):
        return int(stats(c)["coss_cas_retries"])

    def _pipeline(self, work):
        """work: (connection, requests, how many reply lines they get)."""
        for x, req, _ in work:
            x.send(req)
        for x, _, replies in work:
            for _ in range(replies):
                self.assertNotIn(b"ERROR", x.line())

    def test_counters_on_one_key(self):
        c = self.conn()
        c.expect(b"set hot 0 0 7\r\n1000000\r\n", b"STORED\r\n")
        before = self._retries(c)
        work = [(self.conn(), b"incr hot 1\r\n" * 1500, 1500) for _ in range(4)]
        work += [(self.conn(), b"decr hot 1\r\n" * 1000, 1000) for _ in range(4)]
        self._pipeline(work)
        c.expect(b"get hot\r\n", b"VALUE hot 0 7\r\n1002000\r\nEND\r\n")
        self.assertEqual(self._retries(c), before)

    def test_appends_and_meta_arithmetic_on_one_key(self):
        c = self.conn()
        c.expect(b"set lst 0 0 0\r\n\r\nset mc 0 0 1\r\n0\r\n", b"STORED\r\nSTORED\r\n")
        before = self._retries(c)
        work = [(self.conn(), b"append lst 0 0 1\r\nx\r\n" * 300, 300) for _ in range(4)]
        work += [(self.conn(), b"ma mc\r\n" * 500, 500) for _ in range(4)]
        self._pipeline(work)
        c.send(b"get lst\r\n")
        self.assertEqual(c.line(), b"VALUE lst 0 1200\r\n")
        self.assertEqual(c.read_exact(1202), b"x" * 1200 + b"\r\n")
        c.read_until(b"END\r\n")
        c.expect(b"get mc\r\n", b"VALUE mc 0 4\r\n2000\r\nEND\r\n")
        self.assertEqual(self._retries(c), before)


class ContentionWritten(_Contention, harness.ServerTest):
    SERVER_ARGS = ("--write-ack", "written")


class ContentionBuffered(_Contention, harness.ServerTest):
    SERVER_ARGS = ("--write-ack", "buffered")


if __name__ == "__main__":
    harness.main()
