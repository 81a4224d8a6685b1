"""The `page` spider: fetches one URL through Scrapy for `veille extract URL`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.scrapy_setup import quiet_scrapy_failures, scrapy_settings


class FetchError(RuntimeError):
    """A page that could not be fetched, with why."""


class PageSpider(Spider):
    """Downloads a single page and keeps the response."""

    name = "page"

    def __init__(self, url: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.response: Response | None = None
        self.error: str | None = None

    async def start(self) -> AsyncIterator[Request]:
        yield Request(self.url, callback=self.keep, errback=self.failed, dont_filter=True)

    def keep(self, response: Response) -> None:
        self.response = response

    def failed(self, failure: Failure) -> None:
        self.error = f"{type(failure.value).__name__}: {failure.value}"


def fetch_page(url: str, overrides: dict[str, str]) -> tuple[str, bytes, str | None]:
    """(final URL, body, content type) of a page, fetched with veille's polite settings."""
    process = CrawlerProcess(scrapy_settings({"ITEM_PIPELINES": {}, **overrides}))
    quiet_scrapy_failures()  # after the process has configured logging
    crawler = process.create_crawler(PageSpider)
    process.crawl(crawler, url=url)
    process.start()
    spider = crawler.spider
    if spider.response is None:
        raise FetchError(f"{url}: could not fetch: {spider.error or 'no response'}")
    if spider.response.status >= 400:
        raise FetchError(f"{url}: HTTP {spider.response.status}")
    content_type = spider.response.headers.get(b"Content-Type", b"").decode("latin-1") or None
    return spider.response.url, spider.response.body, content_type
