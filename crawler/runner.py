"""One crawl in this process: one crawler over the selected sources' listings, and its run
record."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.scrapy_setup import quiet_scrapy_failures, scrapy_settings
from spiders.base import open_store
from spiders.listings import ListingsSpider
from storage.runs import finish_run, start_run

OFFLINE_ERRORS = (  # Scrapy's (2.13+) and Twisted's names for "the network is not there"
    "CannotResolveHostError",
    "DNSLookupError",
    "ConnectionRefusedError",
    "DownloadTimeoutError",
    "TCPTimedOutError",
    "TimeoutError",
    "NoRouteError",
    "ConnectError",
)


@dataclass
class CrawlReport:
    """What a crawl did, per source."""

    run_id: int
    status: str
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def offline(self) -> bool:
        """Every listing failed, and for network reasons: the machine looks offline."""
        total = Counter()
        for c in self.counts.values():
            total.update(c)
        reached = total["listings_read"] + total["listings_unchanged"]
        network = [e for e in self.errors if any(k in e for k in OFFLINE_ERRORS)]
        return reached == 0 and total["listings_failed"] > 0 and len(network) == len(self.errors)


def unread_sources(names: list[str], counts: dict[str, Counter[str]]) -> list[str]:
    """The sources of which not one listing (feed or sitemap) was read or found unchanged."""
    return [
        n
        for n in names
        if not (
            counts.get(n, {}).get("listings_read") or counts.get(n, {}).get("listings_unchanged")
        )
    ]


def crawl_status(
    names: list[str], counts: dict[str, Counter[str]], reasons: set[Any], write_errors: bool
) -> str:
    """ok (every source had a listing read), partial (some had none), failed (none had, or a
    spider could not start, or articles could not be written), or interrupted."""
    if None in reasons or write_errors:
        return "failed"
    if not reasons <= {"finished"}:
        return "interrupted"
    unread = unread_sources(names, counts)
    if not unread:
        return "ok"
    return "failed" if len(unread) == len(names) else "partial"


def crawl_settings(
    db_url: str | None, sources_path: str | None, names: list[str], overrides: dict[str, str]
) -> Settings:
    """Scrapy settings for one veille crawl."""
    return scrapy_settings(
        {
            "VEILLE_DB": db_url,
            "VEILLE_SOURCES": sources_path,
            "VEILLE_SOURCE_NAMES": names,
            **overrides,
        }
    )


def run_crawl(settings: Settings) -> CrawlReport:
    """Run one crawler over every feed and sitemap of the selected sources; record the run."""
    store = open_store(settings)
    names = sorted(store.sources)
    run_id = start_run(store.engine, names)
    process = CrawlerProcess(settings)
    quiet_scrapy_failures()  # after the process has configured logging
    crawlers: list[Any] = []
    status = "failed"
    try:
        crawler = process.create_crawler(ListingsSpider)
        crawlers.append(crawler)
        process.crawl(crawler, store=store)
        process.start()
        reasons = {c.stats.get_value("finish_reason") for c in crawlers}
        status = crawl_status(names, store.counts, reasons, bool(store.write_errors))
    finally:
        store.flush()
        errors = store.write_errors + [
            e for c in crawlers for e in (c.stats.get_value("veille/errors") or [])
        ]
        for c in crawlers:
            if n := c.stats.get_value("spider_exceptions/count"):
                errors.append(
                    f"{n} unexpected error(s) in the {c.spidercls.name} spider; see the log"
                )
        unread = unread_sources(names, store.counts)
        said = (
            [f"no listing read for {len(unread)} source(s): {', '.join(unread)}"] if unread else []
        )
        finish_run(store.engine, run_id, status, store.counts, said + errors)
    return CrawlReport(run_id, status, store.counts, errors)
