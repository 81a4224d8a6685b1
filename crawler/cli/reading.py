"""`veille sources`, `stats`, `status`, `errors`, `show`, `sectors`: reading what was collected
and what the service will do next."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from crawler.cli._common import (
    LAST_24H,
    UsageError,
    add_format,
    add_sources,
    known_sources,
    parse_when,
    positive_int,
    read_database,
    when,
)
from crawler.cli.output import write_rows
from crawler.cli.tables import clean
from crawler.core.sources import default_path, load_sources

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
    from storage.db import default_url, safe_url

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
    from crawler.cli.alerts import print_status

    print_status(engine)
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
    if named := args.sources or os.environ.get("VEILLE_SOURCES"):
        stored = {row["source"] for row in stats["sources"]}
        stats["sources"] += [
            {"source": s.name, "articles": 0, "agreements": 0, "last_fetched_at": None}
            for s in load_sources(named)
            if s.name not in stored
        ]
    if args.format in ("json", "jsonl"):
        write_rows([stats], args.format, ())
        return 0
    if args.format == "csv":  # the per-source counts are the table a spreadsheet wants
        write_rows(stats["sources"], "csv", ())
        return 0
    from storage.db import default_url, safe_url

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


def cmd_errors(args: argparse.Namespace) -> int:
    from storage.queries import recent_failures

    since = parse_when(args.since) if args.since else None
    engine = read_database(args)
    limit = args.limit if args.limit is not None else (50 if args.format == "table" else None)
    rows = recent_failures(engine, known_sources(engine, args), since, limit)
    if args.format == "table":
        sys.stdout.write(render_errors(rows))
    else:
        write_rows(rows, args.format, ())
    return 0


def render_errors(rows: list[dict[str, Any]]) -> str:
    """Failures for a terminal, two lines each: when, outlet, kind, status and address (cut in
    the middle), then the reason."""
    import shutil

    from crawler.cli.tables import cell, fit

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
    from crawler.core.detection.rules import sector_names

    write_rows([{"sector": name} for name in sector_names()], args.format, ("sector",))
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    sources = sub.add_parser("sources", parents=[common], help="list, validate, feed health")
    add_sources(sources, "the sources listed and checked")
    sources.add_argument("--check", action="store_true", help="validate and show feed health")
    add_format(sources)
    sources.set_defaults(func=cmd_sources)

    stats = sub.add_parser("stats", parents=[common], help="counts, last runs, errors")
    add_sources(stats, "its sources never stored are listed with 0 articles")
    add_format(stats)
    stats.set_defaults(func=cmd_stats)

    status = sub.add_parser("status", parents=[common], help="next polls, last runs, last 24 h")
    status.add_argument(
        "--runs", type=positive_int(10_000), default=10, metavar="N", help="last runs to show"
    )
    add_format(status, ("table", "json"))
    status.set_defaults(func=cmd_status)

    errors = sub.add_parser("errors", parents=[common], help="recent failed URLs and why")
    add_sources(errors, "--source names are checked against it")
    errors.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="this source only (repeatable)",
    )
    errors.add_argument("--since", type=when, metavar="D", help="2025-11-03, an ISO time, or 7d")
    errors.add_argument(
        "--limit", type=positive_int(), metavar="N", help="table: 50 newest unless given"
    )
    add_format(errors)
    errors.set_defaults(func=cmd_errors)

    show = sub.add_parser("show", parents=[common], help="one article, in full")
    show.add_argument("article_id", type=positive_int(2**63 - 1), metavar="ARTICLE_ID")
    add_format(show, ("text", "json"))
    show.set_defaults(func=cmd_show)

    sectors = sub.add_parser("sectors", parents=[common], help="the sector vocabulary")
    add_format(sectors)
    sectors.set_defaults(func=cmd_sectors)
