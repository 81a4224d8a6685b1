"""AutoThrottle that also honours robots.txt Crawl-delay and a server's Retry-After."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request, Spider, signals
from scrapy.core.downloader import Slot
from scrapy.crawler import Crawler
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.robotstxt import RobotParser

from crawler.core.common import as_utc

logger = logging.getLogger(__name__)

SLOW_DOWN_STATUSES = {403, 429, 503}
MAX_RETRY_AFTER_KEPT = 12 * 3600.0  # the longest Retry-After believed (the service waits it out)
MAX_POLL_HINT = 7 * 86400  # the longest poll interval a publisher's hint is believed up to


def clamp_hint(seconds: int | None) -> int | None:
    """A publisher's poll hint (<ttl>, max-age...) within what veille believes: 0 to a week."""
    return None if seconds is None else max(0, min(int(seconds), MAX_POLL_HINT))


def retry_after_seconds(value: bytes | None, now: datetime | None = None) -> float | None:
    """Seconds asked by a Retry-After header (delta-seconds or HTTP date), at most 12 h."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_KEPT)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError):
        return None
    wait = (as_utc(when) - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, min(wait, MAX_RETRY_AFTER_KEPT))


class PoliteThrottle(AutoThrottle):
    """Per-site delay floors: Crawl-delay from robots.txt, Retry-After or doubling on 403/429/503.
    A site with a floor is asked one request at a time, its delay counted from the end of the
    previous answer (Yandex's definition of Crawl-delay). Scrapy counts it from when a request
    leaves the queue: a request held up on a busy machine then reached the site closer to the
    next one than the site asked."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.floors: dict[str, float] = {}
        self.user_agent = crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings.get(
            "USER_AGENT"
        )
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)

    def _slot_for(self, request: Request) -> tuple[str, Slot | None]:
        downloader = self.crawler.engine.downloader
        key = request.meta.get("download_slot") or downloader.get_slot_key(request)
        return key, downloader.slots.get(key)

    def _raise_floor(self, key: str, slot: Slot | None, delay: float, why: str) -> None:
        delay = min(delay, self.maxdelay if hasattr(self, "maxdelay") else delay)
        if delay <= self.floors.get(key, 0.0):
            return
        self.floors[key] = delay
        logger.info("slowing down %s to one request every %.1f s (%s)", key, delay, why)
        if slot is not None:
            self._hold(slot, delay)

    @staticmethod
    def _hold(slot: Slot, floor: float) -> None:
        """One request at a time, at least `floor` seconds apart (no random delay below it)."""
        slot.delay = max(slot.delay, floor)
        slot.concurrency = 1
        slot.jitter = 0.0

    def _robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        delay = robotparser.crawl_delay(self.user_agent)
        if delay:
            key, slot = self._slot_for(request)
            self._raise_floor(key, slot, float(delay), "robots.txt Crawl-delay")

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._slot_for(request)
        if response.status in SLOW_DOWN_STATUSES:
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
            current = slot.delay if slot is not None else 1.0
            if not asked or asked <= self.maxdelay:  # longer: the site is closed (middlewares)
                delay = asked or max(2 * current, 2.0)
                self._raise_floor(key, slot, delay, f"HTTP {response.status}")
        floor = self.floors.get(key)
        if floor and slot is not None:
            self._hold(slot, floor)
            slot.lastseen = time.monotonic()  # the downloader's clock: the wait starts now
