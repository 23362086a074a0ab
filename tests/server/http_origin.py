"""A small HTTP/1.1 origin server for the HTTP proxy tests, run in a thread of
the test process. Each path answers what the test set for it (status, header
fields, body, chunked or not, a delay); every request it receives is recorded
(method, path, header fields), so a test can see what the proxy forwarded and
how often it asked."""
import http.server
import socket
import sys
import threading
import time


class Route:
    def __init__(self, status=200, headers=None, body=b"", chunked=False, delay=0.0,
                 not_modified_if=None):
        self.status = status
        self.headers = list((headers or {}).items()) if isinstance(headers, dict) else (headers or [])
        self.body = body
        self.chunked = chunked
        self.delay = delay
        # An ETag: a request with If-None-Match naming it gets 304.
        self.not_modified_if = not_modified_if


class Origin:
    def __init__(self):
        self.routes = {}
        self.requests = []
        self.inflight = {}  # path -> requests being answered now
        self.peak = {}      # path -> most answered at once
        self.lock = threading.Lock()
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with origin.lock:
                    origin.requests.append((self.command, self.path, dict(self.headers.items()),
                                            body))
                    route = origin.routes.get(self.path.split("?")[0])
                if route is None:
                    route = Route(404, {"Cache-Control": "no-store"}, b"no such route\n")
                path = self.path.split("?")[0]
                with origin.lock:
                    origin.inflight[path] = origin.inflight.get(path, 0) + 1
                    origin.peak[path] = max(origin.peak.get(path, 0), origin.inflight[path])
                try:
                    self.answer(route)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the proxy stopped reading (a client's range was sent)
                finally:
                    with origin.lock:
                        origin.inflight[path] -= 1

            def answer(self, route):
                if route.delay:
                    time.sleep(route.delay)
                inm = self.headers.get("If-None-Match")
                if route.not_modified_if is not None and inm == route.not_modified_if:
                    self.send_response(304)
                    for k, v in route.headers:
                        self.send_header(k, v)
                    self.end_headers()
                    return
                self.send_response(route.status)
                for k, v in route.headers:
                    self.send_header(k, v)
                body = route.body(self.headers) if callable(route.body) else route.body
                if self.command == "HEAD":
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    return
                if route.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(body), 1000):
                        piece = body[i:i + 1000]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # The proxy closing a connection it no longer needs is normal.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set(self, path, **kw):
        with self.lock:
            self.routes[path] = Route(**kw)

    def hits(self, path):
        with self.lock:
            return sum(1 for r in self.requests if r[1].split("?")[0] == path)

    def max_concurrent(self, path):
        with self.lock:
            return self.peak.get(path, 0)

    def last(self, path):
        with self.lock:
            for r in reversed(self.requests):
                if r[1].split("?")[0] == path:
                    return r
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
