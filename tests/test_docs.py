"""The docs and the code agree: every command and option of `veille --help` is in the README
and has help text, every README example parses, every test docs/RELIABILITY.md names exists,
and `--format csv` is CSV for every command that offers it."""

from __future__ import annotations

import argparse
import ast
import csv
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """(command path, its parser, its help) for the top parser and every subcommand."""
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]] = []
    if not path:
        found.append(((), parser, parser.description))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                found.append(((*path, name), sub, helps.get(name)))
                found += commands(sub, (*path, name))
    return found


ALL = commands(build_parser())


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in parser._actions
        if a.option_strings
        and a.help is not argparse.SUPPRESS
        and not isinstance(a, argparse._HelpAction | argparse._VersionAction)
    ]


@pytest.mark.parametrize(
    "path, parser, help_text", ALL, ids=[" ".join(p) or "veille" for p, _, _ in ALL]
)
def test_every_command_and_option_is_in_the_readme_with_help(
    path: tuple[str, ...], parser: argparse.ArgumentParser, help_text: str | None
) -> None:
    where = f"veille {' '.join(path)}".rstrip()
    problems = [] if help_text else [f"`{where}` has no help text"]
    if path and not re.search(rf"{re.escape(where)}\b", README):
        problems.append(f"`{where}` is not in the README")
    for action in options(parser):
        flag = "/".join(action.option_strings)
        if not action.help:
            problems.append(f"`{where} {flag}` has no help text")
        if not any(
            re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", README) for o in action.option_strings
        ):
            problems.append(f"`{where} {flag}` is not in the README")
    assert problems == []


def readme_examples() -> list[str]:
    """The commands of the README's ```sh blocks that begin with `veille` (lines joined at
    a trailing backslash, comments and pipes cut)."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith("veille "):
                found.append(line)
    return found


@pytest.mark.parametrize("line", readme_examples())
def test_every_readme_example_parses(line: str) -> None:
    from crawler.cli.app import glue_free_text

    words = shlex.split(line, comments=True)
    for stop in ("|", ">", "2>", "&&", ";", ">>"):
        if stop in words:
            words = words[: words.index(stop)]
    try:
        build_parser().parse_args(glue_free_text(words[1:]))
    except SystemExit as exc:
        assert exc.code == 0, f"README example does not parse: {line}"


def test_the_readme_has_examples() -> None:
    assert len(readme_examples()) >= 10


def test_every_test_reliability_names_exists() -> None:
    text = (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\btest_[a-z0-9_]+", text))
    defined: set[str] = set()
    for path in (ROOT / "tests").glob("*.py"):
        defined.add(path.stem)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined |= {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
    assert named, "docs/RELIABILITY.md names no test"
    assert sorted(named - defined) == []


def csv_commands() -> list[tuple[str, ...]]:
    return [
        path
        for path, parser, _ in ALL
        for a in parser._actions
        if "--format" in a.option_strings and a.choices and "csv" in a.choices
    ]


def test_csv_commands_are_found() -> None:
    assert {("query",), ("stats",), ("agreements",)} <= set(csv_commands())


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with a crawl run, some articles and agreement records in it."""
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    from storage.db import open_database
    from storage.models import Article, CrawlRun, Source

    db = tmp_path_factory.mktemp("docs") / "veille.sqlite3"
    engine = open_database(str(db))
    now = datetime(2025, 11, 3, 9, tzinfo=UTC)
    with Session(engine) as session:
        source = Source(name="lematin", language="fr")
        session.add(source)
        session.flush()
        for i in range(3):
            session.add(
                Article(
                    source_id=source.id,
                    url=f"https://lematin.ma/a{i}",
                    title=f"Titre, avec virgule {i}",
                    text="Une convention, signée.",
                    language="fr",
                    fetched_at=now,
                    published_at=now,
                    content_hash=f"h{i}",
                    is_agreement=bool(i % 2),
                    score=0.5,
                )
            )
        session.add(
            CrawlRun(started_at=now, finished_at=now, status="ok", sources=["lematin"], counts={})
        )
        session.commit()
    engine.dispose()
    return db


@pytest.mark.parametrize("path", csv_commands(), ids=[" ".join(p) for p in csv_commands()])
def test_format_csv_is_csv(path: tuple[str, ...], seeded_db: Path) -> None:
    argv = [*path, "--db", str(seeded_db), "--format", "csv"]
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not out.lstrip().startswith(("{", "[")), f"`veille {' '.join(path)}` printed JSON"
    rows = list(csv.reader(io.StringIO(out)))  # no rows at all is CSV too
    assert all(len(r) == len(rows[0]) for r in rows), "rows of unequal width"


def test_every_module_is_in_the_readme_layout() -> None:
    """Each package row of the README's layout names every module the package holds."""
    rows = dict(re.findall(r"^\| `([\w/]+/)` \| (.*) \|$", README, re.M))
    packages = ["crawler/", "crawler/core/", "crawler/db/", "crawler/cli/", "spiders/"]
    packages += ["storage/", "web/", "alerts/"]
    missing = [
        f"{package}{module.name}"
        for package in packages
        for module in sorted((ROOT / package).glob("*.py"))
        if module.stem not in ("__init__", "__main__")
        and not re.search(rf"(?<![\w-]){re.escape(module.stem)}(?![\w-])", rows.get(package, ""))
    ]
    assert not missing, f"not in the README's layout: {missing}"
