"""`veille extract`, `reclassify`, `db`: pages read, re-detection, database maintenance."""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

from crawler.cli._common import (
    EXIT_NOTHING,
    EXIT_SOME_FAILED,
    UsageError,
    add_set,
    positive_int,
    read_database,
)

MAX_PAGE_BYTES = 20 * 1024 * 1024
STDIN = "-"


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
    """One target: its page as indented JSON. Several, or `-`: one JSON line per page, the
    unreadable ones said on stderr (exit 1 when some are, 2 when none could be read)."""
    targets: list[str] = args.targets
    if len(targets) == 1 and targets[0] != STDIN:
        url, body, content_type = fetch_or_read(targets[0], args)
        json.dump(page_json(body, content_type, url), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    if len(targets) > 1 and args.url:
        raise UsageError("--url gives the address of one saved FILE: give one FILE with it")
    for target in targets:
        if is_url(target):
            raise UsageError(f"{target}: a URL is fetched alone (`veille extract URL`)")
    if targets.count(STDIN) > 1:
        raise UsageError("standard input (-) can be read only once")
    unreadable = 0
    for target in targets:
        try:
            if target == STDIN:
                body, url = read_stdin(), args.url
            else:
                body, url = read_page(Path(target)), Path(target).resolve().as_uri()
        except UsageError as exc:
            print(f"veille: {exc}", file=sys.stderr, flush=True)
            unreadable += 1
            continue
        line = {"file": target, **page_json(body, None, url)}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    if unreadable:
        return EXIT_NOTHING if unreadable == len(targets) else EXIT_SOME_FAILED
    return 0


def is_url(target: str) -> bool:
    """Whether `veille extract` fetches the target (http or https) rather than reads it."""
    return re.match(r"^https?://", target) is not None


def fetch_or_read(target: str, args: argparse.Namespace) -> tuple[str, bytes, str | None]:
    """(address, body, content type) of the one page `veille extract` was given."""
    if not is_url(target):
        path = Path(target)
        return args.url or path.resolve().as_uri(), read_page(path), None
    from spiders.page import FetchError, fetch_page  # Scrapy only when a URL is fetched

    check_url(target)
    overrides = {"LOG_LEVEL": "DEBUG" if args.verbose else "ERROR", **args.overrides}
    try:
        return fetch_page(target, overrides)
    except FetchError as exc:
        raise UsageError(str(exc)) from exc


def read_stdin() -> bytes:
    """The page given on standard input, never more than MAX_PAGE_BYTES."""
    body = sys.stdin.buffer.read(MAX_PAGE_BYTES + 1)
    if len(body) > MAX_PAGE_BYTES:
        raise UsageError(f"-: larger than {MAX_PAGE_BYTES // 2**20} MB")
    return body


def page_json(body: bytes, content_type: str | None, url: str | None) -> dict[str, Any]:
    """What veille makes of one page: its fields and the verdict, as `veille extract` prints."""
    from crawler.core.detection import detect
    from crawler.core.extract import decode_html, extract
    from storage.times import iso

    page = extract(decode_html(body, content_type), url or "")
    verdict = detect(page.title or "", page.lead or "", page.text, page.language)
    return {
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


def cmd_reclassify(args: argparse.Namespace) -> int:
    from crawler.reclassify import progress_bar, reclassify
    from storage.db import open_database

    engine = open_database(args.db)
    report = reclassify(engine, everything=args.all, batch_size=args.batch, progress=progress_bar())
    print(
        f"{report.examined} article(s) re-examined: {report.flipped} verdict(s) changed "
        f"(agreement or not), {report.changed} with any field changed"
    )
    if report.kept:
        print(f"{report.kept} article(s) marked by analysts left as they decided (veille feedback)")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import default_url, open_database, safe_url

    open_database(args.db)
    print(f"database at the newest schema: {safe_url(args.db or default_url())}")
    return 0


def cmd_db_describe(args: argparse.Namespace) -> int:
    from storage.db import default_url
    from storage.describe import datasette_metadata

    url = args.db or default_url()
    read_database(args)  # it exists, at the newest schema
    json.dump(datasette_metadata(url), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    extract = sub.add_parser(
        "extract", parents=[common], help="what veille makes of one page, or of many"
    )
    extract.add_argument(
        "targets",
        nargs="+",
        metavar="FILE|URL|-",
        help="saved pages (.gz read gunzipped), one URL to fetch, or - for a page on standard "
        "input; several, or -, give one JSON line per page",
    )
    extract.add_argument("--url", help="the address of the one saved FILE (or -)")
    add_set(extract, "override a Scrapy setting")
    extract.set_defaults(func=cmd_extract)

    reclass = sub.add_parser(
        "reclassify", parents=[common], help="re-run detection after a rules change"
    )
    reclass.add_argument("--all", action="store_true", help="every article, not just stale ones")
    reclass.add_argument(
        "--batch",
        type=positive_int(100_000),
        default=500,
        metavar="N",
        help="articles per transaction (500)",
    )
    reclass.set_defaults(func=cmd_reclassify)

    db = sub.add_parser("db", parents=[common], help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", parents=[common], help="apply migrations").set_defaults(
        func=cmd_db
    )
    db_sub.add_parser(
        "describe", parents=[common], help="Datasette metadata.json describing every table"
    ).set_defaults(func=cmd_db_describe)
