"""Every command's argument parser, driven with random and hostile values: never a traceback,
only a clear line and a documented exit status."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler import cli
from crawler.cli import feedback
from storage.db import open_database
from tests.test_search import ARTICLES

HOSTILE = [
    "",
    " ",
    "-",
    "--",
    "-1",
    "0",
    "1",
    "99999999999999999999",
    "1e309",
    "nan",
    "inf",
    "-inf",
    "7d",
    "24h",
    "0h",
    "99999999w",
    "2025-13-45",
    "9999-12-31",
    "0001-01-01",
    "2025-11-03T25:00",
    "'; DROP TABLE articles; --",
    '"',
    '"unclosed',
    "*",
    "OR",
    "-OR",
    "NEAR(a b)",
    "a:b",
    "^x",
    "\x1b[2J",
    "\u202e",
    "ا",
    "السيارات",
    "é",
    "%s",
    "{}",
    "../../etc/passwd",
    "http://[::1",
    "http://h:99999/x",
    "NAME=VALUE",
    "DOWNLOAD_DELAY=abc",
    "=",
    "help",
    "Automobile",
    "RETRY_TIMES=-1",
    "x" * 5000,
]
# commands that write, crawl or serve until stopped: their arguments are only checked
WRITERS = {
    cli.cmd_crawl,
    cli.cmd_serve,
    cli.cmd_web,
    cli.cmd_extract,
    cli.cmd_reclassify,
    cli.cmd_db,
}
WRITERS |= {feedback.cmd_mark, feedback.cmd_export}  # a mark writes; export writes files


def commands() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every (sub)command's parser, by its words: ('query',), ('db', 'upgrade')..."""
    out = {}

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs and words:
            out[words] = parser
        for action in subs:
            for name, child in action.choices.items():
                walk(child, (*words, name))

    walk(cli.build_parser(), ())
    return out


COMMANDS = commands()


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options of a parser, help and --db excepted."""
    return [
        a for a in parser._actions if a.option_strings and a.dest not in ("help", "version", "db")
    ]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("props") / "v.sqlite3"
    from tests.test_search import corpus

    engine = open_database(str(path))
    next(corpus.__wrapped__(str(path)))  # the search corpus, as the search tests store it
    engine.dispose()
    yield path


@st.composite
def command_lines(draw: st.DrawFn, db: Path, sources: Path) -> list[str]:
    words = draw(st.sampled_from(sorted(COMMANDS)))
    parser = COMMANDS[words]
    value = st.one_of(
        st.sampled_from(HOSTILE),
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
        ),
    )
    argv = list(words)
    for action in draw(st.lists(st.sampled_from(options(parser)), max_size=5)):
        argv.append(action.option_strings[-1])
        if action.nargs != 0:
            valid = st.sampled_from(sorted(action.choices)) if action.choices else value
            argv.append(draw(st.one_of(valid, value)))
    positional = [a for a in parser._actions if not a.option_strings and a.dest != "help"]
    argv += [draw(st.one_of(value, st.integers(-5, 10).map(str))) for _ in positional]
    argv += [
        "--db",
        draw(
            st.sampled_from(
                [
                    str(db),
                    str(db) + ".missing",
                    "mysql://u:pw@h/x",
                    "postgresql://",
                    "sqlite://",
                    "http://x/y",
                ]
            )
        ),
    ]
    if draw(st.booleans()):
        argv += [
            "--sources",
            draw(st.sampled_from([str(sources), str(sources) + ".missing", "/", "."])),
        ]
    return argv


def run(argv: list[str]) -> tuple[int, str, str]:
    """prepare() only for the commands that write or crawl; main() for the others."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = cli.prepare(argv)
            code = cli.EXIT_OK if args.func in WRITERS else cli.main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:  # what prepare() raises, main() reports so
            code = cli.report_failure(exc, None)
    return code, out.getvalue(), err.getvalue()


def test_every_command_is_driven(database: Path) -> None:
    assert {w[0] for w in COMMANDS} >= {
        "crawl",
        "serve",
        "query",
        "sources",
        "stats",
        "status",
        "errors",
        "show",
        "sectors",
        "extract",
        "reclassify",
        "db",
    }


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_command_line_ends_in_a_traceback(data: st.DataObject, database: Path) -> None:
    sources = Path(__file__).resolve().parent.parent / "sources.toml"
    argv = data.draw(command_lines(database, sources))
    os.environ.pop("VEILLE_DB", None)
    code, out, err = run(argv)
    assert "Traceback" not in err + out, argv
    assert "unexpected error" not in err, (argv, err)
    assert code in (0, 1, 2), (argv, code, err)
    if code:
        last = err.strip().splitlines()[-1]
        assert last.startswith(("veille: ", "veille ", "usage: ")), (argv, err)
    assert "pw@" not in err + out
    assert len(ARTICLES) == 7
