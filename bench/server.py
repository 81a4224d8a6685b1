"""Loopback HTTP server of the benchmark world, in its own process (asyncio, HTTP/1.1
keep-alive, no artificial delay), with ETag / If-None-Match and Last-Modified /
If-Modified-Since (304) on every route, and request counters.

    python -m bench.server --outlets 5 --articles 200 [--port 0] [--gzip]

Prints one line `READY <port>` once listening on 127.0.0.1 and on 127.0.0.(2 + i) for each
outlet i. Control routes (not counted): `/__stats` (JSON counters), `/__reset`.
Counters: requests by kind (robots, feed, sitemap, article, other), by status, bytes sent,
and the number of distinct article paths served and served more than once.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import sys
from collections import Counter
from email.utils import format_datetime

from bench.world import HOST_BASE, World, etag

CHILD_RE = re.compile(r"^/sitemap-news-(\d+)\.xml$")
REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found"}


class State:
    def __init__(self, world: World, port: int, use_gzip: bool) -> None:
        self.world = world
        self.port = port
        self.gzip = use_gzip
        self.last_modified = format_datetime(world.now, usegmt=True)
        self.reset()

    def reset(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.bytes = 0
        self.article_paths: Counter[str] = Counter()

    def stats(self) -> dict:
        return {
            "requests": sum(self.kinds.values()),
            "by_kind": dict(self.kinds),
            "by_status": {str(k): v for k, v in self.statuses.items()},
            "bytes": self.bytes,
            "distinct_articles": len(self.article_paths),
            "articles_requested_twice": sum(1 for v in self.article_paths.values() if v > 1),
        }

    def route(self, host_ip: str, path: str) -> tuple[str, str | None, object]:
        """(kind, content type, body or a thunk) for a path on an outlet's address."""
        w = self.world
        try:
            outlet = int(host_ip.rsplit(".", 1)[1]) - HOST_BASE
        except (ValueError, IndexError):
            outlet = -1
        if not 0 <= outlet < w.n_outlets:
            return "other", None, None
        o = w.outlets[outlet]
        path = path.split("?", 1)[0]
        port = self.port
        if path == "/robots.txt":
            return "robots", "text/plain", lambda: w.robots(outlet, port)
        if path in ("/feed", "/feed/"):
            return "feed", "application/rss+xml; charset=utf-8", lambda: w.feed(outlet, port)
        if o.has_sitemap and path == "/sitemap-news.xml":
            return "sitemap", "application/xml", lambda: w.sitemap_index(outlet, port)
        if o.has_sitemap and (m := CHILD_RE.match(path)):
            k = int(m.group(1)) - 1
            if 0 <= k < w.sitemap_children():
                return "sitemap", "application/xml", lambda: w.sitemap_child(outlet, k, port)
        j = w.locate(outlet, path)
        if j is not None and w.article(outlet, j).path == path:
            return "article", "text/html; charset=utf-8", lambda: w.page(outlet, j, port)
        return "other", None, None


async def handle(state: State, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
    host_ip = writer.get_extra_info("sockname")[0]
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = ([*lines[0].split(" "), "", ""])[:3]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            if "content-length" in headers:
                await reader.readexactly(int(headers["content-length"]))
            path = target if target.startswith("/") else "/" + target.split("/", 3)[-1]
            extra = ""
            if path.startswith("/__"):
                if path.startswith("/__reset"):
                    state.reset()
                body, ctype, status, tag = (
                    json.dumps(state.stats()).encode(),
                    "application/json",
                    200,
                    None,
                )
            else:
                kind, ctype, make = state.route(host_ip, path)
                state.kinds[kind] += 1
                if make is None:
                    body, ctype, status, tag = (
                        b"<html><body>not found</body></html>",
                        "text/html",
                        404,
                        None,
                    )
                else:
                    tag = etag(state.world.seed, state.world.now.isoformat(), host_ip, path)
                    if kind == "article":
                        state.article_paths[path.split("?", 1)[0]] += 1
                    inm = headers.get("if-none-match")
                    ims = headers.get("if-modified-since")
                    if inm == tag or (not inm and ims == state.last_modified):
                        body, status = b"", 304
                    else:
                        body, status = make(), 200
                        if state.gzip and "gzip" in headers.get("accept-encoding", ""):
                            body = gzip.compress(body, 1)
                            extra += "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
                    extra += f"ETag: {tag}\r\nLast-Modified: {state.last_modified}\r\n"
                    extra += "Cache-Control: max-age=60\r\n" if kind in ("feed", "sitemap") else ""
                state.statuses[status] += 1
                state.bytes += len(body)
            writer.write(
                (
                    f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}\r\n"
                    f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                    f"Server: bench-world\r\n{extra}\r\n"
                ).encode("latin-1")
                + (body if method != "HEAD" else b"")
            )
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    finally:
        writer.close()


async def serve(args: argparse.Namespace) -> None:
    world = World(args.outlets, args.articles, seed=args.seed)
    hosts = ["127.0.0.1"] + [o.host for o in world.outlets]
    state = State(world, args.port, args.gzip)
    server = await asyncio.start_server(
        lambda r, w: handle(state, r, w), host=hosts, port=args.port, backlog=512
    )
    state.port = server.sockets[0].getsockname()[1]
    if args.port == 0:  # every address must share the port: rebind them all on the first one
        server.close()
        await server.wait_closed()
        server = await asyncio.start_server(
            lambda r, w: handle(state, r, w), host=hosts, port=state.port, backlog=512
        )
    print(f"READY {state.port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--outlets", type=int, default=5)
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--gzip", action="store_true", help="gzip bodies when asked (level 1)")
    args = ap.parse_args()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
