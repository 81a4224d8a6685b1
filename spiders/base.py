"""What both spiders share: listing requests with conditional GET, the known-URL filter,
article requests, and the bookkeeping that saves a listing's state only once its items
are stored."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, DownloadCancelledError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.settings import Settings
from scrapy.utils.asyncio import CallLaterResult, call_later
from twisted.python.failure import Failure

from crawler.core.extract import decode_html
from crawler.core.sources import load_sources, select
from crawler.core.urls import canonicalize, request_form, url_problem
from crawler.db.store import CrawlStore, FeedState
from crawler.items import ArticleItem
from crawler.middlewares import SiteAsksToWait
from crawler.redirects import RedirectLoop
from crawler.throttle import clamp_hint, retry_after_seconds
from spiders.backlog import Backlog
from storage.db import open_database

logger = logging.getLogger(__name__)

FLUSH_WITHIN_SECONDS = 5.0  # a queued write waits at most this long for its batch to fill
MAX_ERRORS_KEPT = 100
MAX_SITEMAP_DEPTH = 3  # a sitemap index, its children, theirs: no deeper
MAX_CHILD_SITEMAPS = 1000  # child sitemaps read for one sitemap of the sources file
HTML_TYPES = (b"text/html", b"application/xhtml")
# Article requests of one source handed to Scrapy at a time, per request it may send at once
# (CONCURRENT_REQUESTS_PER_DOMAIN); the others wait in the spider's Backlog, on disk.
AHEAD_PER_CONCURRENT_REQUEST = 2


class ListingError(ValueError):
    """A feed or sitemap body that yields nothing usable."""


ROOT_ELEMENT = re.compile(rb"<[A-Za-z_]")


def refuse_entities(body: bytes) -> None:
    """Raise ListingError if the XML prolog declares entities: no feed or sitemap needs them,
    and they are how 'billion laughs' expansion bombs work."""
    flat = body.replace(b"\0", b"") if b"\0" in body[:64] else body  # UTF-16/32 documents
    found = ROOT_ELEMENT.search(flat)
    if b"<!ENTITY" in flat[: found.start() if found else len(flat)].upper():
        raise ListingError("refused: the document declares XML entities (entity expansion)")


@dataclass(frozen=True)
class Entry:
    """One article link found in a listing."""

    url: str
    title: str | None = None
    published: datetime | None = None


@dataclass(frozen=True)
class Listing:
    """What a listing body holds: article entries, child listings, and its own poll hint."""

    entries: list[Entry]
    children: list[str] = field(default_factory=list)
    poll_hint: int | None = None  # seconds the publisher suggests between polls


def max_age(response: Response) -> int | None:
    """Cache-Control max-age of a response, in seconds."""
    header = response.headers.get(b"Cache-Control", b"").decode("latin-1")
    match = re.search(r"max-age\s*=\s*(\d+)", header)
    return clamp_hint(int(match.group(1))) if match else None


def fetchable(listing: Listing, where: str) -> Listing:
    """The listing without the links that cannot be requested or stored (a port out of
    range, a broken IPv6 literal, 3,000 characters...), each logged: one bad link costs
    only itself."""
    entries, children = [], []
    for links, kept in ((listing.entries, entries), (listing.children, children)):
        for link in links:
            url = link.url if isinstance(link, Entry) else link
            problem = url_problem(url)
            if problem is None:
                kept.append(link)
            else:
                logger.warning("%s: link %r skipped: %s", where, url[:300], problem)
    return Listing(entries, children, listing.poll_hint)


@dataclass
class _Pending:
    """A fetched listing waiting for its article requests to settle."""

    state: FeedState
    pending: int
    status: int
    etag: str | None
    last_modified: str | None
    body_hash: str
    new_items: int
    poll_hint: int | None


def open_store(settings: Settings) -> CrawlStore:
    """The store for the sources and database named in the settings."""
    sources = select(
        load_sources(settings.get("VEILLE_SOURCES")), settings.getlist("VEILLE_SOURCE_NAMES")
    )
    return CrawlStore(
        open_database(settings.get("VEILLE_DB")),
        sources,
        batch_size=settings.getint("VEILLE_STORE_BATCH"),
    )


def describe(failure: Failure) -> str:
    """A one-line reason for a failed request."""
    exc = failure.value
    if isinstance(exc, DownloadCancelledError) and not str(exc):
        return f"{type(exc).__name__}: body larger than DOWNLOAD_MAXSIZE"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def listed_url(request: Request) -> str:
    """The URL as the listing gave it, before any redirect: the one to remember."""
    return request.meta.get("redirect_urls", [request.url])[0]


Reader = Callable[[Response, Settings], Listing]


class ListingSpider(Spider):
    """Reads listings (feeds, sitemaps) of the selected sources and fetches new articles.

    `readers` maps each kind of listing the spider reads to the function that reads it."""

    readers: ClassVar[dict[str, Reader]]

    @classmethod
    def from_crawler(
        cls, crawler: Crawler, *args: Any, store: CrawlStore | None = None, **kwargs: Any
    ) -> ListingSpider:
        """The spider with its sources and store (shared when several spiders run at once)."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.store = store or open_store(crawler.settings)
        spider.sources = spider.store.sources
        spider.listings: dict[int, _Pending] = {}
        spider.visited: dict[int, set[str]] = {}  # feed id -> canonical child sitemaps asked
        spider.errors: list[str] = []
        spider.flusher: CallLaterResult | None = None  # armed only while a write waits
        spider.backlog = Backlog()
        spider.in_flight: Counter[str] = Counter()  # source -> article requests handed to Scrapy
        spider.ahead = AHEAD_PER_CONCURRENT_REQUEST * max(
            1, crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        )
        spider.feeding = False
        spider.hungry: set[str] = set()  # sources whose backlog may have room to feed
        for handler, signal in (
            (spider._item_scraped, signals.item_scraped),
            (spider._item_dropped, signals.item_dropped),
            (spider._item_error, signals.item_error),
            (spider._request_dropped, signals.request_dropped),
            (spider._idle, signals.spider_idle),
            (spider._opened, signals.spider_opened),
            (spider._closed, signals.spider_closed),
        ):
            crawler.signals.connect(handler, signal=signal)
        return spider

    # -- listings ------------------------------------------------------------------------

    def my_feeds(self) -> list[FeedState]:
        """This spider's listings among the selected sources."""
        return [
            f
            for f in self.store.feeds.values()
            if f.kind in self.readers and f.source in self.sources
        ]

    async def start(self) -> AsyncIterator[Request]:
        feeds = self.my_feeds()
        attempts = self.settings.getint("VEILLE_RETRY_FAILED_RUNS")
        by_id = {f.id: f for f in feeds}
        for failed in self.store.retries(list(by_id), attempts):  # claimed before any listing
            source = by_id[failed.feed_id].source
            address = failed.address or failed.url
            entry = Entry(address, failed.feed_title, failed.feed_date)
            self.store.claimed.add([failed.url])  # a listing naming it again is not asked twice
            self.wait(source, [(failed.url, None, entry, failed.feed_id)])
        for state in feeds:
            yield self.listing_request(state)

    def listing_request(self, state: FeedState, url: str | None = None, depth: int = 0) -> Request:
        """A conditional GET of a listing (child sitemaps, `depth` levels down, a plain GET)."""
        headers = {}
        if url is None:
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
        return Request(
            url or state.url,
            headers=headers,
            callback=self.parse_listing,
            errback=self.listing_failed,
            meta={"feed": state, "child": url is not None, "sitemap_depth": depth},
            dont_filter=True,
            priority=10,
        )

    def read_listing(self, response: Response, state: FeedState) -> Listing:
        """What a listing body holds; raises ListingError when it holds nothing usable."""
        return self.readers[state.kind](response, self.settings)

    def parse_listing(self, response: Response) -> Iterable[Request]:
        state: FeedState = response.meta["feed"]
        child = response.meta["child"]
        if response.status >= 400:
            retry_after = retry_after_seconds(response.headers.get(b"Retry-After"))
            self._listing_error(
                state, child, response.status, f"HTTP {response.status}", retry_after
            )
            return
        body_hash = hashlib.sha256(response.body).hexdigest()
        if not child and (response.status == 304 or body_hash == state.body_hash):
            self.store.count(state.source, "listings_unchanged")
            self.store.feed_fetched(state.id, response.status, poll_hint=max_age(response))
            return
        try:
            listing = fetchable(self.read_listing(response, state), response.url)
        except ListingError as exc:
            self._listing_error(state, child, response.status, str(exc))
            return
        self.store.count(state.source, "listings_read")
        by_url: dict[str, Entry] = {}
        for entry in listing.entries:
            by_url.setdefault(canonicalize(entry.url), entry)
        new = self.store.claim(state.source, by_url)
        depth = response.meta.get("sitemap_depth", 0) + 1
        children = self._unvisited(state, listing.children, depth)
        if child:
            self.listings[state.id].pending += len(new) + len(children) - 1
        else:
            hints = [h for h in (listing.poll_hint, max_age(response)) if h]
            self.listings[state.id] = _Pending(
                state,
                len(new) + len(children),
                response.status,
                response.headers.get(b"ETag", b"").decode("latin-1") or None,
                response.headers.get(b"Last-Modified", b"").decode("latin-1") or None,
                body_hash,
                len(new),
                max(hints) if hints else None,
            )
        for url in children:
            yield self.listing_request(state, url, depth)
        self.wait(state.source, [(url, state.id, by_url[url], state.id) for url in new])
        self._check_settled(state.id)

    def _unvisited(self, state: FeedState, urls: list[str], depth: int) -> list[str]:
        """Child sitemaps not read yet under this listing, within the depth and number caps:
        an index that lists itself, or two that list each other, end."""
        visited = self.visited.setdefault(state.id, {canonicalize(state.url)})
        by_key: dict[str, str] = {}
        for url in urls:  # the first form of each
            by_key.setdefault(canonicalize(url), url)
        fresh = [u for key, u in by_key.items() if key not in visited]
        if fresh and depth > MAX_SITEMAP_DEPTH:
            logger.warning("%s: child sitemaps deeper than %d ignored", state.url, depth - 1)
            return []
        room = max(0, MAX_CHILD_SITEMAPS + 1 - len(visited))
        if len(fresh) > room:
            logger.warning("%s: over %d child sitemaps; the rest ignored", state.url, room)
        fresh = fresh[:room]
        visited.update(canonicalize(u) for u in fresh)
        return fresh

    def _listing_error(
        self,
        state: FeedState,
        child: bool,
        status: int | None,
        error: str,
        retry_after: float | None = None,
    ) -> None:
        self._error(state.source, f"{state.url}: {error}")
        if child:
            self._settle(state.id)
        else:
            self.store.count(state.source, "listings_failed")
            self.store.feed_failed(state.id, status, error, retry_after=retry_after)

    def listing_failed(self, failure: Failure) -> None:
        state: FeedState = failure.request.meta["feed"]
        self._listing_error(state, failure.request.meta["child"], None, describe(failure))

    # -- articles ------------------------------------------------------------------------

    def wait(self, source: str, rows: list[tuple[str, int | None, Entry, int]]) -> None:
        """Queue article requests of a source, as (key, settles, entry, feed_id), for
        `article_request`: each is handed to Scrapy when the source has room."""
        self.backlog.add(source, rows)
        self._feed(source)

    def _feed(self, source: str) -> None:
        """Hand Scrapy waiting article requests, up to `ahead` in flight per source. Not
        re-entered: a request dropped at once finishes while it is handed over."""
        self.hungry.add(source)
        if self.feeding or self.crawler.engine is None or self.crawler.engine.spider is None:
            return
        self.feeding = True
        try:
            while self.hungry:
                name = self.hungry.pop()
                rows = self.backlog.take(name, self.ahead - self.in_flight[name])
                for key, settles, entry, feed_id in rows:
                    self.in_flight[name] += 1
                    self.crawler.engine.crawl(
                        self.article_request(key, name, settles, entry, feed_id)
                    )
                if rows:
                    self.hungry.add(name)
        finally:
            self.feeding = False

    def _article_done(self, source: str, feed_id: int | None) -> None:
        """An article request has its outcome: settle its listing, feed the next one."""
        self._settle(feed_id)
        self.in_flight[source] -= 1
        self._feed(source)

    def article_request(
        self, key: str, source: str, settles: int | None, entry: Entry, feed_id: int
    ) -> Request:
        """A request for the article stored under the canonical URL `key`, at the address the
        listing gave (the canonical URL is a key, never an address), carrying what the
        listing said of it."""
        return Request(
            request_form(entry.url),
            callback=self.parse_article,
            errback=self.article_failed,
            meta={
                "source": source,
                "settles": settles,
                "entry": entry,
                "feed_id": feed_id,
                "key": key,
            },
        )

    def parse_article(self, response: Response) -> Iterable[ArticleItem]:
        meta = response.meta
        content_type = response.headers.get(b"Content-Type", b"").lower()
        reason = None
        if response.status >= 400:
            reason = f"HTTP {response.status}"
        elif not isinstance(response, TextResponse) or (
            content_type and not any(t in content_type for t in HTML_TYPES)
        ):
            reason = f"not an HTML page ({content_type.decode('latin-1') or 'no type'})"
        if reason is not None:
            gone = response.status in (404, 410) or response.status < 400
            self._article_error(response.request, response.status, reason, gone=gone)
            return
        entry: Entry = meta["entry"]
        yield ArticleItem(
            source=meta["source"],
            feed_id=meta["settles"],
            request_url=listed_url(response.request),
            response_url=response.url,
            redirects=response.request.meta.get("redirect_urls", [])[1:],
            html=decode_html(response.body, content_type.decode("latin-1") or None),
            fetched_at=datetime.now(UTC),
            feed_title=entry.title,
            feed_date=entry.published,
            language_hint=self.sources[meta["source"]].language,
        )

    def article_failed(self, failure: Failure) -> None:
        # robots.txt said no, a decompression bomb, or over the size cap: same answer next time
        gone = isinstance(failure.value, IgnoreRequest | DownloadCancelledError) and not (
            isinstance(failure.value, RedirectLoop | SiteAsksToWait)
        )
        # a page robots.txt forbids is the site's choice, not an error of the crawl
        polite = isinstance(failure.value, IgnoreRequest) and "robots.txt" in str(failure.value)
        self._article_error(failure.request, None, describe(failure), gone=gone, polite=polite)

    def _article_error(
        self, request: Request, status: int | None, reason: str, *, gone: bool, polite: bool = False
    ) -> None:
        meta = request.meta
        entry: Entry = meta["entry"]
        url = listed_url(request)
        shown = url if url == request.url else f"{url} (redirected to {request.url})"
        if polite:
            logger.info("%s: %s: %s", meta["source"], shown, reason)
            self.store.count(meta["source"], "skipped")
        else:
            self._error(meta["source"], f"{shown}: {reason}")
        self.store.article_failed(
            meta["key"],
            meta["source"],
            meta["feed_id"],
            status,
            reason,
            address=url,
            feed_title=entry.title,
            feed_date=entry.published,
            gone=gone,
        )
        self._article_done(meta["source"], meta["settles"])

    # -- settling ------------------------------------------------------------------------

    def _settle(self, feed_id: int | None) -> None:
        listing = self.listings.get(feed_id) if feed_id is not None else None
        if listing is not None:
            listing.pending -= 1
            self._check_settled(feed_id)

    def _check_settled(self, feed_id: int) -> None:
        listing = self.listings.get(feed_id)
        if listing is None or listing.pending > 0:
            return
        del self.listings[feed_id]
        self.visited.pop(feed_id, None)
        self.store.feed_fetched(
            feed_id,
            listing.status,
            etag=listing.etag,
            last_modified=listing.last_modified,
            body_hash=listing.body_hash,
            new_items=listing.new_items,
            poll_hint=listing.poll_hint,
        )

    def _item_scraped(self, item: ArticleItem, **_: Any) -> None:
        self._article_done(item.source, item.feed_id)

    def _item_dropped(self, item: ArticleItem, **_: Any) -> None:
        self._article_done(item.source, item.feed_id)

    def _item_error(self, item: ArticleItem, failure: Failure, **_: Any) -> None:
        self._error(item.source, f"{item.response_url}: {describe(failure)}")
        self._article_done(item.source, item.feed_id)

    def _request_dropped(self, request: Request, **_: Any) -> None:
        """A request the scheduler refused as already asked in this crawl (fingerprints are
        of canonical URLs): a redirect to an article being fetched under another address, whose
        listed URL is then an alias of it, or a redirect loop."""
        target = canonicalize(request.url)
        looped = target in {canonicalize(u) for u in request.meta.get("redirect_urls", [])}
        reason = "redirected to a URL already requested in this crawl (redirect loop?)"
        if "entry" in request.meta and not looped:
            self.store.add_alias(canonicalize(listed_url(request)), target)
            self._article_done(request.meta["source"], request.meta["settles"])
        elif "entry" in request.meta:
            self._article_error(request, None, reason, gone=False)
        elif "feed" in request.meta:
            self._listing_error(request.meta["feed"], request.meta["child"], None, reason)

    def _error(self, source: str, message: str) -> None:
        logger.warning("%s: %s", source, message)
        self.store.count(source, "errors")
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(f"{source}: {message}")

    # -- lifecycle -----------------------------------------------------------------------

    def flush(self) -> None:
        """Write what is queued."""
        self.flusher = None
        self.store.flush()

    def _flush_soon(self) -> None:
        """A write was queued: make sure it is written within FLUSH_WITHIN_SECONDS, by a timer
        that exists only while something waits (a crawl waiting on its sites never wakes up
        for an empty batch)."""
        if self.flusher is None:
            self.flusher = call_later(FLUSH_WITHIN_SECONDS, self.flush)

    def _idle(self, spider: Spider) -> None:
        """Nothing in flight: hand over what still waits (all of it had room), or close."""
        if len(self.backlog):
            self.in_flight.clear()
            for source in self.backlog.sources():
                self._feed(source)
            raise DontCloseSpider

    def _opened(self, spider: Spider) -> None:
        self.store.on_queued = self._flush_soon  # not earlier: a timer needs the reactor

    def _closed(self, spider: Spider, reason: str) -> None:
        self.store.on_queued = None
        if self.flusher is not None:
            self.flusher.cancel()
            self.flusher = None
        for feed_id, listing in list(self.listings.items()):
            logger.warning(
                "%s: %d item(s) of %s unsettled at close; its state is not saved",
                listing.state.source,
                listing.pending,
                listing.state.url,
            )
            del self.listings[feed_id]
        self.backlog.close()
        self.store.flush()
        stats = self.crawler.stats
        stats.set_value("veille/counts", {k: dict(v) for k, v in self.store.counts.items()})
        stats.set_value("veille/errors", list(self.errors))
