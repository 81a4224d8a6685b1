"""Request fingerprints on canonical URLs, so one article is requested once per crawl."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
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
