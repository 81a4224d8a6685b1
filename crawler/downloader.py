"""Scrapy's downloader with the sites' delay timers woken together.

A polite crawl waits between the requests of each site. Scrapy arms one timer per site at
a random moment of its own, so a crawl of ten sites wakes up for nearly every request, and
waking up is most of what a polite crawl costs over one without delays (bench/RESULTS.md,
issue 18). Scrapy draws a site's next delay from a window (DOWNLOAD_DELAY_JITTER: ±50 % by
default); here the request is due on a tick of a clock that every site shares, the coarsest
tick that falls in that window, so sites due about the same time are served in one wake-up.
No request goes earlier than Scrapy could have sent it. Scrapy also draws the delay anew each
time it looks at a site, so a timer could fire only to find a longer draw and sleep again:
here the delay is drawn once per request.
"""

from __future__ import annotations

import math

from scrapy import Request, Spider
from scrapy.core.downloader import Downloader, Slot

WAKE_TICK = 0.5  # seconds: the coarsest tick; then its halves, down to...
FINEST_TICK = WAKE_TICK / 2**10  # ...about half a millisecond
FIXED_SLACK = 0.25  # a delay without jitter (a Crawl-delay) may grow by this share to meet a tick


def due_on_tick(drawn: float, earliest: float, latest: float) -> float:
    """The moment in [earliest, latest] on the coarsest shared tick, the one nearest `drawn`
    if several are; `drawn` itself when no tick falls in the window."""
    tick = WAKE_TICK
    while tick >= FINEST_TICK:
        first, last = math.ceil(earliest / tick), math.floor(latest / tick)
        if first <= last:
            return min(max(round(drawn / tick), first), last) * tick
        tick /= 2
    return drawn


class SharedTickSlot(Slot):
    """A download slot whose delay is drawn once per request and ends on a shared tick."""

    def __init__(self, concurrency: int, delay: float, jitter: float) -> None:
        super().__init__(concurrency, delay, jitter)
        self.drawn_after: float | None = None  # the `lastseen` the delay was drawn for
        self.drawn_shortest = 0.0  # the shortest delay Scrapy could draw then
        self.drawn = 0.0

    def shortest(self) -> float:
        """The shortest delay Scrapy could draw now: `delay` less its jitter."""
        return self.delay * max(0.0, 1 - self.jitter)

    def download_delay(self) -> float:
        """The wait after `lastseen` for the next request: Scrapy's random delay, moved to
        the coarsest shared tick within the window Scrapy draws it from. Drawn again for
        the next request, or when the site was slowed down meanwhile (AutoThrottle, or a
        Crawl-delay read from robots.txt, which takes the jitter away)."""
        if self.drawn_after != self.lastseen or self.shortest() > self.drawn_shortest:
            self.drawn_after, self.drawn_shortest = self.lastseen, self.shortest()
            wait = super().download_delay()
            if wait:
                latest = self.delay * (1 + (self.jitter or FIXED_SLACK))
                due = due_on_tick(
                    self.lastseen + wait,
                    self.lastseen + self.drawn_shortest,
                    self.lastseen + latest,
                )
                wait = due - self.lastseen
            self.drawn = wait
        return self.drawn


class SharedTickDownloader(Downloader):
    """Scrapy's downloader, its slots woken on a shared tick (see SharedTickSlot)."""

    def _get_slot(self, request: Request, spider: Spider | None = None) -> tuple[str, Slot]:
        key, slot = super()._get_slot(request)
        if not isinstance(slot, SharedTickSlot):  # made just now: nothing is queued in it yet
            slot = self.slots[key] = SharedTickSlot(slot.concurrency, slot.delay, slot.jitter)
        return key, slot
