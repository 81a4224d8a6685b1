"""`veille crawl`: one crawl now, its summary and exit status."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

from crawler.cli.output import write_rows
from crawler.core.sources import load_sources, select

if TYPE_CHECKING:  # Scrapy is imported only by the commands that crawl
    from crawler.runner import CrawlReport
from crawler.cli._common import (
    EXIT_INTERRUPTED,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_SOME_FAILED,
    UsageError,
    add_set,
    add_sources,
    resolve_sources,
)


def crawl_exit_code(status: str, unread: list[str], selected: list[str]) -> int:
    """0 every source had a listing read; 1 some had none (or articles were not written);
    2 nothing could be crawled; 130 interrupted."""
    if status == "interrupted":
        return EXIT_INTERRUPTED
    if selected and len(unread) == len(selected):
        return EXIT_NOTHING
    return EXIT_OK if status == "ok" else EXIT_SOME_FAILED


def crawl_summary(report: CrawlReport, unread: list[str]) -> str:
    """The one line that says how a crawl went."""
    names = sorted(report.counts)
    total = {k: sum(c.get(k, 0) for c in report.counts.values()) for k in ("new", "agreements")}
    errors = sum(c.get("errors", 0) for c in report.counts.values())
    line = f"crawl #{report.run_id}: {report.status}"
    if unread:
        line += (
            f": {len(unread)} of {len(names)} source(s) had no listing read ({', '.join(unread)})"
        )
    else:
        line += f": {len(names)} source(s) read"
    line += (
        f"; {total['new']} new article(s), {total['agreements']} agreement(s), {errors} error(s)"
    )
    if errors:
        line += " (see `veille errors`)"
    return line


def crawl_rows(report: CrawlReport) -> list[dict[str, Any]]:
    """Per source: listings, new articles, agreements, duplicates, errors."""
    rows = []
    for name in sorted(report.counts):
        c = report.counts[name]
        rows.append(
            {
                "source": name,
                "listings": c["listings_read"] + c["listings_unchanged"] + c["listings_failed"],
                "unchanged": c["listings_unchanged"],
                "failed": c["listings_failed"],
                "new": c["new"],
                "agreements": c["agreements"],
                "dupes": c["duplicates"],
                "errors": c["errors"],
            }
        )
    return rows


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.runner import crawl_settings, run_crawl, unread_sources

    selected = select(load_sources(args.sources), resolve_sources(args.sources, args.source))
    if not selected:
        raise UsageError("no source to crawl: every source of the sources file is disabled")
    overrides = {"LOG_LEVEL": "DEBUG" if args.verbose else "WARNING", **args.overrides}
    if not args.quiet and sys.stderr.isatty():
        overrides["VEILLE_PROGRESS"] = True
    settings = crawl_settings(args.db, args.sources, [s.name for s in selected], overrides)
    report = run_crawl(settings)
    for name in (s.name for s in selected):
        report.counts.setdefault(name, Counter())
    unread = unread_sources(sorted(report.counts), report.counts)
    print(crawl_summary(report, unread))
    if not args.quiet:
        columns = ("source", "listings", "unchanged", "failed", "new", "agreements", "dupes")
        write_rows(crawl_rows(report), "table", (*columns, "errors"))
    if report.offline:
        print(
            "No source could be reached: every feed failed with a network error "
            "(DNS lookup or connection). Is this machine offline, or does it need "
            "https_proxy/http_proxy set?"
        )
    return crawl_exit_code(report.status, unread, [s.name for s in selected])


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    crawl = sub.add_parser("crawl", parents=[common], help="one crawl now, then exit")
    add_sources(crawl, "the outlets crawled")
    crawl.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="this source only (repeatable)",
    )
    add_set(crawl, "override a Scrapy setting (e.g. DOWNLOAD_DELAY=2)")
    crawl.add_argument(
        "-q", "--quiet", action="store_true", help="no progress line, no per-source table"
    )
    crawl.set_defaults(func=cmd_crawl)
