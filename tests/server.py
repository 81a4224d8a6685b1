"""A real HTTP server on 127.0.0.1 serving fixture routes, with conditional GET and a log."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Route:
    """What one path answers."""

    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True  # answer 304 to a matching If-None-Match / If-Modified-Since
    last_modified: str = "Mon, 03 Nov 2025 10:00:00 GMT"
    delay: float = 0.0  # seconds to wait before answering (slow sites, timeouts)
    fail_first: int = 0  # answer the first N requests with fail_status, then normally
    fail_status: int = 503
    fail_headers: dict[str, str] = field(default_factory=dict)  # e.g. Retry-After
    send_length: bool = True  # False: no Content-Length, the body ends when the socket closes
    slash: bool = False  # as WordPress: the path without its trailing slash is a 301 to it
    served: int = 0  # requests answered so far

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


@dataclass
class Hit:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    status: int
    at: float = 0.0  # time.monotonic() when the request arrived
    answered: float = 0.0  # time.monotonic() when its answer was written


class FixtureServer:
    """Serves `routes` (path without trailing slash -> Route) on a free loopback port.

    `host` may be another loopback address (127.0.0.2...): Scrapy gives each host its own
    download slot, so a test can slow one "site" down without slowing the others.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> FixtureServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @staticmethod
    def key(path: str) -> str:
        """Route key: the path and query, without a trailing slash."""
        parts = urlsplit(path)
        key = parts.path.rstrip("/") or "/"
        return f"{key}?{parts.query}" if parts.query else key

    def add(self, path: str, route: Route) -> None:
        with self._lock:
            self.routes[self.key(path)] = route

    def requests_to(self, prefix: str) -> list[Hit]:
        """Hits whose path starts with prefix."""
        return [h for h in self.hits if h.path.startswith(prefix)]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            route = self.routes.get(self.key(handler.path)) or self.routes.get(
                self.key(urlsplit(handler.path).path)
            )
        arrived = time.monotonic()
        headers = {k.lower(): v for k, v in handler.headers.items()}
        if route is None:
            route = Route(b"<html><body>not found</body></html>", status=404, conditional=False)
        parts = urlsplit(handler.path)
        if route.slash and not parts.path.endswith("/"):
            location = parts._replace(path=parts.path + "/").geturl()
            hit = Hit("GET", handler.path, headers, 301, arrived)
            self._reply(handler, hit, 0.0, b"", [("Location", location)])
            return
        with self._lock:
            route.served += 1
            failing = route.served <= route.fail_first
        if failing:
            hit = Hit("GET", handler.path, headers, route.fail_status, arrived)
            self._reply(handler, hit, route.delay, b"failing", list(route.fail_headers.items()))
            return
        status, body = route.status, route.body
        fresh = (
            route.conditional
            and status == 200
            and (
                headers.get("if-none-match") == route.etag
                or (
                    not headers.get("if-none-match")
                    and headers.get("if-modified-since") == route.last_modified
                )
            )
        )
        if fresh:
            status, body = 304, b""
        extra = [("ETag", route.etag), ("Last-Modified", route.last_modified)]
        extra = (extra if route.conditional else []) + list(route.headers.items())
        hit = Hit("GET", handler.path, headers, status, arrived)
        self._reply(handler, hit, route.delay, body, extra, route.content_type, route.send_length)

    def _reply(
        self,
        handler: BaseHTTPRequestHandler,
        hit: Hit,
        delay: float,
        body: bytes,
        headers: list[tuple[str, str]],
        content_type: str = "text/plain",
        send_length: bool = True,
    ) -> None:
        """Log `hit`, wait `delay`, write the answer (a client that hung up, on a timeout or a
        size cap, is not an error), and note when that was done."""
        self.hits.append(hit)
        time.sleep(delay)
        try:
            handler.send_response(hit.status)
            handler.send_header("Content-Type", content_type)
            if send_length:
                handler.send_header("Content-Length", str(len(body)))
            else:
                handler.send_header("Connection", "close")
                handler.close_connection = True
            for name, value in headers:
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
        hit.answered = time.monotonic()
