"""What every command shares: errors, argparse types, dates, the common options."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crawler.cli.output import FORMATS
from crawler.core.sources import default_path, load_sources

if TYPE_CHECKING:
    from sqlalchemy import Engine


class UsageError(Exception):
    """Bad input from the command line, said plainly."""


def parse_when(value: str, *, end_of_day: bool = False) -> datetime:
    """'2025-11-03', an ISO datetime, or '24h' / '7d' / '2w' ago; UTC (UsageError if not)."""
    from crawler.core.filter_values import FilterValueError
    from crawler.core.filter_values import parse_when as parse

    try:
        return parse(value, end_of_day=end_of_day)
    except FilterValueError as exc:
        raise UsageError(str(exc)) from None


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
    from crawler.db.agreement_queries import sector_named
    from storage.search import fold

    out = []
    for value in values:
        if fold(value) == "help":
            raise ShowAndExit("\n".join(sector_names()))
        name = sector_named(value)
        if name is None:
            raise UsageError(f"--sector {value!r}: not a sector; `veille sectors` lists them")
        out.append(name)
    return out


def resolve_sources(path: str | None, names: list[str]) -> list[str]:
    """Source names as the sources file spells them, matched case-insensitively."""
    from storage.search import fold

    by_fold = {fold(s.name): s.name for s in load_sources(path)}
    return [by_fold.get(fold(n), n) for n in names]


def known_sources(engine: Engine, args: argparse.Namespace) -> list[str]:
    """The `--source` names as the sources file or the database spells them. A name that
    neither knows is bad input: a typo would otherwise match nothing, silently."""
    from storage.queries import source_names
    from storage.search import bare

    if not args.source:
        return []
    known = {bare(name): name for name in source_names(engine)}
    known.update({bare(s.name): s.name for s in load_sources(args.sources)})
    for name in args.source:
        if bare(name) not in known:
            raise UsageError(
                f"--source {name!r}: not in {args.sources or default_path()} nor in the "
                "database (`veille sources` lists them)"
            )
    return [known[bare(name)] for name in args.source]


class ShowAndExit(Exception):
    """Something to print on standard output instead of running the command."""


def add_format(parser: argparse.ArgumentParser, choices: tuple[str, ...] = FORMATS) -> None:
    parser.add_argument(
        "--format", choices=choices, default="table", help=f"output: {', '.join(choices)}"
    )


def add_set(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help=help_text)


def add_sources(parser: argparse.ArgumentParser, use: str) -> None:
    """`--sources FILE`, on the commands that read the sources file; `use` says what for."""
    parser.add_argument(
        "--sources",
        metavar="FILE",
        help=f"sources file (default: $VEILLE_SOURCES, else the bundled one): {use}",
    )


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        help="database URL or SQLite path (default: $VEILLE_DB, else "
        "~/.local/share/veille/veille.sqlite3)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="debug logs; the traceback of an unexpected error",
    )
    return common
