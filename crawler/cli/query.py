"""`veille query`: articles or stories collected."""

from __future__ import annotations

import argparse
from typing import Any

from crawler.cli._common import (
    add_format,
    add_sources,
    known_sources,
    parse_when,
    positive_int,
    read_database,
    resolve_sectors,
    when,
)
from crawler.cli.output import write_rows
from crawler.core.common import LANGUAGES


def cmd_query(args: argparse.Namespace) -> int:
    from storage.queries import Filters, find_articles, find_stories

    engine = read_database(args)
    filters = Filters(
        agreements=args.agreements,
        since=parse_when(args.since) if args.since else None,
        until=parse_when(args.until, end_of_day=True) if args.until else None,
        sources=known_sources(engine, args),
        languages=args.lang,
        sectors=resolve_sectors(args.sector),
        search=args.search,
    )
    limit = args.limit if args.limit is not None else (20 if args.format == "table" else None)
    if args.stories:
        rows = find_stories(engine, filters, limit)
        columns = ("story_id", "last_published_at", "articles", "sources", "is_agreement", "title")
        write_rows(rows, args.format, columns, keys=("story_id", "last_published_at"))
    else:
        rows = find_articles(engine, filters, limit, with_text=args.with_text)
        columns = ("id", "published_at", "source", "is_agreement", "score", "sectors", "title")
        write_rows(rows, args.format, columns, keys=("id", "published_at", "source"))
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    query = sub.add_parser("query", parents=[common], help="what was collected")
    add_sources(query, "--source names are checked against it")
    query.add_argument("--agreements", action="store_true", help="industrial agreements only")
    query.add_argument(
        "--since", type=when, metavar="D", help="2025-11-03, an ISO time, or 7d / 24h"
    )
    query.add_argument(
        "--until", type=when, metavar="D", help="same forms; a bare date includes that day"
    )
    query.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="this source only (repeatable)",
    )
    query.add_argument(
        "--lang",
        action="append",
        default=[],
        choices=LANGUAGES,
        help="this language only (repeatable)",
    )
    query.add_argument(
        "--sector", action="append", default=[], metavar="S", help="`veille sectors` lists them"
    )
    query.add_argument(
        "--search", metavar="TEXT", help='full-text search (words, "phrase", OR, -word, pre*)'
    )
    query.add_argument("--stories", action="store_true", help="one row per story")
    query.add_argument("--limit", type=positive_int(), metavar="N", help="at most N rows")
    add_format(query)
    query.add_argument("--with-text", action="store_true", help="each article's text too")
    query.set_defaults(func=cmd_query)
