"""The SQLite file opens in a real Datasette: full-text search, UTF-8 JSON, facets, metadata."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from datasette.app import Datasette

from storage.describe import datasette_metadata
from tests.conftest import veille
from tests.test_search import ARTICLES, corpus  # noqa: F401 - the fixture

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'veille.sqlite3'}"


@pytest.fixture
def db_url(sqlite_url: str) -> str:  # the corpus fixture, on SQLite only
    return sqlite_url


def get(ds: Datasette, path: str) -> dict:
    async def fetch() -> dict:
        response = await ds.client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        return response.json()

    return asyncio.run(fetch())


def test_datasette_searches_facets_and_reads_utf8(corpus, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "veille.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE articles SET sectors = ?, parties = ? WHERE url LIKE '%aero'",
            (json.dumps(["aéronautique"], ensure_ascii=False), '["x"]'),
        )
    corpus.dispose()
    from sqlalchemy import text

    from storage.db import open_database

    engine = open_database(str(path))
    with engine.begin() as conn:  # written through veille's engine: UTF-8, not \\u escapes
        conn.execute(
            text("UPDATE articles SET parties = :p WHERE url LIKE '%cars_ar'").bindparams(
                p=json.dumps(["وزارة الصناعة"], ensure_ascii=False)
            )
        )
    from storage.models import Article

    with engine.begin() as conn:
        conn.execute(
            Article.__table__.update()
            .where(Article.__table__.c.url.like("%mining_ar"))
            .values(parties=["المكتب الشريف للفوسفاط"], sectors=["mines"])
        )
    engine.dispose()
    with sqlite3.connect(path) as conn:
        raw = conn.execute("SELECT parties FROM articles WHERE url LIKE '%mining_ar'").fetchone()
    assert raw == ('["المكتب الشريف للفوسفاط"]',)

    table = "/veille/articles.json?_shape=objects"
    bare = Datasette([str(path)])  # no metadata: it finds the full-text table by itself
    assert get(bare, "/veille/articles.json?_search=usine")["filtered_table_rows_count"] == 2
    metadata = datasette_metadata(f"sqlite:///{path}")
    ds = Datasette([str(path)], metadata=metadata)
    everything = get(ds, table)
    assert len(everything["rows"]) == len(ARTICLES)
    for term, expected in (("usine", {"hydro", "auto"}), ("hydrogene", {"hydro"})):
        found = get(ds, f"{table}&_search={term}")
        assert {r["url"].rsplit("/", 1)[1] for r in found["rows"]} == expected, term
    facets = get(ds, f"{table}&_facet=language&_facet=source_id&_facet_array=sectors")
    sectors = {f["value"] for f in facets["facet_results"]["sectors"]["results"]}
    assert {"aéronautique", "mines"} <= sectors
    assert "source_id" in facets["facet_results"]
    contains = get(ds, f"{table}&sectors__arraycontains=aéronautique")
    assert [r["url"].rsplit("/", 1)[1] for r in contains["rows"]] == ["aero"]
    described = get(ds, "/-/metadata.json")
    columns = described["databases"]["veille"]["tables"]["articles"]["columns"]
    assert "UTC" in columns["published_at"]


def test_db_describe_is_metadata_datasette_accepts(sqlite_url: str, tmp_path: Path) -> None:
    assert veille("db", "upgrade", "--db", sqlite_url).returncode == 0
    result = veille("db", "describe", "--db", sqlite_url)
    assert result.returncode == 0, result.stderr
    metadata = json.loads(result.stdout)
    assert metadata["databases"]["veille"]["tables"]["articles"]["fts_table"] == "articles_fts"
    ds = Datasette([str(tmp_path / "veille.sqlite3")], metadata=metadata)
    assert get(ds, "/veille/articles.json?_search=usine")["rows"] == []
