"""The `veille` command: crawl, serve, query, agreements, organisations, sources, stats,
extract, reclassify, db."""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import re
import sys
import traceback
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import alerts.commands
from crawler.output import FORMATS, write_rows
from crawler.settings import VERSION
from crawler.sources import SourcesError, default_path, load_sources, select
from crawler.tables import clean
from storage.db import default_url, open_database, safe_url

if TYPE_CHECKING:  # Scrapy is imported only by the commands that crawl
    from crawler.runner import CrawlReport

RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")
MAX_PAGE_BYTES = 20 * 1024 * 1024
MAX_HOURS_AGO = 100 * 8766


class UsageError(Exception):
    """Bad input from the command line, said plainly."""


def parse_when(value: str, *, end_of_day: bool = False) -> datetime:
    """'2025-11-03', an ISO datetime, or '24h' / '7d' / '2w' ago; UTC."""
    value = value.strip()
    if m := RELATIVE.match(value):
        hours = {"h": 1, "d": 24, "w": 168}[m.group(2)] * int(m.group(1))
        if hours > MAX_HOURS_AGO:
            raise UsageError(f"{value!r} is too far back (at most {MAX_HOURS_AGO // 8766} years)")
        return datetime.now(UTC) - timedelta(hours=hours)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError) as exc:
        raise UsageError(f"{value!r} is not a date (use 2025-11-03, an ISO time, or 7d)") from exc
    if len(value) == 10 and end_of_day and parsed.date() < date.max:
        parsed = datetime.combine(parsed.date() + timedelta(days=1), time())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def positive_int(limit: int = 10**9) -> Any:
    """An argparse type: a whole number from 1 to `limit`."""

    def check(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not 1 <= number <= limit:
            raise argparse.ArgumentTypeError(f"{value} is not between 1 and {limit}")
        return number

    return check


def positive_float(value: str) -> float:
    """An argparse type: a number of seconds (or a factor) above zero."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 < number < 10**9:
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return number


def number_in(low: float, high: float) -> Any:
    """An argparse type: a number from `low` to `high`."""

    def check(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
        if not low <= number <= high:  # NaN fails too
            raise argparse.ArgumentTypeError(f"{value} is not between {low:g} and {high:g}")
        return number

    return check


def when(value: str) -> str:
    """An argparse type: a date the way parse_when reads it (checked, kept as given)."""
    try:
        parse_when(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


# -- commands -----------------------------------------------------------------------------


EXIT_OK, EXIT_SOME_FAILED, EXIT_NOTHING, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 130, 141


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


LAST_24H = "last 24 h (by publication time, else fetch time)"


def cmd_query(args: argparse.Namespace) -> int:
    from storage.queries import Filters, find_articles, find_stories

    filters = Filters(
        agreements=args.agreements,
        since=parse_when(args.since) if args.since else None,
        until=parse_when(args.until, end_of_day=True) if args.until else None,
        sources=args.source,
        languages=args.lang,
        sectors=resolve_sectors(args.sector),
        search=args.search,
    )
    limit = args.limit if args.limit is not None else (20 if args.format == "table" else None)
    engine = read_database(args)
    if args.stories:
        rows = find_stories(engine, filters, limit)
        columns = ("story_id", "last_published_at", "articles", "sources", "is_agreement", "title")
        write_rows(rows, args.format, columns, keys=("story_id", "last_published_at"))
    else:
        rows = find_articles(engine, filters, limit, with_text=args.with_text)
        columns = ("id", "published_at", "source", "is_agreement", "score", "sectors", "title")
        write_rows(rows, args.format, columns, keys=("id", "published_at", "source"))
    return 0


def read_database(args: argparse.Namespace) -> Any:
    """The database, opened read-only: it must exist; nothing is created or migrated."""
    return open_database(args.db, readonly=True)


def resolve_sectors(values: list[str]) -> list[str]:
    """Sector names as the vocabulary spells them, matched case- and accent-insensitively;
    `help` lists the vocabulary."""
    from crawler.detection.rules import sector_names
    from storage.search import fold

    vocabulary = sector_names()
    by_fold = {fold(name): name for name in vocabulary}
    out = []
    for value in values:
        if fold(value) == "help":
            raise ShowAndExit("\n".join(vocabulary))
        if fold(value) not in by_fold:
            raise UsageError(f"--sector {value!r}: not a sector; `veille sectors` lists them")
        out.append(by_fold[fold(value)])
    return out


def resolve_sources(path: str | None, names: list[str]) -> list[str]:
    """Source names as the sources file spells them, matched case-insensitively."""
    from storage.search import fold

    by_fold = {fold(s.name): s.name for s in load_sources(path)}
    return [by_fold.get(fold(n), n) for n in names]


def _rates_note() -> str:
    from crawler.agreements import RATES_FILE, rates

    shown = ", ".join(f"1 {c} = {r:g} MAD" for c, r in rates().items() if c != "MAD")
    return f"{shown} ({RATES_FILE.name})"


AGREEMENT_COLUMNS = ("id", "first_seen", "types", "mad", "outlets", "who")
AGREEMENT_KEYS = ("id", "first_seen")


def _agreement_table_row(row: dict[str, Any]) -> dict[str, Any]:
    """An agreement row with the table's derived columns: names, value in MAD, outlets."""
    from crawler.agreements import largest_in_mad

    return {
        **row,
        "first_seen": (row["first_seen"] or "")[:10],
        "who": [o["name"] for o in row["organisations"]] or row["parties"],
        "mad": largest_in_mad(row["amounts"]),
        "outlets": list(dict.fromkeys(a["source"] for a in row["articles"])),
    }


def cmd_agreements(args: argparse.Namespace) -> int:
    from storage.agreement_queries import AgreementFilters, find_agreements

    filters = AgreementFilters(
        since=parse_when(args.since) if args.since else None,
        until=parse_when(args.until, end_of_day=True) if args.until else None,
        parties=args.party,
        sectors=resolve_sectors(args.sector),
        types=args.type,
        min_amount=args.min_amount,
        min_score=args.min_score,
        languages=args.lang,
        sources=args.source,
        search=args.search,
    )
    limit = args.limit if args.limit is not None else (20 if args.format == "table" else None)
    rows = find_agreements(read_database(args), filters, limit)
    if args.format == "table":
        write_rows(
            [_agreement_table_row(r) for r in rows], "table", AGREEMENT_COLUMNS, keys=AGREEMENT_KEYS
        )
        if args.min_amount is not None:
            print(f"amounts compared in MAD: {_rates_note()}", file=sys.stderr)
    else:
        write_rows(rows, args.format, ())
    return 0


def cmd_organisations(args: argparse.Namespace) -> int:
    from storage.agreement_queries import list_organisations, organisation_detail

    engine = read_database(args)
    if args.name is None:
        limit = args.limit if args.limit is not None else (20 if args.format == "table" else None)
        rows = list_organisations(engine, args.search, limit)
        columns = ("id", "agreements", "kind", "curated", "name")
        write_rows(rows, args.format, columns, keys=("id",))
        return 0
    org = organisation_detail(engine, args.name)
    if org is None:
        raise UsageError(f"no organisation goes by {args.name!r} (try --search)")
    if args.format != "table":
        write_rows([org], args.format if args.format != "csv" else "json", ())
        return 0
    print(f"{org['name']}  ({org['kind']}{', curated' if org['curated'] else ''}, id {org['id']})")
    print("aliases: " + "; ".join(f"{a['alias']} [{a['language'] or '-'}]" for a in org["aliases"]))
    print(f"\n{len(org['agreements'])} agreement(s), oldest first:")
    rows = [_agreement_table_row(r) for r in org["agreements"]]
    write_rows(rows, "table", AGREEMENT_COLUMNS, keys=AGREEMENT_KEYS)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    sources = load_sources(args.sources)
    rows: list[dict[str, Any]] = [
        {
            "source": s.name,
            "language": s.language,
            "enabled": s.enabled,
            "interval": s.schedule or f"{s.interval // 60}m",
            "feeds": list(s.feeds),
            "sitemaps": list(s.sitemaps),
        }
        for s in sources
    ]
    if not args.check:
        write_rows(rows, args.format, ("source", "language", "enabled", "interval", "feeds"))
        return 0
    from storage.queries import feed_health

    engine = read_database(args)
    health = _with_next_poll(engine, feed_health(engine, sources))
    columns = (
        "source",
        "kind",
        "status",
        "last_success_at",
        "last_new_item_at",
        "next_poll",
        "url",
    )
    write_rows(health, args.format, columns, keys=("source", "status", "url"))
    print(f"{len(sources)} sources valid in {args.sources or default_path()}", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from storage.queries import statistics

    engine = read_database(args)
    stats = statistics(engine)
    _with_next_poll(engine, stats["feeds"])
    if args.format in ("json", "jsonl"):
        write_rows([stats], args.format, ())
        return 0
    if args.format == "csv":  # the per-source counts are the table a spreadsheet wants
        write_rows(stats["sources"], "csv", ())
        return 0
    print(f"database: {safe_url(args.db or default_url())}")
    print(
        f"articles: {stats['articles']}  agreements: {stats['agreements']}  "
        f"{LAST_24H}: {stats['last_24h']['articles']} articles, "
        f"{stats['last_24h']['agreements']} agreements"
    )
    print("languages: " + ", ".join(f"{k} {v}" for k, v in stats["languages"].items()))
    print("\nsources:")
    write_rows(stats["sources"], "table", ("source", "articles", "agreements", "last_fetched_at"))
    print("\nlast runs:")
    runs = [
        {
            **r,
            "new": sum(c.get("new", 0) for c in r["counts"].values()),
            "errors": sum(c.get("errors", 0) for c in r["counts"].values()),
        }
        for r in stats["runs"]
    ]
    write_rows(runs, "table", ("id", "started_at", "finished_at", "status", "new", "errors"))
    write_failing_feeds(stats["feeds"])
    print("\nfeeds:")
    write_rows(stats["feeds"], "table", FEED_HEALTH_COLUMNS, keys=("source", "status", "url"))
    return 0


# -- the service (scheduler.py) -----------------------------------------------------------

FEED_HEALTH_COLUMNS = (
    "source",
    "kind",
    "status",
    "last_success_at",
    "last_new_item_at",
    "next_poll",
    "url",
)


def _with_next_poll(engine: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Feed health rows with each source's next poll from the service's job store."""
    from scheduler import next_polls

    polls = next_polls(engine)
    for row in rows:
        row["next_poll"] = polls.get(row["source"], "not scheduled")
    return rows


def cmd_serve(args: argparse.Namespace) -> int:
    from scheduler import ServiceError, ServiceOptions, serve, setup_logging

    sources_path = str(Path(args.sources or default_path()).resolve())
    load_sources(sources_path)
    setup_logging(args.log_file, args.verbose)
    options = ServiceOptions(
        db_url=args.db or default_url(),
        sources_path=sources_path,
        settings=args.set,
        workers=args.workers,
        crawl_timeout=args.crawl_timeout,
        grace=args.grace,
        kill_grace=args.kill_grace,
        interval_scale=args.interval_scale,
        run_now=args.run_now,
    )
    try:
        return serve(options)
    except ServiceError as exc:
        print(f"veille: {exc}", file=sys.stderr)
        return 1


def failing(feeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The feeds that fail: their own requests, or every article they listed."""
    return [f for f in feeds if f["status"].startswith("failing")]


def write_failing_feeds(feeds: list[dict[str, Any]]) -> None:
    """A `failing feeds:` table, when some feed fails."""
    if rows := failing(feeds):
        print("\nfailing feeds:")
        columns = ("source", "status", "url", "last_error")
        write_rows(rows, "table", columns, keys=("source", "status", "url"))


def cmd_status(args: argparse.Namespace) -> int:
    from scheduler import scheduled_jobs
    from storage.queries import iso, statistics

    engine = read_database(args)
    stats = statistics(engine, runs=args.runs)
    jobs = sorted(
        scheduled_jobs(engine).items(),
        key=lambda kv: (kv[1]["next_poll_at"] is None, kv[1]["next_poll_at"] or 0),
    )
    schedule = [
        {
            "source": name,
            "next_poll_at": iso(job["next_poll_at"] and job["next_poll_at"].replace(microsecond=0))
            or "paused",
            "every": job["schedule"] or f"{round(job['interval'] or 0)}s",
            "why": job["reason"],
        }
        for name, job in jobs
    ]
    runs = [
        {
            "id": r["id"],
            "started_at": r["started_at"],
            "finished_at": r["finished_at"],
            "status": r["status"],
            "sources": ",".join(r["sources"] or []),
            "new": sum(c.get("new", 0) for c in r["counts"].values()),
            "agreements": sum(c.get("agreements", 0) for c in r["counts"].values()),
            "errors": len(r["errors"] or []),
        }
        for r in stats["runs"]
    ]
    if args.format != "table":
        status = {
            "next_polls": schedule,
            "last_runs": runs,
            "last_24h": stats["last_24h"],
            "failing_feeds": failing(stats["feeds"]),
        }
        write_rows([status], args.format, ())
        return 0
    print(f"database: {safe_url(args.db or default_url())}")
    print(
        f"{LAST_24H}: {stats['last_24h']['articles']} articles, "
        f"{stats['last_24h']['agreements']} agreements"
    )
    print("\nnext polls:" if schedule else "\nnext polls: none (has `veille serve` run here?)")
    if schedule:
        write_rows(schedule, "table", ("source", "next_poll_at", "every", "why"), keys=("source",))
    print("\nlast runs:")
    columns = ("id", "started_at", "finished_at", "status", "new", "agreements", "errors")
    write_rows(runs, "table", (*columns, "sources"), keys=("id", "started_at"))
    write_failing_feeds(stats["feeds"])
    alerts.commands.print_status(engine)
    return 0


def read_page(path: Path) -> bytes:
    """A saved page, gunzipped when it ends in .gz, never more than MAX_PAGE_BYTES."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            body = handle.read(MAX_PAGE_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from exc
    if len(body) > MAX_PAGE_BYTES:
        raise UsageError(f"{path}: larger than {MAX_PAGE_BYTES // 2**20} MB")
    return body


def cmd_extract(args: argparse.Namespace) -> int:
    from crawler.detection import detect
    from crawler.extract import decode_html, extract
    from storage.queries import iso

    target = args.target
    if re.match(r"^https?://", target):
        from spiders.page import FetchError, fetch_page  # Scrapy only when a URL is fetched

        check_url(target)
        overrides = {"LOG_LEVEL": "DEBUG" if args.verbose else "ERROR", **args.overrides}
        try:
            url, body, content_type = fetch_page(target, overrides)
        except FetchError as exc:
            raise UsageError(str(exc)) from exc
    else:
        path = Path(target)
        body, content_type = read_page(path), None
        url = args.url or path.resolve().as_uri()
    page = extract(decode_html(body, content_type), url)
    verdict = detect(page.title or "", page.lead or "", page.text, page.language)
    result = {
        "url": url,
        "canonical_url": page.canonical_url,
        "title": page.title,
        "author": page.author,
        "published_at": iso(page.published_at),
        "published_local": page.published_local.isoformat() if page.published_local else None,
        "language": page.language,
        "lead": page.lead,
        **verdict.as_dict(),
        "text": page.text,
    }
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def check_url(url: str) -> None:
    """A URL a crawl can request: a host, and a port that is a port (UsageError otherwise)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{url!r} is not a usable URL: {exc}") from exc
    if not parts.hostname or port == 0:
        raise UsageError(
            f"{url!r} is not a usable URL: no host"
            if not parts.hostname
            else f"{url!r} is not a usable URL: port 0"
        )


def cmd_errors(args: argparse.Namespace) -> int:
    from storage.queries import recent_failures

    since = parse_when(args.since) if args.since else None
    engine = read_database(args)
    limit = args.limit if args.limit is not None else (50 if args.format == "table" else None)
    rows = recent_failures(engine, args.source, since, limit)
    if args.format == "table":
        sys.stdout.write(render_errors(rows))
    else:
        write_rows(rows, args.format, ())
    return 0


def render_errors(rows: list[dict[str, Any]]) -> str:
    """Failures for a terminal, two lines each: when, outlet, kind, status and address (cut in
    the middle), then the reason."""
    import shutil

    from crawler.tables import cell, fit

    if not rows:
        return "(nothing matches)\n"
    total = shutil.get_terminal_size((120, 20)).columns
    lines = []
    for row in rows:
        head = "  ".join(
            cell(row[k]) for k in ("last_attempt_at", "source", "kind", "status") if row[k]
        )
        room = max(20, total - len(head) - 2)
        lines.append(f"{head}  {fit(cell(row['url']), room, middle=True).rstrip()}")
        lines.append("    " + fit(cell(row["error"]), max(20, total - 4)).rstrip())
    return "\n".join(lines) + "\n"


def cmd_show(args: argparse.Namespace) -> int:
    from storage.queries import article_by_id

    row = article_by_id(read_database(args), args.article_id)
    if row is None:
        raise UsageError(f"no article with id {args.article_id}")
    if args.format == "json":
        write_rows([row], "jsonl", ())
        return 0
    sys.stdout.write(render_article(row))
    return 0


def render_article(row: dict[str, Any]) -> str:
    """One article for a reader: what it is, the verdict and why, its agreements, its text."""

    verdict = "an industrial agreement" if row["is_agreement"] else "not an industrial agreement"
    lines = [
        clean(row["title"] or "(no title)"),
        f"{row['source']} · {row['published_at'] or 'undated'} · {row['language'] or '?'} · "
        f"article {row['id']}, story {row['story_id']}",
        row["url"],
        "",
        f"verdict: {verdict} (score {row['score'] or 0:.2f}, by {row.get('verdict_by', 'rules')})",
    ]
    for label, key in (
        ("types", "agreement_types"),
        ("sectors", "sectors"),
        ("parties", "parties"),
    ):
        if row[key]:
            lines.append(f"{label}: {clean('; '.join(row[key]))}")
    if row["amounts"]:
        lines.append(
            "amounts: " + clean("; ".join(str(a.get("text") or a) for a in row["amounts"]))
        )
    if row["evidence"]:
        lines += ["", "evidence:", *(f"  - {clean(e)}" for e in row["evidence"])]
    if row["text"]:
        lines += ["", clean(row["text"], keep_newlines=True)]
    return "\n".join(lines) + "\n"


def cmd_sectors(args: argparse.Namespace) -> int:
    from crawler.detection.rules import sector_names

    write_rows([{"sector": name} for name in sector_names()], args.format, ("sector",))
    return 0


def cmd_reclassify(args: argparse.Namespace) -> int:
    from crawler.reclassify import progress_bar, reclassify

    engine = open_database(args.db)
    report = reclassify(engine, everything=args.all, batch_size=args.batch, progress=progress_bar())
    print(
        f"{report.examined} article(s) re-examined: {report.flipped} verdict(s) changed "
        f"(agreement or not), {report.changed} with any field changed"
    )
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    open_database(args.db)
    print(f"database at the newest schema: {safe_url(args.db or default_url())}")
    return 0


def cmd_db_describe(args: argparse.Namespace) -> int:
    from storage.describe import datasette_metadata

    url = args.db or default_url()
    read_database(args)  # it exists, at the newest schema
    json.dump(datasette_metadata(url), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


# -- parser -------------------------------------------------------------------------------


class ShowAndExit(Exception):
    """Something to print on standard output instead of running the command."""


FREE_TEXT_OPTIONS = ("--search",)  # their value may start with "-": `--search -automobile`


def glue_free_text(argv: list[str]) -> list[str]:
    """`--search -word` as `--search=-word`, so argparse takes the value for a value."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg.startswith("--") and arg.endswith("=--"):  # argparse would read it as []
            raise UsageError(f"{arg}: '--' is not a value")
        if arg in FREE_TEXT_OPTIONS:
            value = next(args, None)
            if value == "--":
                raise UsageError(f"{arg} --: '--' is not a value")
            out.append(arg if value is None else f"{arg}={value}")
        else:
            out.append(arg)
    return out


def _format(parser: argparse.ArgumentParser, choices: tuple[str, ...] = FORMATS) -> None:
    parser.add_argument("--format", choices=choices, default="table")


def _set(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help=help_text)


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        help="database URL or SQLite path (default: $VEILLE_DB, else "
        "~/.local/share/veille/veille.sqlite3)",
    )
    common.add_argument(
        "--sources",
        default=argparse.SUPPRESS,
        help="sources file (default: $VEILLE_SOURCES, else the bundled one)",
    )
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS)
    return common


def _add_crawl(sub: Any, common: argparse.ArgumentParser) -> None:
    crawl = sub.add_parser("crawl", parents=[common], help="one crawl now, then exit")
    crawl.add_argument("--source", action="append", default=[], metavar="NAME")
    _set(crawl, "override a Scrapy setting (e.g. DOWNLOAD_DELAY=2)")
    crawl.add_argument(
        "-q", "--quiet", action="store_true", help="no progress line, no per-source table"
    )
    crawl.set_defaults(func=cmd_crawl)


def _add_query(sub: Any, common: argparse.ArgumentParser) -> None:
    query = sub.add_parser("query", parents=[common], help="what was collected")
    query.add_argument("--agreements", action="store_true", help="industrial agreements only")
    query.add_argument(
        "--since", type=when, metavar="D", help="2025-11-03, an ISO time, or 7d / 24h"
    )
    query.add_argument(
        "--until", type=when, metavar="D", help="same forms; a bare date includes that day"
    )
    query.add_argument("--source", action="append", default=[], metavar="NAME")
    query.add_argument("--lang", action="append", default=[], choices=("fr", "ar", "en"))
    query.add_argument(
        "--sector", action="append", default=[], metavar="S", help="`veille sectors` lists them"
    )
    query.add_argument(
        "--search", metavar="TEXT", help='full-text search (words, "phrase", OR, -word, pre*)'
    )
    query.add_argument("--stories", action="store_true", help="one row per story")
    query.add_argument("--limit", type=positive_int(), metavar="N")
    _format(query)
    query.add_argument("--with-text", action="store_true")
    query.set_defaults(func=cmd_query)


def _add_agreements(sub: Any, common: argparse.ArgumentParser) -> None:
    agreements = sub.add_parser(
        "agreements", parents=[common], help="the agreements, merged across outlets"
    )
    agreements.add_argument(
        "--since", type=when, metavar="D", help="first seen from (2025-11-03, an ISO time, 7d)"
    )
    agreements.add_argument(
        "--until", type=when, metavar="D", help="same forms; a bare date includes that day"
    )
    agreements.add_argument(
        "--party",
        action="append",
        default=[],
        metavar="NAME",
        help="a signatory, by any of its names in any language (ONCF, وزارة الصناعة...)",
    )
    agreements.add_argument(
        "--sector", action="append", default=[], metavar="S", help="`veille sectors` lists them"
    )
    agreements.add_argument(
        "--type", action="append", default=[], metavar="T", help="convention, contrat-programme..."
    )
    agreements.add_argument(
        "--min-amount",
        type=number_in(0, 1e15),
        metavar="MAD",
        help=f"largest amount at least this many dirhams; {_rates_note()}",
    )
    agreements.add_argument("--min-score", type=number_in(0, 1), metavar="X", help="0..1")
    agreements.add_argument("--lang", action="append", default=[], choices=("fr", "ar", "en"))
    agreements.add_argument("--source", action="append", default=[], metavar="NAME")
    agreements.add_argument(
        "--search", metavar="TEXT", help="full-text search in the articles that report it"
    )
    agreements.add_argument("--limit", type=positive_int(), metavar="N")
    _format(agreements)
    agreements.set_defaults(func=cmd_agreements)

    organisations = sub.add_parser(
        "organisations", parents=[common], help="signatories and their agreements"
    )
    organisations.add_argument(
        "name", nargs="?", metavar="NAME", help="show one organisation: aliases, agreements"
    )
    organisations.add_argument("--search", metavar="NAME", help="names containing this")
    organisations.add_argument("--limit", type=positive_int(), metavar="N")
    _format(organisations)
    organisations.set_defaults(func=cmd_organisations)


def _add_serve(sub: Any, common: argparse.ArgumentParser) -> None:
    serve = sub.add_parser("serve", parents=[common], help="the scheduled service, until SIGTERM")
    _set(serve, "a Scrapy setting passed to every crawl (e.g. DOWNLOAD_DELAY=2)")
    serve.add_argument("--log-file", metavar="FILE", help="also log to this file")
    serve.add_argument(
        "--workers",
        type=positive_int(64),
        default=2,
        metavar="N",
        help="crawls at once (default 2)",
    )
    for flag, default, what in (
        ("--crawl-timeout", 1800, "time limit of one crawl, seconds"),
        ("--grace", 60, "on SIGTERM, how long running crawls may finish before being stopped"),
        ("--kill-grace", 30, "how long a stopped crawl may take before SIGKILL"),
    ):
        serve.add_argument(
            flag, type=positive_float, default=default, metavar="S", help=f"{what} ({default})"
        )
    serve.add_argument("--run-now", action="store_true", help="poll every source once at start")
    serve.add_argument(  # for tests and benchmarks: every interval times this factor
        "--interval-scale", type=positive_float, default=1.0, help=argparse.SUPPRESS
    )
    serve.set_defaults(func=cmd_serve)


def _add_reading(sub: Any, common: argparse.ArgumentParser) -> None:
    sources = sub.add_parser("sources", parents=[common], help="list, validate, feed health")
    sources.add_argument("--check", action="store_true", help="validate and show feed health")
    _format(sources)
    sources.set_defaults(func=cmd_sources)

    stats = sub.add_parser("stats", parents=[common], help="counts, last runs, errors")
    _format(stats)
    stats.set_defaults(func=cmd_stats)

    status = sub.add_parser("status", parents=[common], help="next polls, last runs, last 24 h")
    status.add_argument(
        "--runs", type=positive_int(10_000), default=10, metavar="N", help="last runs to show"
    )
    _format(status, ("table", "json"))
    status.set_defaults(func=cmd_status)

    errors = sub.add_parser("errors", parents=[common], help="recent failed URLs and why")
    errors.add_argument("--source", action="append", default=[], metavar="NAME")
    errors.add_argument("--since", type=when, metavar="D", help="2025-11-03, an ISO time, or 7d")
    errors.add_argument(
        "--limit", type=positive_int(), metavar="N", help="table: 50 newest unless given"
    )
    _format(errors)
    errors.set_defaults(func=cmd_errors)

    show = sub.add_parser("show", parents=[common], help="one article, in full")
    show.add_argument("article_id", type=positive_int(2**63 - 1), metavar="ARTICLE_ID")
    _format(show, ("text", "json"))
    show.set_defaults(func=cmd_show)

    sectors = sub.add_parser("sectors", parents=[common], help="the sector vocabulary")
    _format(sectors)
    sectors.set_defaults(func=cmd_sectors)


def _add_pages(sub: Any, common: argparse.ArgumentParser) -> None:
    extract = sub.add_parser("extract", parents=[common], help="what veille makes of one page")
    extract.add_argument("target", metavar="FILE|URL")
    extract.add_argument("--url", help="the address of a saved FILE")
    _set(extract, "override a Scrapy setting")
    extract.set_defaults(func=cmd_extract)

    reclass = sub.add_parser(
        "reclassify", parents=[common], help="re-run detection after a rules change"
    )
    reclass.add_argument("--all", action="store_true", help="every article, not just stale ones")
    reclass.add_argument("--batch", type=positive_int(100_000), default=500, metavar="N")
    reclass.set_defaults(func=cmd_reclassify)

    db = sub.add_parser("db", parents=[common], help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", parents=[common], help="apply migrations").set_defaults(
        func=cmd_db
    )
    db_sub.add_parser(
        "describe", parents=[common], help="Datasette metadata.json describing every table"
    ).set_defaults(func=cmd_db_describe)


def build_parser() -> argparse.ArgumentParser:
    """The `veille` argument parser, every command and option."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="veille",
        parents=[common],
        description="Moroccan business news, watched for industrial agreements.",
        epilog="exit status: 0 done; 1 some sources failed; 2 nothing could be done or bad "
        "usage; 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"veille {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_crawl, _add_query, _add_agreements, _add_serve, _add_reading, _add_pages):
        add(sub, common)
    alerts.commands.add_parser(sub, common)
    return parser


def prepare(argv: list[str] | None) -> argparse.Namespace:
    """The command line parsed and every value checked, before anything runs (SystemExit(2)
    from argparse, or UsageError/SourcesError/OverrideError, on bad input)."""
    from crawler.overrides import checked_overrides, parse_pairs

    args = build_parser().parse_args(glue_free_text(sys.argv[1:] if argv is None else argv))
    for name, default in (("db", None), ("sources", None), ("verbose", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    if args.db is not None and not args.db.strip():
        raise UsageError("--db is empty")
    if args.func is cmd_crawl or (
        args.func is cmd_extract and re.match(r"^https?://", args.target)
    ):
        args.overrides = checked_overrides(args.set)
    elif hasattr(args, "set"):
        args.overrides = parse_pairs(args.set)
    if args.func is cmd_query and args.search is not None:
        from storage.search import parse_search

        parse_search(args.search)
    return args


def quiet_broken_pipe() -> int:
    """Standard output's reader went away (`veille query | head`): stop, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_PIPE


def _failure_line(exc: Exception, args: argparse.Namespace | None) -> tuple[str, int]:
    """One line and an exit status for an exception that ended a command."""
    from sqlalchemy.exc import SQLAlchemyError

    from crawler.overrides import OverrideError
    from storage.db import DatabaseError
    from storage.queries import QueryError

    if isinstance(exc, SourcesError | UsageError | OverrideError | QueryError | DatabaseError):
        return f"veille: {exc}", EXIT_NOTHING
    db = safe_url((args.db if args else None) or os.environ.get("VEILLE_DB") or "")
    if isinstance(exc, SQLAlchemyError):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"veille: database error ({db}): {reason}", EXIT_SOME_FAILED
    if isinstance(exc, OSError):
        return f"veille: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), EXIT_NOTHING
    return (
        f"veille: unexpected error: {type(exc).__name__}: {mask_secrets(str(exc))} "
        "(run with -v for the traceback)",
        EXIT_SOME_FAILED,
    )


def mask_secrets(text: str) -> str:
    """Any database URL in `text` with its password shown as ***."""
    return re.sub(r"\b[a-z][a-z0-9+]*://\S+", lambda m: safe_url(m.group(0)), text)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `veille` command."""
    args = None
    try:
        args = prepare(argv)
        if args.func not in (cmd_crawl, cmd_extract, cmd_serve):  # they set up their own logging
            logging.basicConfig(
                level=logging.DEBUG if args.verbose else logging.WARNING,
                format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            )
        code = args.func(args)
        sys.stdout.flush()
        return code
    except ShowAndExit as shown:
        print(shown)
        return EXIT_OK
    except BrokenPipeError:
        return quiet_broken_pipe()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        return report_failure(exc, args)


def report_failure(exc: Exception, args: argparse.Namespace | None) -> int:
    """Say in one line on stderr what ended the command (a traceback too for a bug, with
    -v); its exit status."""
    line, code = _failure_line(exc, args)
    if args is not None and args.verbose and "unexpected error" in line:
        traceback.print_exc()
    print(clean(line), file=sys.stderr)  # it may quote the user's input: no escapes
    return code


if __name__ == "__main__":
    sys.exit(main())
