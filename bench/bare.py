"""A bare Scrapy crawl of the same pages: read the feeds (feedparser) and sitemaps (lxml),
download every article page once, call trafilatura.extract on it. Nothing else: no
canonical URLs, no detection, no deduplication, no database. The yardstick of bench.crawl.

    python -m bench.bare --sources FILE [--set NAME=VALUE]...

Uses the same Scrapy settings as `veille crawl` (crawler/settings.py: robots.txt obeyed,
User-Agent, timeouts, retries, the asyncio reactor) without veille's extensions and
pipelines, with the same --set overrides. Prints one JSON line of counts at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import feedparser
import scrapy
import trafilatura
from lxml import etree
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.core.sources import load_sources

PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, sources_path: str, counts: dict, **kwargs):
        super().__init__(**kwargs)
        self.sources = load_sources(sources_path)
        self.counts = counts

    async def start(self):
        for s in self.sources:
            for url in s.feeds:
                yield scrapy.Request(url, callback=self.parse_feed, priority=10, dont_filter=True)
            for url in s.sitemaps:
                yield scrapy.Request(
                    url, callback=self.parse_sitemap, priority=10, dont_filter=True
                )

    def parse_feed(self, response):
        self.counts["listings"] += 1
        parsed = feedparser.parse(response.body, sanitize_html=False)
        for entry in parsed.entries:
            if entry.get("link"):
                yield scrapy.Request(entry.link, callback=self.parse_article)

    def parse_sitemap(self, response):
        self.counts["listings"] += 1
        root = etree.fromstring(response.body, PARSER)
        for node in root:
            loc = next((c.text for c in node if etree.QName(c.tag).localname == "loc"), None)
            if not loc:
                continue
            if etree.QName(node.tag).localname == "sitemap":
                yield scrapy.Request(loc, callback=self.parse_sitemap, priority=10)
            else:
                yield scrapy.Request(loc, callback=self.parse_article)

    def parse_article(self, response):
        self.counts["pages"] += 1
        text = trafilatura.extract(response.text, url=response.url)
        if text:
            self.counts["extracted"] += 1
            self.counts["chars"] += len(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", required=True)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    # nor veille's spiders: Scrapy's spider loader would import them, and with them veille's
    # store, models and rules (0.8 s of CPU this crawl never used)
    settings.set("SPIDER_MODULES", [], priority="cmdline")
    settings.set("EXTENSIONS", {}, priority="cmdline")  # Scrapy's own AutoThrottle
    settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    for pair in args.set:
        key, _, value = pair.partition("=")
        settings.set(key, value, priority="cmdline")
    counts = {"listings": 0, "pages": 0, "extracted": 0, "chars": 0}
    process = CrawlerProcess(settings)
    t0 = time.perf_counter()
    process.crawl(BareSpider, sources_path=args.sources, counts=counts)
    process.start()
    counts["seconds"] = round(time.perf_counter() - t0, 3)
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
