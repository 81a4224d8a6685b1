"""The `feeds` spider: RSS 0.9x/1.0/2.0 and Atom feeds, parsed by feedparser."""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, datetime

import feedparser
from scrapy.http import Response

from spiders.base import Entry, ListingError, ListingSpider
from storage.store import FeedState

logger = logging.getLogger(__name__)


def entry_date(entry: feedparser.FeedParserDict) -> datetime | None:
    """The entry's publication (else update) time, UTC."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


def entry_link(entry: feedparser.FeedParserDict) -> str | None:
    """The article URL of an entry: FeedBurner's original link, its link, or a URL id."""
    for candidate in (entry.get("feedburner_origlink"), entry.get("link"), entry.get("id")):
        if candidate and candidate.startswith(("http://", "https://")):
            return candidate.strip()
    return None


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> list[Entry]:
    """Entries of a feed body; a malformed but readable feed is used with a warning."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    if parsed.bozo and not parsed.entries:
        raise ListingError(f"not a readable feed ({parsed.bozo_exception})")
    if parsed.bozo:
        logger.warning("feed %s is malformed but readable: %s", url, parsed.bozo_exception)
    entries = []
    for item in parsed.entries:
        link = entry_link(item)
        if link:
            entries.append(Entry(link, item.get("title") or None, entry_date(item)))
    if not entries and not parsed.version:
        raise ListingError("not an RSS or Atom feed")
    return entries


class FeedsSpider(ListingSpider):
    """Reads the sources' RSS and Atom feeds."""

    name = "feeds"
    kind = "feed"

    def read_listing(self, response: Response, state: FeedState) -> tuple[list[Entry], list[str]]:
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        return parse_feed(response.body, response.url, content_type), []
