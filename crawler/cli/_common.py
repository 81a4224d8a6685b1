"""What every command shares: errors, argparse types, dates, the common options."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from crawler.cli.output import FORMATS
from crawler.core.sources import load_sources

if TYPE_CHECKING:  # Scrapy is imported only by the commands that crawl
    pass


RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")


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


EXIT_OK, EXIT_SOME_FAILED, EXIT_NOTHING, EXIT_INTERRUPTED, EXIT_PIPE = 0, 1, 2, 130, 141


LAST_24H = "last 24 h (by publication time, else fetch time)"


def read_database(args: argparse.Namespace) -> Any:
    """The database, opened read-only: it must exist; nothing is created or migrated."""
    from storage.db import open_database

    return open_database(args.db, readonly=True)


def resolve_sectors(values: list[str]) -> list[str]:
    """Sector names as the vocabulary spells them, matched case- and accent-insensitively;
    `help` lists the vocabulary."""
    from crawler.core.detection.rules import sector_names
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


class ShowAndExit(Exception):
    """Something to print on standard output instead of running the command."""


def add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...] = FORMATS) -> None:
    parser.add_argument(
        "--format", choices=choices, default="table", help=f"output: {', '.join(choices)}"
    )


def add_set(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help=help_text)


def common_options() -> argparse.ArgumentParser:
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
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="debug logs; the traceback of an unexpected error",
    )
    return common
