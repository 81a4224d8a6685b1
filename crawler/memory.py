"""Memory a crawl has freed goes back to the system as it goes: without it glibc keeps the
holes that each page's body, text and tree leave in its heap, and a crawl's resident memory
creeps up with the articles it has read (issue 18)."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

from scrapy import signals

EVERY_ITEMS = 50  # articles between two releases (VEILLE_STORE_BATCH's default)


def _malloc_trim() -> Callable[[], Any] | None:
    """glibc's malloc_trim(0), which returns the free pages of every arena to the system, or
    None where the C library has none (musl, macOS): there, nothing to do."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


release_free_memory = _malloc_trim() or (lambda: None)


class ReleaseFreeMemory:
    """Every EVERY_ITEMS articles processed (stored, dropped or failed), free heap pages go
    back to the system; a crawl that waits on its sites calls nothing."""

    def __init__(self, crawler: Any) -> None:
        self.seen = 0
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.item_done, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ReleaseFreeMemory:
        return cls(crawler)

    def item_done(self, **_: Any) -> None:
        self.seen += 1
        if self.seen % EVERY_ITEMS == 0:
            release_free_memory()
