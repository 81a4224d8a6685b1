"""The store on SQLite and PostgreSQL: one row per article, aliases, stories, concurrency."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from crawler.core import stories
from crawler.core.sources import Source
from crawler.db.store import CrawlStore
from crawler.items import ArticleItem
from crawler.reclassify import reclassify
from storage.db import make_engine, open_database
from storage.models import Article, ArticleAlias, Feed, UrlFailure
from tests.conftest import ROOT, fresh_database

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev"
SOURCES = [
    Source("alpha", "fr", feeds=("https://alpha.ma/feed",)),
    Source("beta", "fr", feeds=("https://beta.ma/feed",)),
]
WHEN = datetime(2025, 11, 4, 8, tzinfo=UTC)

BODY = (
    "Le ministère de l'Industrie et le groupe Atlas Composites ont signé mardi à Kénitra une "
    "convention d'investissement de 450 millions de dirhams pour une usine de pièces "
    "aéronautiques en matériaux composites.\n"
    "L'usine, qui emploiera 600 personnes, sera installée dans la zone Atlantic Free Zone et "
    "produira des panneaux de fuselage pour les avionneurs européens à partir de 2027.\n"
    "Le directeur général du groupe a souligné la qualité de l'écosystème aéronautique marocain "
    "et l'appui des pouvoirs publics pour la formation des techniciens spécialisés.\n"
    "La convention prévoit également un programme de formation avec l'Institut des métiers de "
    "l'aéronautique et un volet de recherche appliquée avec une université de la région."
)
OTHER = (
    "Le trafic de conteneurs du port de Tanger Med a dépassé dix millions d'EVP cette année, "
    "porté par les lignes asiatiques et la hausse des transbordements vers l'Afrique de l'Ouest.\n"
    "L'autorité portuaire prévoit de nouveaux investissements dans les terminaux pour absorber "
    "la croissance attendue des volumes au cours des trois prochaines années."
)


def item(
    url: str, text: str = BODY, source: str = "alpha", title: str = "Titre", **kw
) -> ArticleItem:
    article = ArticleItem(
        source=source,
        feed_id=None,
        request_url=url,
        response_url=url,
        html=None,
        fetched_at=WHEN,
        url=url,
        title=title,
        text=text,
        language="fr",
        published_at=kw.pop("published_at", WHEN),
        verdict={"is_agreement": True, "score": 0.9, "sectors": ["aéronautique"]},
        rules_version="test",
        **kw,
    )
    article.content_hash = stories.content_hash(text)
    article.signature = stories.signature(title, text)
    return article


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def test_one_row_per_article_with_aliases(db_url: str) -> None:
    engine = open_database(db_url)
    store = CrawlStore(engine, SOURCES)
    first = item("https://alpha.ma/a", aliases={"https://alpha.ma/old-a"})
    same_url = item("https://alpha.ma/a", aliases={"https://alpha.ma/a-bis"})
    same_text = item("https://beta.ma/copy", source="beta")
    other = item("https://alpha.ma/b", text=OTHER)
    for it in (first, same_url, same_text, other):
        store.add_article(it)
    store.flush()
    assert count(engine, Article) == 2
    with engine.connect() as conn:
        aliases = set(conn.scalars(select(ArticleAlias.url)))
    assert aliases == {"https://alpha.ma/old-a", "https://alpha.ma/a-bis", "https://beta.ma/copy"}
    assert store.unknown(
        [
            "https://alpha.ma/a",
            "https://alpha.ma/old-a",
            "https://beta.ma/copy",
            "https://alpha.ma/new",
        ]
    ) == ["https://alpha.ma/new"]
    # a later batch: known under an alias, or the same text again, is not a new row
    store.add_article(item("https://alpha.ma/old-a"))
    store.add_article(item("https://beta.ma/again", source="beta"))
    store.flush()
    assert count(engine, Article) == 2
    assert store.counts["alpha"]["new"] == 2 and store.counts["beta"]["duplicates"] == 2


def test_stories_group_reworded_copies_only(db_url: str) -> None:
    engine = open_database(db_url)
    store = CrawlStore(engine, SOURCES)
    original = item("https://alpha.ma/orig")
    store.add_article(original)
    store.flush()
    paragraphs = BODY.split("\n")
    reworded = "\n".join(
        [
            "Une convention d'investissement de 450 millions de dirhams a été paraphée à Kénitra "
            "entre le ministère de l'Industrie et Atlas Composites pour une usine aéronautique.",
            *paragraphs[1:],
        ]
    )
    store.add_article(
        item("https://beta.ma/copy", text=reworded, source="beta", title="Autre titre")
    )
    store.add_article(item("https://beta.ma/port", text=OTHER, source="beta"))
    later = item(
        "https://beta.ma/much-later",
        text=reworded + "\nUn paragraphe de plus.",
        source="beta",
        published_at=WHEN + timedelta(days=60),
    )
    store.add_article(later)
    store.flush()
    with engine.connect() as conn:
        story = dict(conn.execute(select(Article.url, Article.story_id)).all())
    assert story["https://beta.ma/copy"] == story["https://alpha.ma/orig"]
    assert story["https://beta.ma/port"] != story["https://alpha.ma/orig"]
    assert story["https://beta.ma/much-later"] != story["https://alpha.ma/orig"]  # out of window


def test_failures_retry_until_stored_and_gone_ones_are_skipped(db_url: str) -> None:
    engine = open_database(db_url)
    store = CrawlStore(engine, SOURCES)
    feed_id = next(iter(store.feeds.values())).id
    store.article_failed("https://alpha.ma/500", "alpha", feed_id, 500, "HTTP 500")
    store.article_failed("https://alpha.ma/404", "alpha", feed_id, 404, "HTTP 404")
    store.flush()
    assert [f.url for f in store.retries([feed_id], 5)] == ["https://alpha.ma/500"]
    assert store.unknown(["https://alpha.ma/500", "https://alpha.ma/404"]) == [
        "https://alpha.ma/500"
    ]
    store.article_failed("https://alpha.ma/500", "alpha", feed_id, 503, "HTTP 503")
    store.flush()
    assert store.retries([feed_id], 5)[0].attempts == 2
    store.add_article(item("https://alpha.ma/500"))
    store.flush()
    assert store.retries([feed_id], 5) == []
    assert count(engine, UrlFailure) == 1  # the 404 is remembered


def test_feed_validators_are_written_only_with_the_batch(db_url: str) -> None:
    engine = open_database(db_url)
    store = CrawlStore(engine, SOURCES)
    feed_id = next(iter(store.feeds.values())).id
    store.add_article(item("https://alpha.ma/a"))
    store.feed_fetched(feed_id, 200, etag='"v1"', body_hash="h1", new_items=1)
    with engine.connect() as conn:
        assert conn.scalar(select(Feed.etag).where(Feed.id == feed_id)) is None
        assert count(engine, Article) == 0
    store.flush()
    with engine.connect() as conn:
        assert conn.scalar(select(Feed.etag).where(Feed.id == feed_id)) == '"v1"'
    assert count(engine, Article) == 1


def _insert_all(db_url: str, urls: list[str], barrier) -> None:
    store = CrawlStore(open_database(db_url), SOURCES, batch_size=7)
    barrier.wait()
    for i, url in enumerate(urls):
        store.add_article(item(url, text=f"{OTHER}\nArticle numéro {i} {url}."))
    store.flush()


def test_two_writers_at_once_never_double_a_row(db_url: str) -> None:
    open_database(db_url)  # migrate once, before the race
    urls = [f"https://alpha.ma/article-{i}" for i in range(60)]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_insert_all, args=(db_url, order, barrier))
        for order in (urls, list(reversed(urls)))
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    engine = open_database(db_url)
    with engine.connect() as conn:
        rows = conn.scalars(select(Article.url)).all()
    assert sorted(rows) == sorted(urls)


def test_reclassify_rewrites_stale_verdicts(db_url: str) -> None:
    engine = open_database(db_url)
    store = CrawlStore(engine, SOURCES)
    store.add_article(item("https://alpha.ma/a"))
    store.add_article(item("https://alpha.ma/b", text=OTHER))
    store.flush()
    with engine.begin() as conn:  # verdicts from "old rules": both wrong
        conn.execute(
            update(Article)
            .where(Article.url == "https://alpha.ma/a")
            .values(is_agreement=False, rules_version="old")
        )
        conn.execute(
            update(Article)
            .where(Article.url == "https://alpha.ma/b")
            .values(is_agreement=True, rules_version="old")
        )
    seen: list[tuple[int, int]] = []
    report = reclassify(engine, batch_size=1, progress=lambda d, t: seen.append((d, t)))
    assert report.examined == 2 and report.flipped == 2
    assert seen[-1] == (2, 2)
    with engine.connect() as conn:
        verdicts = dict(conn.execute(select(Article.url, Article.is_agreement)).all())
    assert verdicts == {"https://alpha.ma/a": True, "https://alpha.ma/b": False}
    assert reclassify(engine).examined == 0  # nothing stale any more


@pytest.mark.skipif(not CORPUS.exists(), reason="dev corpus not available")
def test_dev_corpus_variants_share_stories_through_the_store(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("d*.json"))]
    sources = [Source(s, None, feeds=(f"https://{s}/feed",)) for s in {d["site"] for d in docs}]
    store = CrawlStore(engine, sources)
    for d in sorted(docs, key=lambda d: d["published"]):
        text = "\n".join(d["body"])
        it = item(
            f"https://{d['site']}/{d['id']}",
            text=text,
            source=d["site"],
            title=d["title"],
            lead=d["lead"],
            published_at=datetime.fromisoformat(d["published"]),
        )
        it.signature = stories.signature(d["title"], f"{d['lead']}\n{text}")
        store.add_article(it)
    store.flush()
    with engine.connect() as conn:
        story_of = {
            url.rsplit("/", 1)[1]: s
            for url, s in conn.execute(select(Article.url, Article.story_id))
        }
    label = {d["id"]: d["story"] for d in docs}
    ids = sorted(label)
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    predicted = {p for p in pairs if story_of[p[0]] == story_of[p[1]]}
    truth = {p for p in pairs if label[p[0]] == label[p[1]]}
    assert len(predicted & truth) / len(predicted) >= 0.97
    assert len(predicted & truth) / len(truth) >= 0.93


def test_search_and_stories_pages_are_the_newest_matches(db_url: str) -> None:
    from storage.queries import DENSE_SEARCH, Filters, find_articles, find_stories

    engine = open_database(db_url)
    store = CrawlStore(engine, SOURCES, batch_size=500)
    total = DENSE_SEARCH + 100
    for n in range(total):
        word = "phosphate" if n % 500 == 0 else "usine"
        store.add_article(
            item(
                f"https://alpha.ma/n/{n}",
                text=f"Une {word} numéro {n} au Maroc.",
                published_at=WHEN + timedelta(hours=n),
            )
        )
    store.flush()
    common = find_articles(engine, Filters(search="usine"), limit=20)  # walks the newest
    expected = [n for n in reversed(range(total)) if n % 500][:20]
    assert [int(r["url"].rsplit("/", 1)[1]) for r in common] == expected
    rare = find_articles(engine, Filters(search="phosphate"), limit=20)  # sorts the few matches
    assert [int(r["url"].rsplit("/", 1)[1]) for r in rare] == [2000, 1500, 1000, 500, 0]
    assert len(find_articles(engine, Filters(search="usine"))) == total - 5
    stories_page = find_stories(engine, Filters(), limit=3)
    assert [s["last_published_at"] for s in stories_page] == sorted(
        (s["last_published_at"] for s in stories_page), reverse=True
    )
    assert stories_page[0]["url"] == f"https://alpha.ma/n/{total - 1}"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite has none to lose
def test_a_lost_postgresql_connection_is_retried(db_url: str) -> None:
    import psycopg

    from tests.conftest import PG_DSN

    engine = open_database(db_url)
    store = CrawlStore(engine, SOURCES)
    store.add_article(item("https://alpha.ma/before"))
    store.flush()
    with engine.connect() as conn:  # the pool's one live connection, as the next flush gets it
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with psycopg.connect(PG_DSN, autocommit=True) as admin:
        killed = admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    assert killed
    store.add_article(item("https://alpha.ma/after", text=OTHER))
    store.flush()
    assert store.write_errors == []
    assert count(engine, Article) == 2


def test_a_new_crawl_closes_the_runs_of_dead_crawls(tmp_path: Path) -> None:
    import subprocess

    from storage.models import CrawlRun
    from storage.runs import finish_run, start_run

    engine = open_database(f"sqlite:///{tmp_path / 'runs.sqlite3'}")
    dead = subprocess.Popen(["true"])
    dead.wait()
    with engine.begin() as conn:
        conn.execute(
            CrawlRun.__table__.insert().values(
                started_at=WHEN,
                status="running",
                sources=["alpha"],
                counts={},
                errors=[],
                pid=dead.pid,
            )
        )
    run_id = start_run(engine, ["alpha"])
    finish_run(engine, run_id, "ok", {}, [])
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(CrawlRun.id, CrawlRun.status)).all())
    assert statuses == {1: "failed", run_id: "ok"}


def test_article_ids_are_read_from_indexes_alone_on_postgresql(tmp_path: Path, pg_ok: bool) -> None:
    # A source's article ids (the agreements' source filter) and an agreement's article ids
    # (search filter, source and language facets) come from the index, not from the tables'
    # pages (migration 0010).
    with fresh_database("postgresql", tmp_path, pg_ok) as url:
        engine = open_database(url)
        with engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            for query, index in (
                ("SELECT id FROM articles WHERE source_id = 1", "ix_articles_source_when"),
                (
                    "SELECT article_id FROM agreement_records WHERE agreement_id = 1",
                    "ix_agreement_records_agreement_id",
                ),
            ):
                plan = " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {query}"))
                assert f"Index Only Scan using {index}" in plan, plan
        engine.dispose()


@pytest.mark.parametrize("readonly", [False, True])
def test_postgresql_plans_a_repeated_statement_for_its_values(
    tmp_path: Path, pg_ok: bool, readonly: bool
) -> None:
    # psycopg prepares what runs five times; a plan made once for any value made a repeated
    # search of the web view ten times slower than the plan for its own words.
    with fresh_database("postgresql", tmp_path, pg_ok) as url:
        open_database(url).dispose()
        engine = make_engine(url, readonly=readonly)
        with engine.connect() as conn:
            conn.exec_driver_sql(
                "PREPARE by_source(int) AS SELECT id FROM articles WHERE source_id = $1"
            )
            for _ in range(8):
                conn.exec_driver_sql("EXECUTE by_source(1)").all()
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN EXECUTE by_source(7)"))
        engine.dispose()
        assert "source_id = 7" in plan and "$1" not in plan, plan


def test_the_schema_revision_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from storage.db import SCHEMA_REVISION, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION


def test_an_up_to_date_database_opens_without_alembic(db_url: str) -> None:
    """A crawl's start: the database is at the newest schema, so Alembic is never imported;
    an empty one is migrated and then reads as current."""
    open_database(db_url).dispose()
    script = (
        "import sys\n"
        "from storage.db import open_database, schema_revision, SCHEMA_REVISION\n"
        f"engine = open_database({db_url!r})\n"
        "with engine.connect() as conn:\n"
        "    assert schema_revision(conn) == SCHEMA_REVISION\n"
        f"open_database({db_url!r}, readonly=True)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"
