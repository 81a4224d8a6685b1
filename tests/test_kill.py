"""Killed at any moment, and the database under load.

A world of 60 article pages (distinct texts), served with a delay so that kills and
database faults land mid-crawl. `veille crawl` runs as a child process, as a user runs it;
the test SIGKILLs it, runs queries beside it, or cuts its PostgreSQL connection, and then
checks that every article is stored exactly once and the database is sound.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import FAST, ROOT, veille
from tests.server import FixtureServer, Route
from tests.test_faults import HTML, RSS, article_page, rss, sources_toml, sql

ARTICLES = 60
FEEDS = 3  # 20 articles each
PAGE_DELAY = 0.06  # seconds per article page
CRAWL = [*FAST, "--set", "DOWNLOAD_TIMEOUT=5"]
SEED = int(os.environ.get("VEILLE_KILL_SEED", "20251105"))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FixtureServer, Path]]:
    """The 60-article world and its sources file."""
    srv = FixtureServer().start()
    srv.add("/robots.txt", Route(b"User-agent: *\nAllow: /\n", "text/plain"))
    per_feed = ARTICLES // FEEDS
    for f in range(FEEDS):
        paths = [f"/k/{f}/article-{n}" for n in range(f * per_feed, (f + 1) * per_feed)]
        srv.add(f"/k/{f}/feed", Route(rss(srv.base, paths, f"Fil {f}"), RSS))
        for path in paths:
            n = int(path.rsplit("-", 1)[1])
            srv.add(path, Route(article_page(n), HTML, delay=PAGE_DELAY))
    sources = tmp_path / "sources.toml"
    sources.write_text(
        sources_toml({"kill": {"feeds": [f"{srv.base}/k/{f}/feed" for f in range(FEEDS)]}}),
        encoding="utf-8",
    )
    yield srv, sources
    srv.stop()


def start_crawl(db: str, sources: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--db",
            db,
            "--sources",
            str(sources),
            *CRAWL,
            *extra,
        ],
        cwd=ROOT,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the crawl child (only that process) and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


def article_hits(srv: FixtureServer) -> int:
    return sum(1 for h in srv.hits if "/article-" in h.path)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def crawl_to_the_end(db: str, sources: Path, runs: int = 3) -> None:
    """Crawl until a run ends well (a run after kills may still find failures to retry)."""
    for _ in range(runs):
        result = veille("crawl", "--db", db, "--sources", str(sources), *CRAWL, timeout=120)
        if result.returncode == 0 and stored_count(db) == ARTICLES:
            return
    raise AssertionError(f"not everything stored: {stored_count(db)}\n{result.stderr[-3000:]}")


def stored_count(db: str) -> int:
    return sql(db, "SELECT count(*) FROM articles")[0][0]


def assert_exactly_once_and_sound(db: str) -> None:
    """Every article of the world stored once, nothing else, and the database intact."""
    rows = sql(db, "SELECT id, url, text, content_hash FROM articles")
    assert len(rows) == ARTICLES
    assert len({r.url for r in rows}) == ARTICLES
    assert len({r.content_hash for r in rows}) == ARTICLES
    for n in range(ARTICLES):
        holders = [r for r in rows if f"Dépêche {n}, paragraphe 0" in r.text]
        assert len(holders) == 1, (n, [r.url for r in holders])
        assert holders[0].url.endswith(f"/article-{n}")
    orphans = sql(
        db,
        "SELECT count(*) FROM article_aliases WHERE article_id NOT IN (SELECT id FROM articles)",
    )[0][0]
    assert orphans == 0
    bands = sql(
        db, "SELECT count(*) FROM story_bands WHERE article_id NOT IN (SELECT id FROM articles)"
    )[0][0]
    assert bands == 0
    assert sql(db, "SELECT count(*) FROM url_failures")[0][0] == 0
    if db.startswith("sqlite"):
        assert [r[0] for r in sql(db, "PRAGMA integrity_check")] == ["ok"]
        assert sql(db, "PRAGMA foreign_key_check") == []
        engine = create_engine(db)
        with engine.begin() as conn:  # raises if the full-text index disagrees with the table
            conn.execute(text("INSERT INTO articles_fts(articles_fts) VALUES('integrity-check')"))
        engine.dispose()
    else:
        unvalidated = sql(db, "SELECT conname FROM pg_constraint WHERE NOT convalidated")
        assert unvalidated == []
        indexes = sql(
            db,
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE NOT i.indisvalid",
        )
        assert indexes == []


# -- 4. killed at any moment -------------------------------------------------------------


def test_kill_after_feed_fetched_before_articles_stored(
    world: tuple[FixtureServer, Path], db_url: str
) -> None:
    srv, sources = world
    proc = start_crawl(db_url, sources)
    try:
        wait_for(lambda: article_hits(srv) >= 3)  # the feeds are read, articles are coming
    finally:
        kill(proc)
    assert stored_count(db_url) < ARTICLES
    saved = sql(db_url, "SELECT url, body_hash, etag FROM feeds WHERE body_hash IS NOT NULL")
    assert saved == [], "a feed's state was saved before its articles"
    srv.hits.clear()
    crawl_to_the_end(db_url, sources)
    feeds = [h for h in srv.hits if h.path.endswith("/feed")]
    assert feeds and all(h.status == 200 for h in feeds)  # asked in full again, not 304
    assert_exactly_once_and_sound(db_url)
    # and now the feeds' state is saved: the next crawl is one conditional request each
    srv.hits.clear()
    crawl_to_the_end(db_url, sources, runs=1)
    assert sorted(h.status for h in srv.hits if h.path.endswith("/feed")) == [304] * FEEDS
    assert article_hits(srv) == 0


def test_killed_at_random_moments_nothing_lost_nothing_doubled(
    world: tuple[FixtureServer, Path], db_url: str
) -> None:
    srv, sources = world
    rng = random.Random(SEED)
    moments = []
    for _ in range(3):
        proc = start_crawl(db_url, sources)
        moment = rng.uniform(0.3, 4.5)  # from start-up (migrations) to mid-crawl
        moments.append(round(moment, 2))
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=moment)
        kill(proc)
    crawl_to_the_end(db_url, sources)
    assert_exactly_once_and_sound(db_url)
    assert article_hits(srv) >= ARTICLES, moments


# -- 5. the database under load ----------------------------------------------------------

QUERY_LOOP = """
import contextlib, io, json, os, sys, time
from crawler.cli import main
db, stop = sys.argv[1], sys.argv[2]
done, failures = 0, []
args = [["query", "--db", db, "--format", "jsonl", "--search", "dépêche"],
        ["query", "--db", db, "--stories", "--format", "json"],
        ["stats", "--db", db]]
while not os.path.exists(stop) or done < 3:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args[done % 3])
        except Exception as exc:
            code, _ = 99, err.write(repr(exc))
    if code != 0:
        failures.append(err.getvalue()[-500:])
    done += 1
print(json.dumps({"done": done, "failures": failures}))
"""


def test_queries_while_a_crawl_writes_never_see_a_locked_database(
    world: tuple[FixtureServer, Path], tmp_path: Path
) -> None:
    _srv, sources = world
    db = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    assert veille("db", "upgrade", "--db", db).returncode == 0
    stop = tmp_path / "stop"
    loop = subprocess.Popen(
        [sys.executable, "-c", QUERY_LOOP, db, str(stop)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cli_results: list[subprocess.CompletedProcess] = []

    def cli_queries() -> None:  # the command itself, as a user would type it
        while not stop.exists():
            cli_results.append(veille("query", "--db", db, "--agreements", "--limit", "5"))

    thread = threading.Thread(target=cli_queries)
    thread.start()
    try:
        crawl = veille("crawl", "--db", db, "--sources", str(sources), *CRAWL, timeout=120)
    finally:
        stop.touch()
        thread.join(timeout=60)
        out, _err = loop.communicate(timeout=60)
    assert crawl.returncode == 0, crawl.stderr[-3000:]
    assert stored_count(db) == ARTICLES
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["done"] >= 10 and summary["failures"] == [], summary
    assert cli_results and all(r.returncode == 0 for r in cli_results), [
        r.stderr for r in cli_results if r.returncode
    ]
    assert not any("locked" in r.stderr for r in cli_results)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_connection_lost_mid_crawl(
    world: tuple[FixtureServer, Path], db_url: str
) -> None:
    """The crawl's backends are terminated again and again for 3 s mid-crawl: the crawl ends
    in bounded time, its run is recorded (failed, unless nothing was lost), and a later
    crawl brings every article, once."""
    import psycopg

    from tests.conftest import PG_DSN

    srv, sources = world
    name = f"veille_cut_{os.getpid()}"
    db = f"{db_url}&application_name={name}"
    proc = start_crawl(db, sources)
    started = time.monotonic()
    try:
        wait_for(lambda: article_hits(srv) >= 5)
        with psycopg.connect(PG_DSN, autocommit=True) as admin:
            until = time.monotonic() + 3.0
            while time.monotonic() < until and proc.poll() is None:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                time.sleep(0.02)
        _out, err = proc.communicate(timeout=90)
    finally:
        kill(proc)
    assert time.monotonic() - started < 90
    assert "Traceback" not in err or "database error" in err, err[-3000:]
    runs = sql(db_url, "SELECT status FROM crawl_runs ORDER BY id")
    assert runs and runs[-1].status in ("failed", "ok"), runs
    if runs[-1].status == "ok":
        assert stored_count(db_url) == ARTICLES
    crawl_to_the_end(db_url, sources)
    assert_exactly_once_and_sound(db_url)


def test_a_lost_write_does_not_save_the_feed_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that could not be written (connection lost) must not be followed by a write of
    its feed's validators: else the next crawl sees the feed unchanged and the articles of the
    lost batch are never fetched again."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import OperationalError

    from crawler.core import stories
    from crawler.core.sources import Source
    from crawler.db.store import CrawlStore
    from crawler.items import ArticleItem
    from storage.db import open_database

    feed_url = "https://example.test/feed"
    store = CrawlStore(
        open_database(f"sqlite:///{tmp_path / 'lost.sqlite3'}"),
        [Source("s", "fr", feeds=(feed_url,))],
        batch_size=100,
    )
    feed_id = store.feeds[feed_url].id

    def item(n: int) -> ArticleItem:
        url = f"https://example.test/article-{n}"
        body = article_page(n).decode()
        it = ArticleItem("s", feed_id, url, url, None, datetime.now(UTC), url=url)
        it.title, it.text, it.language = f"Dépêche {n}", body, "fr"
        it.verdict = {"is_agreement": False, "score": 0.0}
        it.content_hash = stories.content_hash(body)
        it.signature = stories.signature(it.title, body)
        return it

    store.add_article(item(1))
    store.add_article(item(2))
    real = store._write_articles

    def connection_lost(*args: object) -> None:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(store, "_write_articles", connection_lost)
    store.flush()  # the batch is lost
    monkeypatch.setattr(store, "_write_articles", real)
    assert store.write_errors
    store.add_article(item(3))
    store.feed_fetched(feed_id, 200, etag='"v1"', body_hash="h1", new_items=3)
    store.flush()
    engine = store.engine
    with engine.connect() as conn:
        body_hash = conn.execute(text("SELECT body_hash FROM feeds")).scalar_one()
        urls = set(conn.execute(text("SELECT url FROM articles")).scalars())
        retry = set(conn.execute(text("SELECT url FROM url_failures WHERE NOT gone")).scalars())
    lost = {"https://example.test/article-1", "https://example.test/article-2"} - urls - retry
    assert body_hash is None or not lost, f"feed state saved, {sorted(lost)} lost for good"
