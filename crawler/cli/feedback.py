"""`veille feedback`: an analyst marks a verdict right or wrong (`feedback ARTICLE_ID`), and
what the marks say of the rules (`feedback stats`) or add to the corpus (`feedback export`)."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.cli._common import UsageError, add_format, positive_int, read_database, resolve_sectors
from crawler.cli.output import write_rows

MARK = "ARTICLE_ID"  # the subcommand a bare article id stands for
STATS_COLUMNS = ("group", "value", "marked", "rules_yes", "confirmed", "precision")
STATS_COLUMNS += ("rules_no", "missed", "recall")


class _Commands(Mapping):
    """The subcommands, as argparse checks a choice: anything but their names is an
    article id (checked as one by ARTICLE_ID's type)."""

    def __init__(self, parsers: dict[str, argparse.ArgumentParser]) -> None:
        self.parsers = parsers

    def __getitem__(self, name: str) -> argparse.ArgumentParser:
        return self.parsers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.parsers)

    def __len__(self) -> int:
        return len(self.parsers)

    def __contains__(self, name: object) -> bool:
        return True


class IdOrCommand(argparse._SubParsersAction):
    """`veille feedback 12 --wrong` is the ARTICLE_ID subcommand with 12 as its id; `stats`
    and `export` are subcommands of their own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = _Commands(self._name_parser_map)

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
        if values[0] not in self._name_parser_map:
            values = [MARK, *values]
        super().__call__(parser, namespace, values, option_string)


def article_id(value: str) -> int:
    """An argparse type: an article id (after `feedback`, or stats / export)."""
    try:
        return positive_int()(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an article id, nor `stats` or `export`"
        ) from None


def parties(value: str) -> list[str]:
    """An argparse type: signatories separated by ';'."""
    names = [p.strip() for p in value.split(";") if p.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{value!r} names no party (separate them with ';')")
    return names


def analyst(value: str | None) -> str:
    """Who marks: --by, else the login name."""
    who = (
        value if value is not None else os.environ.get("USER") or os.environ.get("LOGNAME") or ""
    ).strip()
    if not who:
        raise UsageError("who marks it? give --by NAME (no $USER to default to)")
    return who


def cmd_mark(args: argparse.Namespace) -> int:
    from crawler.db.feedback import FeedbackError, record_feedback
    from storage.db import make_engine, open_database

    sector = resolve_sectors([args.sector])[0] if args.sector is not None else None
    make_engine(args.db, readonly=True).dispose()  # a mark needs a database: none is created
    engine = open_database(args.db)
    try:
        mark = record_feedback(
            engine,
            args.article_id,
            correct=args.correct,
            by=analyst(args.by),
            note=args.note,
            parties=args.parties,
            sector=sector,
            agreement_id=args.agreement,
        )
    except FeedbackError as exc:
        raise UsageError(str(exc)) from None
    from storage.queries import article_by_id

    row = article_by_id(engine, mark.article_id) or {}
    verdict = "an industrial agreement" if row.get("is_agreement") else "not an agreement"
    about = f", agreement {mark.agreement_id}" if mark.agreement_id is not None else ""
    print(
        f"mark {mark.id}: article {mark.article_id} marked {'correct' if mark.correct else 'wrong'}"
        f" by {mark.by}{about}; it is now {verdict} (verdict by analyst)"
    )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from crawler.db.feedback_queries import feedback_stats

    write_rows(
        feedback_stats(read_database(args)), args.format, STATS_COLUMNS, keys=("group", "value")
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from crawler.db.feedback_queries import labelled_documents

    engine = read_database(args)
    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is not a directory")
    written = 0
    for document in labelled_documents(engine):
        if not written:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{document['id']}.json"
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written += 1
    print(
        f"{written} labelled article(s) written to {folder}"
        if written
        else "no article is marked yet"
    )
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    feedback = sub.add_parser(
        "feedback", parents=[common], help="mark a verdict right or wrong; what the marks say"
    )
    actions = feedback.add_subparsers(
        action=IdOrCommand,
        dest="feedback_command",
        required=True,
        metavar="{ARTICLE_ID,stats,export}",
    )
    mark = actions.add_parser(
        MARK,
        parents=[common],
        prog=f"{feedback.prog} ARTICLE_ID",
        usage="%(prog)s (--correct | --wrong) [--note TEXT] [--parties 'A; B'] [--sector S] "
        "[--agreement ID] [--by NAME]",
        help="mark the verdict of article ARTICLE_ID (`veille feedback 12 --wrong`)",
    )
    mark.add_argument("article_id", type=article_id, metavar="ARTICLE_ID", help=argparse.SUPPRESS)
    verdict = mark.add_mutually_exclusive_group(required=True)
    verdict.add_argument(
        "--correct",
        action="store_true",
        help="the rules' verdict is right (the analyst decides now)",
    )
    verdict.add_argument(
        "--wrong",
        action="store_false",
        dest="correct",
        help="the rules' verdict is wrong: an agreement stops being one, or becomes one",
    )
    mark.add_argument("--note", metavar="TEXT", help="why, in a few words")
    mark.add_argument(
        "--parties", type=parties, metavar="'A; B'", help="correct the record's signatories"
    )
    mark.add_argument(
        "--sector", metavar="S", help="correct the record's sector (`veille sectors`)"
    )
    mark.add_argument(
        "--agreement",
        type=positive_int(),
        metavar="ID",
        help="the agreement to correct, when the article reports several",
    )
    mark.add_argument("--by", metavar="NAME", help="who marks it (default: $USER)")
    mark.set_defaults(func=cmd_mark)

    stats = actions.add_parser(
        "stats", parents=[common], help="precision of the rules on what analysts marked"
    )
    add_format(stats, ("table", "json", "csv"))
    stats.set_defaults(func=cmd_stats)

    export = actions.add_parser(
        "export", parents=[common], help="marked articles as labelled corpus JSON files"
    )
    export.add_argument("dir", metavar="DIR", help="where the dfbNNNNNN.json files go")
    export.set_defaults(func=cmd_export)
