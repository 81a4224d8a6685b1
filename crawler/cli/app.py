"""The `veille` parser and entry point: every command's options, checked before anything runs."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import traceback

from crawler.cli import agreements, alerts, crawl, feedback, pages, query, reading, service, web
from crawler.cli._common import (
    EXIT_INTERRUPTED,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_SOME_FAILED,
    ShowAndExit,
    UsageError,
    common_options,
)
from crawler.cli.crawl import cmd_crawl
from crawler.cli.pages import cmd_extract, is_url
from crawler.cli.query import cmd_query
from crawler.cli.service import cmd_serve
from crawler.cli.tables import clean
from crawler.core.sources import SourcesError
from crawler.settings import VERSION

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


# One module per command family, each with `register(subparsers, common)`; a new
# family is one more name here.
COMMANDS = (
    crawl,
    query,
    agreements,
    alerts,
    feedback,
    service,
    reading,
    pages,
    web,
)  # alerts after agreements


def build_parser() -> argparse.ArgumentParser:
    """The `veille` argument parser, every command and option."""
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="veille",
        parents=[common],
        description="Moroccan business news, watched for industrial agreements.",
        epilog="exit status: 0 done; 1 some sources failed; 2 nothing could be done or bad "
        "usage; 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"veille {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub, common)
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
    if args.func is cmd_crawl or (args.func is cmd_extract and any(map(is_url, args.targets))):
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
    if isinstance(exc, SourcesError | UsageError):  # before importing the database code
        return f"veille: {exc}", EXIT_NOTHING
    from sqlalchemy.exc import SQLAlchemyError

    from crawler.overrides import OverrideError
    from storage.db import DatabaseError, error_reason, safe_url
    from storage.queries import QueryError

    if isinstance(exc, OverrideError | QueryError | DatabaseError):
        return f"veille: {exc}", EXIT_NOTHING
    db = safe_url((args.db if args else None) or os.environ.get("VEILLE_DB") or "")
    if isinstance(exc, SQLAlchemyError):
        reason = error_reason(exc)
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
    from storage.db import safe_url

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
