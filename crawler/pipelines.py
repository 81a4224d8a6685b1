"""Item pipelines: extract the text, detect agreements, then store (deduplicated)."""

from __future__ import annotations

import logging
from datetime import datetime

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.core import stories
from crawler.core.detection import RULES_VERSION, detect
from crawler.core.extract import extract
from crawler.core.urls import canonicalize, site_of
from crawler.db.store import CrawlStore
from crawler.items import ArticleItem

logger = logging.getLogger(__name__)


def own_canonical(canonical: str | None, response_url: str) -> tuple[str, str | None]:
    """The key to store a page under, and a foreign canonical kept as a hint: a page's
    rel=canonical is believed only within its own registrable domain, so that another site
    cannot take over an article by naming its URL."""
    own = canonicalize(response_url)
    if canonical is None or site_of(canonical) == site_of(own):
        return canonical or own, None
    logger.info("%s: canonical %s is another site's; kept as a hint", response_url, canonical)
    return own, canonical


def not_after(
    published: datetime | None, fetched: datetime
) -> tuple[datetime | None, datetime | None]:
    """A publication date no later than the fetch, and the date as given when it was later
    (2099: a typo or a trick that would sit at the top of every query)."""
    if published is not None and published > fetched:
        return fetched, published
    return published, None


class Stage:
    """A pipeline stage that can reach the running spider's store."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Stage:
        return cls(crawler)

    @property
    def store(self) -> CrawlStore:
        return self.crawler.spider.store


class ExtractPipeline(Stage):
    """Turns the fetched page into title, text, date, language and canonical URL."""

    def process_item(self, item: ArticleItem, spider: Spider | None = None) -> ArticleItem:
        html, item.html = item.html or "", None
        page = extract(
            html,
            item.response_url,
            feed_title=item.feed_title,
            feed_date=item.feed_date,
            language_hint=item.language_hint,
        )
        item.url, item.canonical_hint = own_canonical(page.canonical_url, item.response_url)
        seen = [item.request_url, *item.redirects, item.response_url]
        item.aliases = {canonicalize(u) for u in seen} - {item.url}
        if not page.text.strip():
            self.store.article_failed(
                canonicalize(item.request_url),
                item.source,
                None,
                200,
                "no article text found",
                address=item.request_url,
                gone=True,
            )
            raise DropItem(f"{item.response_url}: no article text found")
        item.title = page.title or item.feed_title
        item.author = page.author
        item.lead = page.lead
        item.text = page.text
        item.published_at, item.published_claimed = not_after(
            page.published_at or item.feed_date, item.fetched_at
        )
        item.language = page.language or item.language_hint
        return item


class DetectPipeline(Stage):
    """Classifies the article: industrial agreement or not, with evidence and fields."""

    def process_item(self, item: ArticleItem, spider: Spider | None = None) -> ArticleItem:
        verdict = detect(item.title or "", item.lead or "", item.text, item.language)
        item.verdict = verdict.as_dict()
        item.rules_version = RULES_VERSION
        return item


class StorePipeline(Stage):
    """Fingerprints the text for deduplication and stories, and queues the article for storage."""

    def process_item(self, item: ArticleItem, spider: Spider | None = None) -> ArticleItem:
        item.content_hash, item.signature = stories.fingerprints(
            item.title or "", item.lead, item.text
        )
        self.store.add_article(item)
        return item
