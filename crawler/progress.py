"""Progress of a crawl on a terminal: one line on stderr, rewritten every second."""

from __future__ import annotations

import shutil
import sys
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

INTERVAL = 1.0


class Progress:
    """Requests done, articles stored, errors, and the busiest sources, while a crawl runs
    (enabled by VEILLE_PROGRESS, which `veille crawl` sets when stderr is a terminal)."""

    def __init__(self, crawler: Any) -> None:
        if not crawler.settings.getbool("VEILLE_PROGRESS"):
            raise NotConfigured
        self.crawler = crawler
        self.loop = task.LoopingCall(self.show)
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> Progress:
        return cls(crawler)

    def opened(self, spider: Any) -> None:
        self.loop.start(INTERVAL, now=False)

    def closed(self, spider: Any) -> None:
        if self.loop.running:
            self.loop.stop()
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    def line(self) -> str:
        """`requests 120 · stored 40 · errors 3 · lematin 12/1, leseco 8/0 …`"""
        stats = self.crawler.stats
        store = getattr(self.crawler.spider, "store", None)
        counts = getattr(store, "counts", {}) or {}
        stored = sum(c.get("new", 0) for c in counts.values())
        errors = sum(c.get("errors", 0) for c in counts.values())
        busiest = sorted(counts.items(), key=lambda kv: -kv[1].get("new", 0))[:4]
        per_source = ", ".join(f"{n} {c.get('new', 0)}/{c.get('errors', 0)}" for n, c in busiest)
        done = stats.get_value("downloader/response_count", 0)
        return f"requests {done} · stored {stored} · errors {errors} · {per_source}"

    def show(self) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        sys.stderr.write("\r\033[K" + self.line()[:width])
        sys.stderr.flush()
