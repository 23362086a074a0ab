#!/usr/bin/env python3
"""The HTTP caching proxy (--http-port) against a real origin (http_origin.py)
with real clients (Python's http.client and curl): what is stored and served,
freshness and revalidation, Vary, PURGE and invalidation, framing and
request-smuggling defences, origin failures, and entries across a clean stop
and a kill -9."""
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import stats  # noqa: E402
from http_origin import Origin, free_port  # noqa: E402


class HttpTest(unittest.TestCase):
    EXTRA = ()

    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.http_port = free_port()
        cls.server = harness.Server(("--http-port", str(cls.http_port), "--http-origin",
                                     f"http://127.0.0.1:{cls.origin.port}") + tuple(cls.EXTRA))
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            cls.origin.close()
            raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        log = cls.server.read_log()
        cls.server.cleanup()
        cls.origin.close()
        if rc != 0:
            raise AssertionError(f"cossd exited with {rc} on SIGTERM; log:\n{log}")

    def get(self, path, method="GET", headers=None, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def raw(self, data, wait=2.0):
        """Sends raw bytes on a new connection; returns everything read until
        the server closes or `wait` passes without data."""
        s = socket.create_connection(("127.0.0.1", self.http_port), timeout=wait)
        try:
            s.sendall(data)
            out = b""
            while True:
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    break
                if not d:
                    break
                out += d
            return out
        finally:
            s.close()

    def http_stats(self):
        c = self.server.connect()
        try:
            return {k: int(v) for k, v in stats(c).items() if k.startswith("http_")}
        finally:
            c.close()


class Caching(HttpTest):
    def test_fresh_response_is_served_from_the_store(self):
        self.origin.set("/fresh", headers={"Cache-Control": "max-age=60", "X-Tag": "one"},
                        body=b"hello fresh")
        before = self.http_stats()
        st, h, body = self.get("/fresh")
        self.assertEqual((st, body), (200, b"hello fresh"))
        self.assertIn("coss", h.get("via", ""))
        st, h, body = self.get("/fresh")
        self.assertEqual((st, body, h.get("x-tag")), (200, b"hello fresh", "one"))
        self.assertIn("age", h)
        self.assertLessEqual(int(h["age"]), 60)
        self.assertEqual(self.origin.hits("/fresh"), 1)
        after = self.http_stats()
        self.assertEqual(after["http_hits"] - before["http_hits"], 1)
        self.assertEqual(after["http_stored"] - before["http_stored"], 1)

    def test_what_is_not_stored(self):
        cases = {
            "/ns/no-store": {"Cache-Control": "no-store, max-age=60"},
            "/ns/private": {"Cache-Control": "private, max-age=60"},
            "/ns/cookie": {"Cache-Control": "max-age=60", "Set-Cookie": "a=b"},
            "/ns/vary-star": {"Cache-Control": "max-age=60", "Vary": "*"},
            "/ns/nothing": {"Content-Type": "text/plain"},  # no freshness, no validator
        }
        for path, headers in cases.items():
            self.origin.set(path, headers=headers, body=b"x")
            for _ in range(2):
                st, _, body = self.get(path)
                self.assertEqual((st, body), (200, b"x"))
            self.assertEqual(self.origin.hits(path), 2, path)
        # A request with no-store, and one with Authorization.
        self.origin.set("/ns/req", headers={"Cache-Control": "max-age=60"}, body=b"y")
        self.get("/ns/req", headers={"Cache-Control": "no-store"})
        self.get("/ns/req", headers={"Authorization": "Basic eDp5"})
        self.assertEqual(self.origin.hits("/ns/req"), 2)
        self.get("/ns/req")
        self.get("/ns/req")
        self.assertEqual(self.origin.hits("/ns/req"), 3)  # stored by the third, served the fourth

    def test_stale_entry_is_revalidated_with_its_etag(self):
        self.origin.set("/reval", headers={"Cache-Control": "max-age=1", "ETag": '"v1"'},
                        body=b"version one", not_modified_if='"v1"')
        self.assertEqual(self.get("/reval")[2], b"version one")
        time.sleep(2.2)
        before = self.http_stats()
        st, h, body = self.get("/reval")
        self.assertEqual((st, body), (200, b"version one"))
        last = self.origin.last("/reval")
        self.assertEqual(last[2].get("If-None-Match"), '"v1"')
        self.assertEqual(self.http_stats()["http_revalidated"] - before["http_revalidated"], 1)
        # Freshened by the 304: served without the origin now.
        n = self.origin.hits("/reval")
        self.assertEqual(self.get("/reval")[2], b"version one")
        self.assertEqual(self.origin.hits("/reval"), n)

    def test_changed_object_replaces_the_stale_entry(self):
        self.origin.set("/change", headers={"Cache-Control": "max-age=1", "ETag": '"a"'},
                        body=b"old")
        self.assertEqual(self.get("/change")[2], b"old")
        self.origin.set("/change", headers={"Cache-Control": "max-age=60", "ETag": '"b"'},
                        body=b"new")
        time.sleep(2.2)
        self.assertEqual(self.get("/change")[2], b"new")
        self.assertEqual(self.get("/change")[2], b"new")
        self.assertEqual(self.origin.hits("/change"), 2)

    def test_client_conditionals_are_answered_from_the_store(self):
        self.origin.set("/cond", headers={"Cache-Control": "max-age=60", "ETag": 'W/"e1"',
                                          "Last-Modified": "Sun, 06 Nov 1994 08:49:37 GMT"},
                        body=b"conditional")
        self.get("/cond")
        st, h, body = self.get("/cond", headers={"If-None-Match": '"e1"'})
        self.assertEqual((st, body), (304, b""))
        self.assertEqual(h.get("etag"), 'W/"e1"')
        st, _, body = self.get("/cond", headers={"If-None-Match": '"other"'})
        self.assertEqual((st, body), (200, b"conditional"))
        st, _, _ = self.get("/cond",
                            headers={"If-Modified-Since": "Mon, 07 Nov 1994 08:49:37 GMT"})
        self.assertEqual(st, 304)
        self.assertEqual(self.origin.hits("/cond"), 1)

    def test_head_is_served_from_a_cached_get(self):
        self.origin.set("/head", headers={"Cache-Control": "max-age=60"}, body=b"12345")
        self.get("/head")
        st, h, body = self.get("/head", method="HEAD")
        self.assertEqual((st, body, h.get("content-length")), (200, b"", "5"))
        self.assertEqual(self.origin.hits("/head"), 1)

    def test_request_directives(self):
        self.origin.set("/rd", headers={"Cache-Control": "max-age=60"}, body=b"rd")
        self.get("/rd")
        self.get("/rd", headers={"Cache-Control": "no-cache"})  # must ask the origin
        self.assertEqual(self.origin.hits("/rd"), 2)
        # max-age=N: at most N seconds old (the RFC's "less than or equal").
        time.sleep(1.1)
        self.get("/rd", headers={"Cache-Control": "max-age=600"})
        self.assertEqual(self.origin.hits("/rd"), 2)
        self.get("/rd", headers={"Cache-Control": "max-age=0"})
        self.assertEqual(self.origin.hits("/rd"), 3)
        self.get("/rd", headers={"Pragma": "no-cache"})
        self.assertEqual(self.origin.hits("/rd"), 4)
        st, _, _ = self.get("/rd-missing", headers={"Cache-Control": "only-if-cached"})
        self.assertEqual(st, 504)
        self.assertEqual(self.origin.hits("/rd-missing"), 0)

    def test_max_stale_and_stale_if_error(self):
        self.origin.set("/stale", headers={"Cache-Control": "max-age=1, stale-if-error=60"},
                        body=b"stale ok")
        self.get("/stale")
        time.sleep(2.2)
        st, _, body = self.get("/stale", headers={"Cache-Control": "max-stale=30"})
        self.assertEqual((st, body), (200, b"stale ok"))
        self.assertEqual(self.origin.hits("/stale"), 1)
        # The origin fails: the stale entry is served within stale-if-error.
        self.origin.set("/stale", status=503, headers={"Cache-Control": "no-store"},
                        body=b"down")
        st, _, body = self.get("/stale")
        self.assertEqual((st, body), (200, b"stale ok"))

    def test_stale_while_revalidate_refreshes_in_the_background(self):
        self.origin.set("/swr", headers={"Cache-Control": "max-age=1, stale-while-revalidate=60",
                                         "ETag": '"s1"'}, body=b"first")
        self.assertEqual(self.get("/swr")[2], b"first")
        time.sleep(2.2)
        self.origin.set("/swr", headers={"Cache-Control": "max-age=60", "ETag": '"s2"'},
                        body=b"second", delay=0.5)
        before = self.http_stats()
        st, h, body = self.get("/swr")
        self.assertEqual((st, body), (200, b"first"))  # at once, without waiting for the origin
        self.assertGreaterEqual(int(h["age"]), 2)
        deadline = time.time() + 10
        while self.origin.hits("/swr") < 2 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.origin.hits("/swr"), 2)
        self.assertEqual(self.origin.last("/swr")[2].get("If-None-Match"), '"s1"')
        # Once the refresh is stored, the new response is a fresh hit.
        deadline = time.time() + 10
        while self.get("/swr")[2] != b"second" and time.time() < deadline:
            time.sleep(0.05)
        st, _, body = self.get("/swr")
        self.assertEqual((st, body), (200, b"second"))
        self.assertEqual(self.origin.hits("/swr"), 2)
        after = self.http_stats()
        self.assertEqual(after["http_refreshes"] - before["http_refreshes"], 1)

    def test_vary_selects_by_request_fields(self):
        self.origin.set("/vary", headers={"Cache-Control": "max-age=60", "Vary": "Accept-Encoding"},
                        body=b"varied")
        self.get("/vary", headers={"Accept-Encoding": "gzip"})
        self.get("/vary", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(self.origin.hits("/vary"), 1)
        self.get("/vary", headers={"Accept-Encoding": "identity"})  # another variant
        self.assertEqual(self.origin.hits("/vary"), 2)

    def test_each_variant_is_kept(self):
        def lang(headers):
            return b"hello " + (headers.get("Accept-Language") or "none").encode()
        self.origin.set("/variants", headers={"Cache-Control": "max-age=600",
                                              "Vary": "Accept-Language"}, body=lang)
        for want in ("en", "fr", "de"):
            st, _, body = self.get("/variants", headers={"Accept-Language": want})
            self.assertEqual((st, body), (200, b"hello " + want.encode()))
        self.assertEqual(self.origin.hits("/variants"), 3)
        # Every variant is served from the store, whitespace normalised.
        for want, sent in (("en", "en"), ("fr", "  fr "), ("de", "de")):
            st, _, body = self.get("/variants", headers={"Accept-Language": sent})
            self.assertEqual((st, body), (200, b"hello " + want.encode()))
        st, _, body = self.get("/variants")  # no Accept-Language: a variant of its own
        self.assertEqual(body, b"hello none")
        self.assertEqual(self.origin.hits("/variants"), 4)
        # A purge removes them all; none comes back.
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PURGE",
                            f"http://127.0.0.1:{self.http_port}/variants"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.stdout, b"200")
        for want in ("en", "fr"):
            self.get("/variants", headers={"Accept-Language": want})
        self.assertEqual(self.origin.hits("/variants"), 6)
        # A response that varies on another field starts over.
        self.origin.set("/variants", headers={"Cache-Control": "max-age=600", "Vary": "X-Other"},
                        body=b"other")
        self.origin.set("/variants", headers={"Cache-Control": "max-age=600", "Vary": "X-Other"},
                        body=b"other")
        st, _, body = self.get("/variants", headers={"Accept-Language": "en", "Cache-Control":
                                                     "no-cache"})
        self.assertEqual(body, b"other")
        st, _, body = self.get("/variants", headers={"Accept-Language": "fr"})
        self.assertEqual(body, b"other")  # the fr variant of the old marker is gone
        self.assertEqual(self.origin.hits("/variants"), 7)

    def test_chunked_origin_response_is_streamed_and_stored(self):
        body = os.urandom(300000)
        self.origin.set("/chunked", headers={"Cache-Control": "max-age=60"}, body=body,
                        chunked=True)
        out = subprocess.run(["curl", "-sS", "--fail", f"http://127.0.0.1:{self.http_port}/chunked"],
                             capture_output=True, timeout=20, check=True).stdout
        self.assertEqual(out, body)
        out = subprocess.run(["curl", "-sS", "--fail", f"http://127.0.0.1:{self.http_port}/chunked"],
                             capture_output=True, timeout=20, check=True).stdout
        self.assertEqual(out, body)
        self.assertEqual(self.origin.hits("/chunked"), 1)

    def test_large_object_passes_through_uncached(self):
        body = os.urandom(10 << 20)  # over --http-max-object (64 MiB store / 8)
        self.origin.set("/large", headers={"Cache-Control": "max-age=60"}, body=body)
        for _ in range(2):
            st, _, got = self.get("/large")
            self.assertEqual((st, got), (200, body))
        self.assertEqual(self.origin.hits("/large"), 2)

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        self.origin.set("/ka", headers={"Cache-Control": "max-age=60"}, body=b"ka")
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        for _ in range(5):
            c.request("GET", "/ka")
            r = c.getresponse()
            self.assertEqual(r.read(), b"ka")
        c.close()
        # Pipelined on one socket.
        out = self.raw(b"GET /ka HTTP/1.1\r\nHost: a\r\n\r\nGET /ka HTTP/1.1\r\nHost: a\r\n"
                       b"Connection: close\r\n\r\n")
        self.assertEqual(out.count(b"HTTP/1.1 200"), 2)


class Ranges(HttpTest):
    """Range requests (RFC 9110 §14): served from the stored representation;
    a miss fetches the whole representation (to store it) and sends the
    client only its range."""

    BODY = bytes(range(256)) * 40  # 10,240 bytes

    def setUp(self):
        self.origin.set("/rng", headers={"Cache-Control": "max-age=600", "ETag": '"r1"',
                                         "Content-Type": "application/octet-stream",
                                         "Last-Modified": "Sun, 06 Nov 1994 08:49:37 GMT"},
                        body=self.BODY)

    def test_a_miss_sends_the_range_and_stores_the_whole(self):
        self.origin.set("/rng-miss", headers={"Cache-Control": "max-age=600"}, body=self.BODY)
        st, h, body = self.get("/rng-miss", headers={"Range": "bytes=100-199"})
        self.assertEqual((st, h.get("content-range"), body),
                         (206, "bytes 100-199/10240", self.BODY[100:200]))
        self.assertNotIn("Range", self.origin.last("/rng-miss")[2])  # asked for the whole
        st, h, body = self.get("/rng-miss")
        self.assertEqual((st, body), (200, self.BODY))
        self.assertEqual(self.origin.hits("/rng-miss"), 1)

    def test_ranges_from_the_store(self):
        self.get("/rng")
        for rng, want in (("bytes=0-0", self.BODY[:1]), ("bytes=-10", self.BODY[-10:]),
                          ("bytes=10230-", self.BODY[10230:]),
                          ("bytes=5000-99999", self.BODY[5000:])):
            st, h, body = self.get("/rng", headers={"Range": rng})
            self.assertEqual((st, body), (206, want), rng)
            self.assertTrue(h["content-range"].endswith("/10240"), h)
        # curl's --range, too.
        r = subprocess.run(["curl", "-sS", "-r", "3-6", f"http://127.0.0.1:{self.http_port}/rng"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.stdout, self.BODY[3:7], r)
        self.assertEqual(self.origin.hits("/rng"), 1)

    def test_several_ranges_are_multipart(self):
        self.get("/rng")
        st, h, body = self.get("/rng", headers={"Range": "bytes=20-29, 0-9, 5-12"})
        self.assertEqual(st, 206)
        ctype = h["content-type"]
        self.assertTrue(ctype.startswith("multipart/byteranges; boundary="), ctype)
        boundary = ctype.split("boundary=")[1].encode()
        self.assertEqual(int(h["content-length"]), len(body))
        self.assertTrue(body.endswith(b"\r\n--" + boundary + b"--\r\n"), body[-80:])
        parts = [p for p in body.split(b"--" + boundary) if p.strip(b"\r\n-")]
        # Overlapping 0-9 and 5-12 are coalesced; ascending order.
        self.assertEqual(len(parts), 2, parts)
        for part, (first, last) in zip(parts, ((0, 12), (20, 29))):
            head, data = part.split(b"\r\n\r\n", 1)
            self.assertIn(b"Content-Type: application/octet-stream", head)
            self.assertIn(b"Content-Range: bytes %d-%d/10240" % (first, last), head)
            self.assertEqual(data.rstrip(b"\r\n")[:last - first + 1],
                             self.BODY[first:last + 1])

    def test_unsatisfiable_invalid_and_conditional_ranges(self):
        self.get("/rng")
        st, h, body = self.get("/rng", headers={"Range": "bytes=20000-"})
        self.assertEqual((st, h.get("content-range"), body), (416, "bytes */10240", b""))
        for ignored in ("bytes=5-2", "lines=1-2", "bytes=" + ",".join(["1-1"] * 17)):
            st, _, body = self.get("/rng", headers={"Range": ignored})
            self.assertEqual((st, body), (200, self.BODY), ignored)
        st, _, body = self.get("/rng", headers={"Range": "bytes=0-3", "If-Range": '"r1"'})
        self.assertEqual((st, body), (206, self.BODY[:4]))
        st, _, body = self.get("/rng", headers={"Range": "bytes=0-3", "If-Range": '"r0"'})
        self.assertEqual((st, body), (200, self.BODY))
        st, _, body = self.get("/rng", headers={"Range": "bytes=0-3",
                                                "If-Range": "Sun, 06 Nov 1994 08:49:37 GMT"})
        self.assertEqual((st, body), (206, self.BODY[:4]))
        st, h, body = self.get("/rng", method="HEAD", headers={"Range": "bytes=0-3"})
        self.assertEqual((st, h.get("content-length"), body), (200, "10240", b""))
        self.assertEqual(self.origin.hits("/rng"), 1)

    def test_a_range_of_an_unstored_response_then_the_next_request(self):
        big = bytes(range(251)) * 8000  # ~2 MB, not stored
        self.origin.set("/rng-pass", headers={"Cache-Control": "no-store"}, body=big)
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        try:
            for rng, want in (("bytes=10-19", big[10:20]), ("bytes=-5", big[-5:])):
                c.request("GET", "/rng-pass", headers={"Range": rng})
                r = c.getresponse()
                self.assertEqual((r.status, r.read()), (206, want), rng)
            # The same client connection goes on.
            c.request("GET", "/rng")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, self.BODY))
        finally:
            c.close()

    def test_a_chunked_miss_is_sent_whole_then_ranges_come_from_the_store(self):
        self.origin.set("/rng-chunked", headers={"Cache-Control": "max-age=600"},
                        body=self.BODY, chunked=True)
        st, _, body = self.get("/rng-chunked", headers={"Range": "bytes=0-9"})
        self.assertEqual((st, body), (200, self.BODY))  # length unknown at the head
        st, _, body = self.get("/rng-chunked", headers={"Range": "bytes=0-9"})
        self.assertEqual((st, body), (206, self.BODY[:10]))
        self.assertEqual(self.origin.hits("/rng-chunked"), 1)


class Collapsing(HttpTest):
    """Concurrent misses of one URL make one origin fetch; the others wait and
    are served the stored response. A response that is not stored does not
    make them queue behind each other."""

    def concurrently(self, path, n, headers=None):
        import threading
        results = [None] * n

        def one(i):
            results[i] = self.get(path, headers=headers)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        return results

    def test_concurrent_misses_make_one_fetch(self):
        self.origin.set("/col", headers={"Cache-Control": "max-age=600"}, body=b"one fetch",
                        delay=0.8)
        before = self.http_stats()
        results = self.concurrently("/col", 8)
        self.assertEqual([(r[0], r[2]) for r in results], [(200, b"one fetch")] * 8)
        self.assertEqual(self.origin.hits("/col"), 1)
        after = self.http_stats()
        self.assertEqual(after["http_collapsed"] - before["http_collapsed"], 7)

    def test_stale_entries_are_revalidated_once(self):
        # max-age=2: the refreshed entry is fresh for at least a second
        # whatever the rounding of Date to whole seconds.
        self.origin.set("/col-reval", headers={"Cache-Control": "max-age=2", "ETag": '"c1"'},
                        body=b"revalidate me", not_modified_if='"c1"', delay=0.5)
        self.assertEqual(self.get("/col-reval")[2], b"revalidate me")
        time.sleep(3.2)
        results = self.concurrently("/col-reval", 6)
        self.assertEqual([(r[0], r[2]) for r in results], [(200, b"revalidate me")] * 6)
        self.assertEqual(self.origin.hits("/col-reval"), 2)

    def test_unstored_responses_do_not_queue(self):
        self.origin.set("/col-pass", headers={"Cache-Control": "no-store"}, body=b"each his own",
                        delay=0.8)
        results = self.concurrently("/col-pass", 6)
        self.assertEqual([(r[0], r[2]) for r in results], [(200, b"each his own")] * 6)
        self.assertEqual(self.origin.hits("/col-pass"), 6)
        # Released when the leader's response head said "not stored": the
        # others fetched side by side, not one after another.
        self.assertGreaterEqual(self.origin.max_concurrent("/col-pass"), 2)

    def test_waiters_survive_a_leader_that_goes_away(self):
        self.origin.set("/col-gone", headers={"Cache-Control": "max-age=600"}, body=b"still here",
                        delay=0.8)
        leader = socket.create_connection(("127.0.0.1", self.http_port), timeout=5)
        leader.sendall(b"GET /col-gone HTTP/1.1\r\nHost: a\r\n\r\n")
        time.sleep(0.2)
        import threading
        got = {}
        t = threading.Thread(target=lambda: got.update(r=self.get("/col-gone")))
        t.start()
        time.sleep(0.2)
        leader.close()
        t.join(30)
        self.assertEqual((got["r"][0], got["r"][2]), (200, b"still here"))


class Invalidation(HttpTest):
    def test_purge_from_loopback(self):
        self.origin.set("/p", headers={"Cache-Control": "max-age=60"}, body=b"purge me")
        self.get("/p")
        st, _, _ = self.get("/p", method="PURGE")
        self.assertEqual(st, 200)
        st, _, _ = self.get("/p", method="PURGE")
        self.assertEqual(st, 404)
        self.get("/p")
        self.assertEqual(self.origin.hits("/p"), 2)

    def test_unsafe_request_invalidates(self):
        self.origin.set("/inv", headers={"Cache-Control": "max-age=60"}, body=b"before")
        self.origin.set("/other", headers={"Cache-Control": "max-age=60"}, body=b"other")
        self.get("/inv")
        self.get("/other")
        self.origin.set("/inv", status=200, headers={"Cache-Control": "max-age=60",
                                                     "Content-Location": "/other"}, body=b"ok")
        st, _, body = self.get("/inv", method="POST", body=b"data=1")
        self.assertEqual((st, body), (200, b"ok"))
        self.assertEqual(self.origin.last("/inv")[3], b"data=1")
        self.get("/inv")
        self.get("/other")
        self.assertEqual(self.origin.hits("/inv"), 3)   # GET, POST, GET again
        self.assertEqual(self.origin.hits("/other"), 2)  # invalidated by Content-Location


class NoPurge(HttpTest):
    EXTRA = ("--http-purge", "none")

    def test_purge_refused(self):
        st, _, _ = self.get("/x", method="PURGE")
        self.assertEqual(st, 403)


class Defences(HttpTest):
    def status_of(self, data):
        out = self.raw(data)
        self.assertTrue(out.startswith(b"HTTP/1.1 "), out[:80])
        return int(out[9:12])

    def test_smuggling_shapes_are_refused(self):
        self.origin.set("/s", headers={"Cache-Control": "max-age=60"}, body=b"s")
        shapes = [
            b"POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST /s HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            b"GET /s HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n",
            b"GET /s HTTP/1.1\r\nHost : a\r\n\r\n",
            b"GET /s HTTP/1.1\r\nHost: a\nX: y\r\n\r\n",
            b"GET /s HTTP/1.1\r\n\r\n",
            b"GET /s HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            b"POST /s HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ]
        for data in shapes:
            self.assertEqual(self.status_of(data), 400, data)
        self.assertEqual(self.status_of(b"POST /s HTTP/1.1\r\nHost: a\r\n"
                                        b"Transfer-Encoding: gzip\r\n\r\n"), 501)
        self.assertEqual(self.status_of(b"GET /s HTTP/2.0\r\nHost: a\r\n\r\n"), 505)
        self.assertEqual(self.status_of(b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n"), 414)
        self.assertEqual(self.status_of(b"GET /s HTTP/1.1\r\nHost: a\r\n" +
                                        b"X-Big: " + b"b" * 70000 + b"\r\n\r\n"), 431)
        # The origin never saw any of them.
        self.assertEqual(self.origin.hits("/s"), 0)
        # And the proxy still serves.
        self.assertEqual(self.get("/s")[2], b"s")

    def test_chunked_request_body_is_forwarded(self):
        self.origin.set("/post", headers={"Cache-Control": "no-store"}, body=b"got it")
        out = self.raw(b"POST /post HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                       b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        self.assertIn(b"got it", out)
        self.assertEqual(self.origin.last("/post")[3], b"hello world")


class SlowOrigin(HttpTest):
    EXTRA = ("--http-origin-timeout", "1")

    def test_slow_origin_is_a_504(self):
        self.origin.set("/slow", headers={"Cache-Control": "max-age=60"}, body=b"late", delay=3)
        st, _, _ = self.get("/slow")
        self.assertEqual(st, 504)


class HostOrigins(unittest.TestCase):
    """--http-host-origin sends each Host to its own origin; the TOML config
    takes the same keys; a malformed value is refused with one clear line."""

    def request(self, port, host, path):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            c.request("GET", path, headers={"Host": host})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def test_hosts_go_to_their_origins(self):
        a, b = Origin(), Origin()
        port = free_port()
        a.set("/who", headers={"Cache-Control": "max-age=600"}, body=b"default")
        b.set("/who", headers={"Cache-Control": "max-age=600"}, body=b"b origin")
        srv = harness.Server(("--http-port", str(port), "--http-origin",
                              f"http://127.0.0.1:{a.port}", "--http-host-origin",
                              f"b.test=http://127.0.0.1:{b.port},c.test:81=http://127.0.0.1:{b.port}"))
        try:
            srv.start()
            self.assertEqual(self.request(port, "a.test", "/who"), (200, b"default"))
            self.assertEqual(self.request(port, "B.Test", "/who"), (200, b"b origin"))
            self.assertEqual(self.request(port, "b.test:8080", "/who"), (200, b"b origin"))
            self.assertEqual(self.request(port, "c.test:81", "/who"), (200, b"b origin"))
            self.assertEqual(self.request(port, "c.test", "/who"), (200, b"default"))
            self.assertEqual(b.last("/who")[2].get("Host"), "c.test:81")  # Host passed as sent
            # Each host's copy is cached apart: no new origin request.
            self.assertEqual(self.request(port, "b.test", "/who"), (200, b"b origin"))
            self.assertEqual((a.hits("/who"), b.hits("/who")), (2, 3))
        finally:
            self.assertEqual(srv.stop(), 0)
            srv.cleanup()
            a.close()
            b.close()

    def test_toml_config(self):
        a, b = Origin(), Origin()
        port = free_port()
        b.set("/t", headers={"Cache-Control": "max-age=600"}, body=b"from toml")
        srv = harness.Server(())
        conf = os.path.join(srv.tmp, "cossd.toml")
        with open(conf, "w") as f:
            f.write(f'http-port = {port}\nhttp-origin = "http://127.0.0.1:{a.port}"\n'
                    f'http-host-origin = ["t.test=http://127.0.0.1:{b.port}"]\n'
                    f'http-max-object = "64k"\n')
        srv.args += ["--config", conf]
        try:
            srv.start()
            self.assertEqual(self.request(port, "t.test", "/t"), (200, b"from toml"))
        finally:
            self.assertEqual(srv.stop(), 0)
            srv.cleanup()
            a.close()
            b.close()

    def test_bad_values_are_refused(self):
        origin = "http://127.0.0.1:1"
        cases = [
            (("--http-host-origin", "a.test=http://127.0.0.1:2"), "needs --http-origin"),
            (("--http-origin", origin, "--http-host-origin", "a.test"), "expected HOST="),
            (("--http-origin", origin, "--http-host-origin", "a.test=ftp://x"), "expected http://"),
            (("--http-origin", origin, "--http-host-origin", "a/b=http://x"), "not a host name"),
            (("--http-origin", origin, "--http-host-origin", "a=http://x,A=http://y"),
             "given twice"),
            (("--http-port", "1", "--http-origin", "ftp://x"), "expected http://"),
            (("--http-port", "1"), "needs --http-origin"),
            (("--http-origin", origin, "--http-max-object", "1t"), "half the store"),
            (("--http-heuristic-percent", "101"), "expected 0..100"),
        ]
        for args, want in cases:
            r = subprocess.run([harness.COSSD, *args], capture_output=True, timeout=30, text=True)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(want, r.stderr, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class Drain(unittest.TestCase):
    """SIGTERM: the proxy stops accepting, closes idle keep-alive connections,
    and lets a running exchange finish before cossd exits."""

    def test_running_exchanges_finish_on_sigterm(self):
        import threading
        origin = Origin()
        port = free_port()
        body = os.urandom(200000)
        origin.set("/slow", headers={"Cache-Control": "max-age=600"}, body=body, delay=1.5)
        srv = harness.Server(("--http-port", str(port), "--http-origin",
                              f"http://127.0.0.1:{origin.port}"))
        try:
            srv.start()
            idle = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            idle.request("GET", "/nothing-here")  # a 404 through, then idle keep-alive
            idle.getresponse().read()
            got = {}

            def fetch():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("GET", "/slow")
                r = c.getresponse()
                got["r"] = (r.status, r.read(), r.getheader("Connection"))

            t = threading.Thread(target=fetch)
            t.start()
            deadline = time.time() + 10
            while origin.hits("/slow") == 0 and time.time() < deadline:
                time.sleep(0.02)
            srv.proc.send_signal(signal.SIGTERM)
            # The idle connection is closed at once (EOF), not after the drain.
            idle.sock.settimeout(5)
            self.assertEqual(idle.sock.recv(1), b"")
            t.join(30)
            self.assertEqual(got["r"][:2], (200, body))
            self.assertEqual(got["r"][2], "close")
            self.assertEqual(srv.proc.wait(30), 0)
            self.assertIn("bye", srv.read_log())
        finally:
            srv.stop()
            srv.cleanup()
            origin.close()


class DeadOrigin(unittest.TestCase):
    def test_unreachable_origin_is_a_502(self):
        port = free_port()
        srv = harness.Server(("--http-port", str(port), "--http-origin",
                              f"http://127.0.0.1:{free_port()}"))
        srv.start()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/x")
            self.assertEqual(c.getresponse().status, 502)
            c.close()
        finally:
            self.assertEqual(srv.stop(), 0)
            srv.cleanup()


class RawOrigin:
    """An origin written on sockets, for what http.server cannot do on
    purpose: on each connection it answers the first request (keeping the
    connection open), and closes the connection when a second one arrives, as
    an origin whose idle timeout fires just then would. /until-close is
    answered after an interim 100 response, with a body that ends when the
    connection closes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests = []  # (connection number, method, path)
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self.serve, args=(conn, number), daemon=True).start()

    def serve(self, conn, number):
        buf = b""
        answered = 0
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = conn.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                while len(buf) < length:
                    buf += conn.recv(65536)
                buf = buf[length:]
                with self.lock:
                    self.requests.append((number, method, path))
                if answered:
                    return  # the idle timeout fired as the request came
                answered += 1
                if path == "/until-close":
                    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n"
                                 b"HTTP/1.1 200 OK\r\nCache-Control: no-store\r\n\r\n"
                                 b"body until close")
                    return
                body = b"connection %d" % number
                conn.sendall(b"HTTP/1.1 200 OK\r\nCache-Control: no-store\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        finally:
            conn.close()

    def close(self):
        self.sock.close()


class OriginConnections(unittest.TestCase):
    """The origin side's connection handling (httpd/origin_exchange.h)."""

    def test_a_pooled_connection_closed_by_the_origin(self):
        origin = RawOrigin()
        port = free_port()
        srv = harness.Server(("--http-port", str(port), "--http-origin",
                              f"http://127.0.0.1:{origin.port}"))
        srv.start()

        def ask(method, path):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                c.request(method, path, body=b"x" if method == "POST" else None)
                r = c.getresponse()
                return r.status, r.read()
            finally:
                c.close()

        try:
            self.assertEqual(ask("GET", "/a"), (200, b"connection 1"))
            # The pooled connection 1 is closed as /b arrives: a GET may be sent
            # twice, so it is, on a new connection.
            self.assertEqual(ask("GET", "/b"), (200, b"connection 2"))
            # A POST may not: the client hears of the failure.
            st, _ = ask("POST", "/c")
            self.assertEqual(st, 502)
            self.assertEqual([r for r in origin.requests if r[2] == "/c"], [(2, "POST", "/c")])
            # An interim response is skipped; a body may end with the connection.
            self.assertEqual(ask("GET", "/until-close"), (200, b"body until close"))
            self.assertEqual(origin.requests[:3],
                             [(1, "GET", "/a"), (1, "GET", "/b"), (2, "GET", "/b")])
        finally:
            self.assertEqual(srv.stop(), 0)
            srv.cleanup()
            origin.close()


class Heuristic(HttpTest):
    """--http-heuristic-percent / --http-heuristic-max: a response with only
    Last-Modified is fresh for that share of its age, capped."""

    EXTRA = ("--http-heuristic-percent", "100", "--http-heuristic-max", "3")

    def test_lifetime_is_a_share_of_the_age_capped(self):
        from email.utils import formatdate
        self.origin.set("/heur", headers={"Last-Modified": formatdate(time.time() - 86400,
                                                                      usegmt=True)},
                        body=b"guessed")
        self.assertEqual(self.get("/heur")[2], b"guessed")
        self.assertEqual(self.get("/heur")[2], b"guessed")
        self.assertEqual(self.origin.hits("/heur"), 1)  # fresh: 100 % of a day, capped at 3 s
        time.sleep(4.2)
        self.assertEqual(self.get("/heur")[2], b"guessed")
        self.assertEqual(self.origin.hits("/heur"), 2)  # the cap passed: revalidated


def parse_multipart(body, boundary):
    """The parts of a multipart/byteranges body as (first, last, bytes), checking
    its framing exactly (RFC 9110 §14.6): nothing before, between or after."""
    parts, pos = [], 0
    while True:
        delim = (b"\r\n" if pos else b"") + b"--" + boundary
        assert body.startswith(delim, pos), body[pos:pos + 80]
        pos += len(delim)
        if body.startswith(b"--\r\n", pos):
            pos += 4
            break
        assert body.startswith(b"\r\n", pos)
        end = body.index(b"\r\n\r\n", pos)
        head, pos = body[pos + 2:end], end + 4
        cr = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-range:")]
        assert len(cr) == 1, head
        first, last = map(int, cr[0].split(b" ")[-1].split(b"/")[0].split(b"-"))
        parts.append((first, last, body[pos:pos + last - first + 1]))
        pos += last - first + 1
    assert pos == len(body), (pos, len(body))
    return parts


class LargeObjects(HttpTest):
    """Bodies over the item limit (-I 64k here) are stored as chunks and served
    from them, ranges included; they survive a kill -9 once received whole."""

    EXTRA = ("-I", "64k", "--http-max-object", "16m")

    def test_a_large_body_is_stored_in_chunks_and_served_from_them(self):
        body = os.urandom(3 << 20)
        self.origin.set("/big", headers={"Cache-Control": "max-age=600", "ETag": '"b1"'},
                        body=body)
        before = self.http_stats()
        for _ in range(3):
            st, h, got = self.get("/big")
            self.assertEqual((st, len(got), got == body), (200, len(body), True))
        self.assertEqual(self.origin.hits("/big"), 1)
        after = self.http_stats()
        self.assertEqual(after["http_hits"] - before["http_hits"], 2)
        self.assertEqual(after["http_chunks_missing"], before["http_chunks_missing"])
        # curl, too; and HEAD.
        r = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{self.http_port}/big"],
                           capture_output=True, timeout=60)
        self.assertTrue(r.stdout == body, (r.returncode, len(r.stdout)))
        st, h, got = self.get("/big", method="HEAD")
        self.assertEqual((st, h["content-length"], got), (200, str(len(body)), b""))

    def test_ranges_of_a_chunked_body(self):
        body = os.urandom(1 << 20)
        self.origin.set("/big-r", headers={"Cache-Control": "max-age=600"}, body=body)
        self.get("/big-r")
        for rng, want in (("bytes=100000-300000", body[100000:300001]),
                          ("bytes=-70000", body[-70000:]), ("bytes=0-0", body[:1]),
                          ("bytes=65535-65536", body[65535:65537])):
            st, h, got = self.get("/big-r", headers={"Range": rng})
            self.assertEqual((st, got == want, len(got)), (206, True, len(want)), rng)
        st, h, _ = self.get("/big-r", headers={"Range": "bytes=2000000-"})
        self.assertEqual((st, h["content-range"]), (416, "bytes */1048576"))
        # Several ranges: multipart/byteranges streamed from the chunks (60 KiB
        # each here): two in one chunk, one across three chunks, one that
        # starts in the chunk where the previous one ends, the body's last byte.
        spec = [(0, 9), (20, 29), (61000, 190000), (190100, 190200), (1048575, 1048575)]
        st, h, got = self.get("/big-r", headers={
            "Range": "bytes=" + ",".join(f"{a}-{b}" for a, b in reversed(spec))})
        self.assertEqual(st, 206)
        ctype = h["content-type"]
        self.assertTrue(ctype.startswith("multipart/byteranges; boundary="), ctype)
        self.assertEqual(int(h["content-length"]), len(got))
        parts = parse_multipart(got, ctype.split("boundary=")[1].encode())
        self.assertEqual([(a, b) for a, b, _ in parts], spec)  # ascending
        for a, b, data in parts:
            self.assertTrue(data == body[a:b + 1], (a, b))
        # Range is defined for GET only (RFC 9110 §14.2): a HEAD gets the whole head.
        st, h, got = self.get("/big-r", method="HEAD", headers={"Range": "bytes=0-9,20-29"})
        self.assertEqual((st, h["content-length"], got), (200, str(len(body)), b""))
        self.assertEqual(self.origin.hits("/big-r"), 1)

    def test_a_chunked_transfer_of_unknown_length_is_stored_too(self):
        body = os.urandom(700000)
        self.origin.set("/big-c", headers={"Cache-Control": "max-age=600"}, body=body,
                        chunked=True)
        for _ in range(2):
            st, _, got = self.get("/big-c")
            self.assertEqual((st, got == body), (200, True))
        self.assertEqual(self.origin.hits("/big-c"), 1)

    def test_over_the_object_limit_passes_through(self):
        body = os.urandom(17 << 20)
        self.origin.set("/huge", headers={"Cache-Control": "max-age=600"}, body=body)
        for _ in range(2):
            st, _, got = self.get("/huge")
            self.assertEqual((st, got == body), (200, True))
        self.assertEqual(self.origin.hits("/huge"), 2)


class LargeObjectEviction(unittest.TestCase):
    """The ring evicts oldest first, so a large entry's first chunks go before
    the entry itself (written last). Such an entry is a miss, never a cut or
    partial body: the proxy checks every chunk in the index before it answers."""

    def test_an_entry_missing_a_chunk_is_a_miss(self):
        origin = Origin()
        port = free_port()
        body = os.urandom(3 << 20)
        origin.set("/evict", headers={"Cache-Control": "max-age=600"}, body=body)
        srv = harness.Server(("--http-port", str(port), "--http-origin",
                              f"http://127.0.0.1:{origin.port}", "-I", "64k",
                              "--http-max-object", "6m", "--relocation", "never"),
                             store_size="16m")

        def get(extra=None, method="GET"):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request(method, "/evict", headers=extra or {})
            r = c.getresponse()
            out = (r.status, r.read())
            c.close()
            return out

        try:
            srv.start()
            self.assertEqual(get(), (200, body))
            mc = srv.connect()
            filler = b"f" * 60000
            outcome = None
            # Up to ~90 MiB of other objects (admission keeps about half of
            # them off the ring): the 16 MiB ring wraps several times.
            for i in range(1500):
                self.assertEqual(mc.call(b"set fill%d 0 0 %d\r\n%s\r\n" % (i, len(filler), filler)),
                                 b"STORED\r\n")
                if i % 4:
                    continue
                # HEAD: the chunks are checked in the index, not read (a read
                # could make the store keep them: reinsertion of read objects).
                st, got = get({"Cache-Control": "only-if-cached"}, "HEAD")
                if st == 200:
                    continue
                self.assertEqual(st, 504)
                outcome = i
                break
            self.assertIsNotNone(outcome, "the ring never evicted the entry")
            c = srv.connect()
            chunks_missing = int(stats(c)["http_chunks_missing"])
            c.close()
            self.assertGreaterEqual(chunks_missing, 1, f"evicted after {outcome} fills")  # a chunk went first, and was seen
            # The next request fetches and stores it again.
            self.assertEqual(get(), (200, body))
            self.assertEqual(origin.hits("/evict"), 2)
            self.assertEqual(get({"Cache-Control": "only-if-cached"}), (200, body))
        finally:
            srv.stop()
            srv.cleanup()
            origin.close()


    def test_a_large_body_is_admitted_whole_when_admission_is_busy(self):
        # The default policy keeps new keys off a full ring at times; the
        # chunks of one body skip it, or the entry would lack some of them.
        origin = Origin()
        port = free_port()
        body = os.urandom(2 << 20)
        origin.set("/admit", headers={"Cache-Control": "max-age=600"}, body=body)
        srv = harness.Server(("--http-port", str(port), "--http-origin",
                              f"http://127.0.0.1:{origin.port}", "-I", "64k",
                              "--http-max-object", "6m"), store_size="16m")
        try:
            srv.start()
            mc = srv.connect()
            filler = b"f" * 60000
            for i in range(600):
                mc.call(b"set fill%d 0 0 %d\r\n%s\r\n" % (i, len(filler), filler))
            self.assertGreater(int(stats(mc)["coss_admission_rejected"]), 0)
            for _ in range(3):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("GET", "/admit")
                r = c.getresponse()
                self.assertEqual((r.status, r.read() == body), (200, True))
                c.close()
            self.assertEqual(origin.hits("/admit"), 1)
            self.assertEqual(int(stats(mc)["http_chunks_missing"]), 0)
        finally:
            srv.stop()
            srv.cleanup()
            origin.close()


class LargeObjectRestart(unittest.TestCase):
    def test_a_chunked_entry_survives_a_kill(self):
        origin = Origin()
        port = free_port()
        body = os.urandom(2 << 20)
        origin.set("/big-k", headers={"Cache-Control": "max-age=600"}, body=body)
        srv = harness.Server(("--http-port", str(port), "--http-origin",
                              f"http://127.0.0.1:{origin.port}", "-I", "64k",
                              "--max-buffer-age", "1"))

        def get():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/big-k")
            r = c.getresponse()
            out = (r.status, r.read())
            c.close()
            return out

        try:
            srv.start()
            self.assertEqual(get(), (200, body))
            # A value still in the open stripe buffer is a miss after a crash
            # (never stale); --max-buffer-age 1 writes the buffer within a second.
            time.sleep(2.5)
            srv.stop(sig=signal.SIGKILL)
            srv.start()
            self.assertEqual(get(), (200, body))
            self.assertEqual(origin.hits("/big-k"), 1)
        finally:
            srv.stop()
            srv.cleanup()
            origin.close()


class Restart(unittest.TestCase):
    def test_entries_survive_a_clean_stop_and_a_kill(self):
        origin = Origin()
        port = free_port()
        args = ("--http-port", str(port), "--http-origin", f"http://127.0.0.1:{origin.port}")
        srv = harness.Server(args)
        srv.start()

        def get(path, method="GET"):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request(method, path)
            r = c.getresponse()
            out = (r.status, r.read())
            c.close()
            return out

        try:
            origin.set("/keep", headers={"Cache-Control": "max-age=600"}, body=b"kept")
            origin.set("/gone", headers={"Cache-Control": "max-age=600"}, body=b"old version")
            self.assertEqual(get("/keep"), (200, b"kept"))
            self.assertEqual(get("/gone"), (200, b"old version"))
            self.assertEqual(srv.stop(), 0)  # clean stop
            srv.start()
            self.assertEqual(get("/keep"), (200, b"kept"))
            self.assertEqual(origin.hits("/keep"), 1)
            # A purge answered 200 is durable: a kill -9 right after it does not
            # bring the purged version back.
            self.assertEqual(get("/gone", "PURGE")[0], 200)
            srv.stop(sig=signal.SIGKILL)
            origin.set("/gone", headers={"Cache-Control": "max-age=600"}, body=b"new version")
            srv.start()
            self.assertEqual(get("/gone"), (200, b"new version"))
            self.assertEqual(get("/keep"), (200, b"kept"))
            self.assertEqual(origin.hits("/keep"), 1)
        finally:
            srv.stop()
            srv.cleanup()
            origin.close()


METRICS_PORT = free_port()


class DurabilityFailure(unittest.TestCase):
    """With --write-ack durable, a client never gets the whole of a response
    whose stored copy (or a purge) could not be made durable: fdatasync is
    failed on demand ($COSS_FAULT_SYNC_FAIL_FILE, src/io/sync_fault.cc)."""

    def test_tail_is_withheld_when_the_store_cannot_sync(self):
        origin = Origin()
        port = free_port()
        srv = harness.Server(("--http-port", str(port), "--http-origin",
                              f"http://127.0.0.1:{origin.port}", "--write-ack", "durable"))
        trigger = os.path.join(srv.tmp, "fail-syncs")
        os.environ["COSS_FAULT_SYNC_FAIL_FILE"] = trigger
        try:
            srv.start()
        finally:
            del os.environ["COSS_FAULT_SYNC_FAIL_FILE"]
        url = f"http://127.0.0.1:{port}"
        try:
            origin.set("/ok", headers={"Cache-Control": "max-age=600"}, body=b"stored fine")
            origin.set("/late", headers={"Cache-Control": "max-age=600"}, body=b"never whole")
            origin.set("/pass", headers={"Cache-Control": "no-store"}, body=b"not stored")
            origin.set("/empty", headers={"Cache-Control": "max-age=600"}, body=b"")
            run = lambda *a: subprocess.run(["curl", "-sS", *a], capture_output=True, timeout=30)
            self.assertEqual(run(f"{url}/ok").stdout, b"stored fine")
            open(trigger, "w").close()  # every fdatasync fails from now on
            r = run(f"{url}/late")
            self.assertEqual(r.returncode, 18, r)  # curl: partial file
            self.assertNotEqual(r.stdout, b"never whole")
            # An empty body has no last byte to withhold: the head's is.
            # (Read raw: curl takes a head cut before its blank line as whole.)
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(b"GET /empty HTTP/1.1\r\nHost: a\r\n\r\n")
                got = b""
                while chunk := s.recv(65536):
                    got += chunk
            self.assertTrue(got.startswith(b"HTTP/1.1 200"), got)
            self.assertFalse(got.endswith(b"\r\n\r\n"), got)
            # Nothing to store: the answer is complete.
            self.assertEqual(run(f"{url}/pass").stdout, b"not stored")
            # A purge that cannot be made durable is not a 200.
            r = run("-o", "/dev/null", "-w", "%{http_code}", "-X", "PURGE", f"{url}/ok")
            self.assertEqual(r.stdout, b"500")
        finally:
            srv.stop()
            srv.cleanup()
            origin.close()


METRICS_PORT = free_port()


class CrashDuringOverwrites(unittest.TestCase):
    """kill -9 while a client keeps replacing a URL's stored response: after the
    restart the proxy never serves a version older than the last one a client
    received whole (a response's tail waits until its stored copy is durable)."""

    def test_no_older_version_after_a_kill(self):
        import random
        import threading
        origin = Origin()
        port = free_port()
        srv = harness.Server(("--http-port", str(port), "--http-origin",
                              f"http://127.0.0.1:{origin.port}",
                              "--max-buffer-age", "1"))
        rnd = random.Random(7)
        try:
            srv.start()
            version = 0
            for round_ in range(4):
                done = {"last": -1}
                stop = threading.Event()

                def client():
                    nonlocal version
                    while not stop.is_set():
                        version += 1
                        v = version
                        origin.set("/ver", headers={"Cache-Control": "max-age=600"},
                                   body=b"%d" % v)
                        try:
                            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                            c.request("GET", "/ver", headers={"Cache-Control": "no-cache"})
                            r = c.getresponse()
                            body = r.read()  # raises if the response was cut short
                            c.close()
                        except (OSError, http.client.HTTPException):
                            return
                        if r.status == 200 and int(body) == v:
                            done["last"] = v

                t = threading.Thread(target=client)
                t.start()
                time.sleep(rnd.uniform(1.5, 3.0))  # older versions reach the disk
                srv.stop(sig=signal.SIGKILL)
                stop.set()
                t.join()
                srv.start()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/ver", headers={"Cache-Control": "only-if-cached, max-stale"})
                r = c.getresponse()
                body = r.read()
                c.close()
                self.assertGreater(done["last"], 0, "no response completed before the kill")
                if r.status == 200:
                    self.assertGreaterEqual(int(body), done["last"],
                                            f"round {round_}: an older version came back")
                else:
                    self.assertEqual(r.status, 504)
        finally:
            srv.stop()
            srv.cleanup()
            origin.close()


class Metrics(HttpTest):
    EXTRA = ("--metrics-port", str(METRICS_PORT))

    def test_counters_in_stats_and_metrics(self):
        self.origin.set("/m", headers={"Cache-Control": "max-age=60"}, body=b"m")
        self.get("/m")
        self.get("/m")
        s = self.http_stats()
        for name in ("http_requests", "http_hits", "http_misses", "http_stored", "http_bytes_out"):
            self.assertGreater(s[name], 0, name)
        text = subprocess.run(["curl", "-sS", "--fail", f"http://127.0.0.1:{METRICS_PORT}/metrics"],
                              capture_output=True, timeout=20, check=True).stdout.decode()
        self.assertIn(f"cossd_http_hits_total {s['http_hits']}", text)
        self.assertIn("cossd_http_stored_total", text)


if __name__ == "__main__":
    harness.main()
