"""The `veille` command: crawl, serve, query, agreements, organisations, sources, stats,
extract, reclassify, db."""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from crawler.output import FORMATS, write_rows
from crawler.settings import VERSION
from crawler.sources import SourcesError, default_path, load_sources, select
from storage.db import default_url, open_database, safe_url

RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")
MAX_PAGE_BYTES = 20 * 1024 * 1024


class UsageError(Exception):
    """Bad input from the command line, said plainly."""


def parse_when(value: str, *, end_of_day: bool = False) -> datetime:
    """'2025-11-03', an ISO datetime, or '24h' / '7d' / '2w' ago; UTC."""
    value = value.strip()
    if m := RELATIVE.match(value):
        hours = {"h": 1, "d": 24, "w": 168}[m.group(2)] * int(m.group(1))
        return datetime.now(UTC) - timedelta(hours=hours)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"{value!r} is not a date (use 2025-11-03, an ISO time, or 7d)") from exc
    if len(value) == 10 and end_of_day:
        parsed = datetime.combine(parsed.date() + timedelta(days=1), time())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _settings_pairs(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {pair!r}: expected NAME=VALUE")
        out[key.strip()] = value
    return out


# -- commands -----------------------------------------------------------------------------


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.runner import crawl_settings, run_crawl

    select(load_sources(args.sources), args.source)  # fail early, with the entry named
    overrides = {"LOG_LEVEL": "DEBUG" if args.verbose else "WARNING", **_settings_pairs(args.set)}
    settings = crawl_settings(args.db, args.sources, args.source, overrides)
    report = run_crawl(settings)
    print(f"crawl #{report.run_id}: {report.status}")
    columns = ("source", "listings", "unchanged", "failed", "new", "agreements", "dupes", "errors")
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
    write_rows(rows, "table", columns)
    if report.offline:
        print(
            "No source could be reached: every feed failed with a network error "
            "(DNS lookup or connection). Is this machine offline, or does it need "
            "https_proxy/http_proxy set?"
        )
    return 0 if report.status in ("ok", "interrupted") else 1


def cmd_query(args: argparse.Namespace) -> int:
    from storage.queries import Filters, find_articles, find_stories

    filters = Filters(
        agreements=args.agreements,
        since=parse_when(args.since) if args.since else None,
        until=parse_when(args.until, end_of_day=True) if args.until else None,
        sources=args.source,
        languages=args.lang,
        sectors=args.sector,
        search=args.search,
    )
    limit = args.limit if args.limit is not None else (20 if args.format == "table" else None)
    engine = open_database(args.db)
    if args.stories:
        rows = find_stories(engine, filters, limit)
        columns = ("last_published_at", "articles", "sources", "is_agreement", "title")
    else:
        rows = find_articles(engine, filters, limit, with_text=args.with_text)
        columns = ("published_at", "source", "is_agreement", "score", "sectors", "title")
    write_rows(rows, args.format, columns)
    return 0


def _open_for_reading(url: str | None) -> Any:
    """An engine on an existing, up-to-date database; never creates nor migrates one."""
    from sqlalchemy import make_url

    from storage.db import is_current, make_engine, normalize_url

    target = url or default_url()
    parsed = make_url(normalize_url(target))
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    )
    if on_disk and not Path(parsed.database).is_file():
        raise UsageError(f"no database at {parsed.database} (has `veille crawl` run?)")
    engine = make_engine(target)
    if not is_current(engine):
        raise UsageError(
            f"{safe_url(target)} has an older schema: run `veille db upgrade` (or a crawl) first"
        )
    return engine


def _rates_note() -> str:
    from crawler.agreements import RATES_FILE, rates

    shown = ", ".join(f"1 {c} = {r:g} MAD" for c, r in rates().items() if c != "MAD")
    return f"{shown} ({RATES_FILE.name})"


AGREEMENT_COLUMNS = ("first_seen", "types", "mad", "outlets", "who")


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
        sectors=args.sector,
        types=args.type,
        min_amount=args.min_amount,
        min_score=args.min_score,
        languages=args.lang,
        sources=args.source,
        search=args.search,
    )
    limit = args.limit if args.limit is not None else (20 if args.format == "table" else None)
    rows = find_agreements(_open_for_reading(args.db), filters, limit)
    if args.format == "table":
        write_rows([_agreement_table_row(r) for r in rows], "table", AGREEMENT_COLUMNS)
        if args.min_amount is not None:
            print(f"amounts compared in MAD: {_rates_note()}", file=sys.stderr)
    else:
        write_rows(rows, args.format, ())
    return 0


def cmd_organisations(args: argparse.Namespace) -> int:
    from storage.agreement_queries import list_organisations, organisation_detail

    engine = _open_for_reading(args.db)
    if args.name is None:
        limit = args.limit if args.limit is not None else (20 if args.format == "table" else None)
        rows = list_organisations(engine, args.search, limit)
        write_rows(rows, args.format, ("agreements", "kind", "curated", "name"))
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
    write_rows([_agreement_table_row(r) for r in org["agreements"]], "table", AGREEMENT_COLUMNS)
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

    engine = open_database(args.db)
    health = _with_next_poll(engine, feed_health(engine, sources))
    columns = (
        "source",
        "kind",
        "status",
        "last_success_at",
        "last_new_item_at",
        "consecutive_failures",
        "next_poll",
        "url",
    )
    write_rows(health, args.format, columns)
    print(f"{len(sources)} sources valid in {args.sources or default_path()}", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from storage.queries import statistics

    engine = open_database(args.db)
    stats = statistics(engine)
    _with_next_poll(engine, stats["feeds"])
    if args.format != "table":
        write_rows([stats], args.format if args.format != "csv" else "json", ())
        return 0
    print(f"database: {safe_url(args.db or default_url())}")
    print(
        f"articles: {stats['articles']}  agreements: {stats['agreements']}  "
        f"last 24 h: {stats['last_24h']['articles']} articles, "
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
    failing = [f for f in stats["feeds"] if f["consecutive_failures"]]
    if failing:
        print("\nfailing feeds:")
        write_rows(failing, "table", ("source", "consecutive_failures", "url", "last_error"))
    print("\nfeeds:")
    write_rows(stats["feeds"], "table", FEED_HEALTH_COLUMNS)
    return 0


# -- the service (scheduler.py) -----------------------------------------------------------

FEED_HEALTH_COLUMNS = (
    "source",
    "kind",
    "last_success_at",
    "last_new_item_at",
    "consecutive_failures",
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

    _settings_pairs(args.set)  # fail early on a malformed NAME=VALUE
    sources_path = str(Path(args.sources or default_path()).resolve())
    load_sources(sources_path)
    if args.interval_scale <= 0:
        raise UsageError("--interval-scale must be positive")
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


def cmd_status(args: argparse.Namespace) -> int:
    from scheduler import scheduled_jobs
    from storage.queries import iso, statistics

    engine = open_database(args.db)
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
        status = {"next_polls": schedule, "last_runs": runs, "last_24h": stats["last_24h"]}
        write_rows([status], args.format, ())
        return 0
    print(f"database: {safe_url(args.db or default_url())}")
    print(
        f"last 24 h: {stats['last_24h']['articles']} articles, "
        f"{stats['last_24h']['agreements']} agreements"
    )
    print("\nnext polls:" if schedule else "\nnext polls: none (has `veille serve` run here?)")
    if schedule:
        write_rows(schedule, "table", ("source", "next_poll_at", "every", "why"))
    print("\nlast runs:")
    columns = ("id", "started_at", "finished_at", "status", "sources", "new", "agreements")
    write_rows(runs, "table", (*columns, "errors"))
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

        overrides = {"LOG_LEVEL": "DEBUG" if args.verbose else "ERROR", **_settings_pairs(args.set)}
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
    engine = open_database(args.db)
    print(f"database at the newest schema: {safe_url(str(engine.url))}")
    return 0


# -- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
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
    parser = argparse.ArgumentParser(
        prog="veille",
        parents=[common],
        description="Moroccan business news, watched for industrial agreements.",
    )
    parser.add_argument("--version", action="version", version=f"veille {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    crawl = sub.add_parser("crawl", parents=[common], help="one crawl now, then exit")
    crawl.add_argument("--source", action="append", default=[], metavar="NAME")
    crawl.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Scrapy setting (e.g. DOWNLOAD_DELAY=2)",
    )
    crawl.set_defaults(func=cmd_crawl)

    query = sub.add_parser("query", parents=[common], help="what was collected")
    query.add_argument("--agreements", action="store_true", help="industrial agreements only")
    query.add_argument("--since", metavar="D", help="2025-11-03, an ISO time, or 7d / 24h")
    query.add_argument("--until", metavar="D", help="same forms; a bare date includes that day")
    query.add_argument("--source", action="append", default=[], metavar="NAME")
    query.add_argument("--lang", action="append", default=[], choices=("fr", "ar", "en"))
    query.add_argument("--sector", action="append", default=[], metavar="S")
    query.add_argument(
        "--search", metavar="TEXT", help='full-text search (words, "phrase", OR, -word)'
    )
    query.add_argument("--stories", action="store_true", help="one row per story")
    query.add_argument("--limit", type=int, metavar="N")
    query.add_argument("--format", choices=FORMATS, default="table")
    query.add_argument("--with-text", action="store_true")
    query.set_defaults(func=cmd_query)

    agreements = sub.add_parser(
        "agreements", parents=[common], help="the agreements, merged across outlets"
    )
    agreements.add_argument("--since", metavar="D", help="first seen from (2025-11-03, 7d...)")
    agreements.add_argument(
        "--until", metavar="D", help="same forms; a bare date includes that day"
    )
    agreements.add_argument(
        "--party",
        action="append",
        default=[],
        metavar="NAME",
        help="a signatory, by any of its names in any language (ONCF, وزارة الصناعة...)",
    )
    agreements.add_argument("--sector", action="append", default=[], metavar="S")
    agreements.add_argument(
        "--type", action="append", default=[], metavar="T", help="convention, contrat-programme..."
    )
    agreements.add_argument(
        "--min-amount",
        type=float,
        metavar="MAD",
        help=f"largest amount at least this many dirhams; {_rates_note()}",
    )
    agreements.add_argument("--min-score", type=float, metavar="X", help="0..1")
    agreements.add_argument("--lang", action="append", default=[], choices=("fr", "ar", "en"))
    agreements.add_argument("--source", action="append", default=[], metavar="NAME")
    agreements.add_argument(
        "--search", metavar="TEXT", help="full-text search in the articles that report it"
    )
    agreements.add_argument("--limit", type=int, metavar="N")
    agreements.add_argument("--format", choices=FORMATS, default="table")
    agreements.set_defaults(func=cmd_agreements)

    organisations = sub.add_parser(
        "organisations", parents=[common], help="signatories and their agreements"
    )
    organisations.add_argument(
        "name", nargs="?", metavar="NAME", help="show one organisation: aliases, agreements"
    )
    organisations.add_argument("--search", metavar="NAME", help="names containing this")
    organisations.add_argument("--limit", type=int, metavar="N")
    organisations.add_argument("--format", choices=FORMATS, default="table")
    organisations.set_defaults(func=cmd_organisations)

    sources = sub.add_parser("sources", parents=[common], help="list, validate, feed health")
    sources.add_argument("--check", action="store_true", help="validate and show feed health")
    sources.add_argument("--format", choices=FORMATS, default="table")
    sources.set_defaults(func=cmd_sources)

    stats = sub.add_parser("stats", parents=[common], help="counts, last runs, errors")
    stats.add_argument("--format", choices=FORMATS, default="table")
    stats.set_defaults(func=cmd_stats)

    serve = sub.add_parser("serve", parents=[common], help="the scheduled service, until SIGTERM")
    serve.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Scrapy setting passed to every crawl (e.g. DOWNLOAD_DELAY=2)",
    )
    serve.add_argument("--log-file", metavar="FILE", help="also log to this file")
    serve.add_argument(
        "--workers", type=int, default=2, metavar="N", help="crawls at once (default 2)"
    )
    serve.add_argument(
        "--crawl-timeout",
        type=float,
        default=1800,
        metavar="S",
        help="time limit of one crawl, seconds (default 1800)",
    )
    serve.add_argument(
        "--grace",
        type=float,
        default=60,
        metavar="S",
        help="on SIGTERM, how long running crawls may finish before being stopped (default 60)",
    )
    serve.add_argument(
        "--kill-grace",
        type=float,
        default=30,
        metavar="S",
        help="how long a stopped crawl may take before SIGKILL (default 30)",
    )
    serve.add_argument("--run-now", action="store_true", help="poll every source once at start")
    serve.add_argument(  # for tests and benchmarks: every interval times this factor
        "--interval-scale", type=float, default=1.0, help=argparse.SUPPRESS
    )
    serve.set_defaults(func=cmd_serve)

    status = sub.add_parser("status", parents=[common], help="next polls, last runs, last 24 h")
    status.add_argument("--runs", type=int, default=10, metavar="N", help="last runs to show")
    status.add_argument("--format", choices=("table", "json"), default="table")
    status.set_defaults(func=cmd_status)

    extract = sub.add_parser("extract", parents=[common], help="what veille makes of one page")
    extract.add_argument("target", metavar="FILE|URL")
    extract.add_argument("--url", help="the address of a saved FILE")
    extract.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    extract.set_defaults(func=cmd_extract)

    reclass = sub.add_parser(
        "reclassify", parents=[common], help="re-run detection after a rules change"
    )
    reclass.add_argument("--all", action="store_true", help="every article, not just stale ones")
    reclass.add_argument("--batch", type=int, default=500, metavar="N")
    reclass.set_defaults(func=cmd_reclassify)

    db = sub.add_parser("db", parents=[common], help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", parents=[common], help="apply migrations").set_defaults(
        func=cmd_db
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `veille` command."""
    args = build_parser().parse_args(argv)
    for name, default in (("db", None), ("sources", None), ("verbose", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    if args.func not in (cmd_crawl, cmd_extract, cmd_serve):  # they set up their own logging
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    try:
        return args.func(args)
    except (SourcesError, UsageError) as exc:
        print(f"veille: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from sqlalchemy.exc import SQLAlchemyError

        from storage.queries import QueryError

        if isinstance(exc, QueryError):
            print(f"veille: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, SQLAlchemyError):
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            print(
                f"veille: database error ({safe_url(args.db or default_url())}): {reason}",
                file=sys.stderr,
            )
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
