"""Progress of a crawl on a terminal: one line on stderr, rewritten as the crawl moves, at
most once a second; nothing wakes up while the crawl waits on its sites."""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import CallLaterResult, call_later

INTERVAL = 1.0
# what changes the line: a response, an article stored or not, a request refused
MOVES = (
    signals.response_received,
    signals.item_scraped,
    signals.item_dropped,
    signals.item_error,
    signals.request_dropped,
)


class Progress:
    """Requests done, articles stored, errors, and the busiest sources, while a crawl runs
    (enabled by VEILLE_PROGRESS, which `veille crawl` sets when stderr is a terminal)."""

    def __init__(self, crawler: Any) -> None:
        if not crawler.settings.getbool("VEILLE_PROGRESS"):
            raise NotConfigured
        self.crawler = crawler
        self.shown_at = 0.0  # time.monotonic() of the last line written
        self.later: CallLaterResult | None = None  # the next line, when one is due
        for signal in MOVES:
            crawler.signals.connect(self.moved, signal=signal)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> Progress:
        return cls(crawler)

    def moved(self, **_: Any) -> None:
        """Something changed: show it, or once INTERVAL has passed since the last line."""
        if self.later is not None:
            return
        wait = self.shown_at + INTERVAL - time.monotonic()
        if wait <= 0:
            self.show()
        else:
            self.later = call_later(wait, self.show)

    def closed(self, spider: Any) -> None:
        if self.later is not None:
            self.later.cancel()
            self.later = None
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
        self.later = None
        self.shown_at = time.monotonic()
        width = shutil.get_terminal_size((100, 20)).columns - 1
        sys.stderr.write("\r\033[K" + self.line()[:width])
        sys.stderr.flush()
