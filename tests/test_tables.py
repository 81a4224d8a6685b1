"""Output for people and spreadsheets: tables fit the terminal, nothing hostile is printed raw,
one article shown in full, the sector vocabulary listed, matching that forgives case."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from crawler.cli.output import write_rows
from crawler.cli.tables import clean, fit, width, write_table
from tests.conftest import veille
from tests.test_search import corpus  # noqa: F401 - the fixture

ROWS = [
    {
        "id": 12345,
        "published_at": "2025-11-03T08:00:00Z",
        "source": "moroccoworldnews.com",
        "sectors": ["automobile", "aéronautique", "énergies renouvelables"],
        "title": "Le ministère de l'Industrie et Atlas Composites signent une convention " * 2,
        "url": "https://www.moroccoworldnews.com/2025/11/03/a-very-long-path-to-an-article-x9",
    }
]


def test_a_table_fits_the_width_and_keeps_its_key_columns() -> None:
    out = io.StringIO()
    columns = ("id", "published_at", "source", "sectors", "title")
    write_table(ROWS, columns, out, keys=("id", "published_at", "source"), total=100)
    lines = out.getvalue().splitlines()
    assert all(width(line) <= 100 for line in lines), [width(x) for x in lines]
    assert max(width(line) for line in lines) >= 95  # the room is used
    assert lines[1].startswith("12345  2025-11-03T08:00:00Z  moroccoworldnews.com  ")
    assert "Le ministère de l'Industrie" in lines[1] and lines[1].endswith("…")


def test_an_address_is_cut_in_the_middle() -> None:
    out = io.StringIO()
    write_table(ROWS, ("source", "url"), out, keys=("source",), total=60)
    line = out.getvalue().splitlines()[1]
    assert width(line) <= 60
    assert line.startswith("moroccoworldnews.com  https://www.morocc")
    assert line.endswith("article-x9") and "…" in line


def test_a_narrow_table_is_left_whole() -> None:
    out = io.StringIO()
    write_table([{"id": 1, "title": "Court"}], ("id", "title"), out, total=100)
    assert out.getvalue().splitlines() == ["id  title", "1   Court"]


def test_terminal_escapes_never_reach_the_terminal() -> None:
    hostile = "Titre\x1b[2J\x1b]0;owned\x07 propre\x08\x07\u202e"
    assert clean(hostile) == "Titre propre   "
    out = io.StringIO()
    write_table([{"title": hostile}], ("title",), out, total=80)
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert fit("abcdef", 4) == "abc…"


def test_csv_cells_that_look_like_formulas_are_inert() -> None:
    out = io.StringIO()
    rows = [{"title": t, "score": -0.5} for t in ("=HYPERLINK(1)", "+1", "-x", "@SUM(A1)", "ok")]
    write_rows(rows, "csv", (), out)
    read = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["title"] for r in read] == ["'=HYPERLINK(1)", "'+1", "'-x", "'@SUM(A1)", "ok"]
    assert read[0]["score"] == "-0.5"  # numbers stay numbers


def test_show_sectors_version_and_forgiving_matches(corpus, db_url: str, tmp_path: Path) -> None:  # noqa: F811
    rows = json.loads(veille("query", "--db", db_url, "--format", "json").stdout)
    first = rows[-1]
    shown = veille("show", str(first["id"]), "--db", db_url)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(first["title"])
    assert "verdict:" in shown.stdout and first["url"] in shown.stdout
    as_json = json.loads(
        veille("show", str(first["id"]), "--db", db_url, "--format", "json").stdout
    )
    assert as_json["id"] == first["id"] and "text" in as_json
    table = veille("query", "--db", db_url, env={"COLUMNS": "100"})
    assert all(width(line) <= 100 for line in table.stdout.splitlines())
    assert table.stdout.splitlines()[0].split()[0] == "id"

    sectors = veille("sectors", "--format", "jsonl")
    names = [json.loads(line)["sector"] for line in sectors.stdout.splitlines()]
    assert "aéronautique" in names and "automobile" in names
    assert veille("query", "--sector", "help", "--db", db_url).stdout.split("\n")[0] == names[0]
    for spelled in ("Aeronautique", "AÉRONAUTIQUE", "aéronautique"):
        result = veille("query", "--db", db_url, "--sector", spelled, "--format", "jsonl")
        assert result.returncode == 0, result.stderr
    assert (
        len(
            veille(
                "query", "--db", db_url, "--source", "S", "--format", "jsonl"
            ).stdout.splitlines()
        )
        == 7
    )
    version = veille("--version")
    assert version.returncode == 0 and version.stdout.startswith("veille ")
    searched = veille("query", "--db", db_url, "--search", "-automobile", "--format", "jsonl")
    assert searched.returncode == 2 and "no word to look for" in searched.stderr
    searched = veille("query", "--db", db_url, "--search", "usine -automobile", "--format", "jsonl")
    assert [json.loads(x)["url"] for x in searched.stdout.splitlines()] == ["https://s.ma/hydro"]
