"""A real HTTP server on 127.0.0.1 serving fixture routes, with conditional GET and a log."""

from __future__ import annotations

import hashlib
import threading
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


class FixtureServer:
    """Serves `routes` (path without trailing slash -> Route) on a free loopback port."""

    def __init__(self) -> None:
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

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
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
        headers = {k.lower(): v for k, v in handler.headers.items()}
        if route is None:
            route = Route(b"<html><body>not found</body></html>", status=404, conditional=False)
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
        self.hits.append(Hit("GET", handler.path, headers, status))
        handler.send_response(status)
        handler.send_header("Content-Type", route.content_type)
        handler.send_header("Content-Length", str(len(body)))
        if route.conditional:
            handler.send_header("ETag", route.etag)
            handler.send_header("Last-Modified", route.last_modified)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
