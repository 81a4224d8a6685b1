"""Request fingerprints on canonical URLs, so one article is requested once per crawl, and
the duplicate filter that needs no fingerprint of an article's first request."""

from __future__ import annotations

from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.request import RequestFingerprinter

from crawler.core.urls import canonicalize


class CanonicalFingerprinter:
    """Scrapy's fingerprint of the request with its URL canonicalized: a redirect to a
    trailing-slash, AMP or tracking-parameter form of a page already requested is a duplicate."""

    def __init__(self, crawler: Crawler | None = None) -> None:
        self.default = RequestFingerprinter(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CanonicalFingerprinter:
        return cls(crawler)

    def fingerprint(self, request: Request) -> bytes:
        canonical = canonicalize(request.url)
        if canonical != request.url:
            request = request.replace(url=canonical)
        return self.default.fingerprint(request)


class ClaimedDupeFilter(RFPDupeFilter):
    """Scrapy's duplicate filter without a fingerprint per article. An article's first request
    is the only one for its canonical URL in the crawl: the spider's store claimed that URL
    (`CrawlStore.claimed`, on disk), so holding its fingerprint too would only grow with the
    crawl. A redirect to a claimed URL is a duplicate, as it was when that URL's own request
    went first; listings, robots.txt and other redirects are filtered as Scrapy does."""

    def __init__(self, *args: Any, crawler: Crawler | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        dupefilter = super().from_crawler(crawler)
        dupefilter.crawler = crawler
        return dupefilter

    def request_seen(self, request: Request) -> bool:
        claims = getattr(getattr(self.crawler, "spider", None), "store", None)
        claims = getattr(claims, "claimed", None)
        if claims is not None and request.meta.get("key") is not None:
            if "redirect_urls" not in request.meta:
                return False
            if canonicalize(request.url) in claims:
                return True
        return super().request_seen(request)
