"""The `feeds` spider: RSS 0.9x/1.0/2.0 and Atom feeds, parsed by feedparser, and JSON Feed
1.0/1.1 (which feedparser 6 does not read)."""

from __future__ import annotations

import calendar
import json
import logging
from datetime import UTC, datetime
from typing import ClassVar

import feedparser
from scrapy.http import Response
from scrapy.settings import Settings

from crawler.core.dates import parse_date
from crawler.throttle import clamp_hint
from spiders.base import Entry, Listing, ListingError, ListingSpider, Reader, refuse_entities

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


UPDATE_PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 604800,
    "monthly": 2592000,
    "yearly": 31536000,
}


def poll_hint(feed: feedparser.FeedParserDict) -> int | None:
    """Seconds between polls that the feed suggests: <ttl> or sy:updatePeriod/Frequency."""
    ttl = str(feed.get("ttl", "")).strip()
    if ttl.isdigit() and int(ttl) > 0:
        return clamp_hint(int(ttl) * 60)
    period = UPDATE_PERIODS.get(str(feed.get("sy_updateperiod", "")).strip().lower())
    if period:
        frequency = str(feed.get("sy_updatefrequency", "1")).strip()
        return clamp_hint(period // max(1, int(frequency)) if frequency.isdigit() else period)
    return None


JSON_FEED_VERSION = "https://jsonfeed.org/version/"


def is_json(body: bytes, content_type: str | None) -> bool:
    """True if the body is JSON rather than XML (by its type, or its first character)."""
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(body: bytes) -> Listing:
    """Entries of a JSON Feed (https://jsonfeed.org/version/1.1): items' url (else a URL id),
    title and date_published (else date_modified)."""
    try:
        feed = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ListingError(f"not a readable JSON feed ({type(exc).__name__}: {exc})") from exc
    if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith(JSON_FEED_VERSION):
        raise ListingError("not a JSON feed (no jsonfeed.org version)")
    items = feed.get("items")
    entries = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        link = next(
            (
                u.strip()
                for u in (item.get("url"), item.get("id"))
                if isinstance(u, str) and u.strip().startswith(("http://", "https://"))
            ),
            None,
        )
        if link is None:
            continue
        title = item.get("title")
        date = item.get("date_published") or item.get("date_modified")
        entries.append(
            Entry(
                link,
                title.strip() or None if isinstance(title, str) else None,
                parse_date(date) if isinstance(date, str) else None,
            )
        )
    return Listing(entries)


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> Listing:
    """Entries of a feed body; a malformed but readable feed is used with a warning."""
    if is_json(body, content_type):
        return parse_json_feed(body)
    refuse_entities(body)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    except Exception as exc:  # feedparser's loose parser has crashes of its own (&#xFFFFFF;)
        raise ListingError(f"not a readable feed ({type(exc).__name__}: {exc})") from exc
    if parsed.bozo and not parsed.entries and not parsed.get("version"):
        raise ListingError(f"not a readable feed ({parsed.bozo_exception})")
    if parsed.bozo:
        logger.warning("feed %s is malformed but readable: %s", url, parsed.bozo_exception)
    entries = []
    for item in parsed.entries:
        link = entry_link(item)
        if link:
            entries.append(Entry(link, item.get("title") or None, entry_date(item)))
    if not entries and not parsed.get("version"):
        raise ListingError("not an RSS or Atom feed")
    return Listing(entries, poll_hint=poll_hint(parsed.feed))


def read_feed(response: Response, settings: Settings) -> Listing:
    """The entries of a downloaded feed."""
    content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
    return parse_feed(response.body, response.url, content_type)


class FeedsSpider(ListingSpider):
    """Reads the sources' RSS, Atom and JSON feeds."""

    name = "feeds"
    readers: ClassVar[dict[str, Reader]] = {"feed": read_feed}
