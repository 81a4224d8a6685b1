"""`veille serve` for real: child crawls on a shrunk schedule against the loopback server.

Intervals are "1m" in the sources file and `--interval-scale 0.02` makes them 1.2 s. Tests
that need one database run on PostgreSQL when it answers, else on SQLite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from scheduler import scheduled_jobs
from storage.db import open_database
from storage.models import Article, CrawlRun
from tests import world
from tests.conftest import FAST, PG_DSN, ROOT, veille
from tests.server import FixtureServer, Route

VEILLE = [sys.executable, "-m", "crawler.cli"]
SCALE = ["--interval-scale", "0.02"]  # 1m -> 1.2 s
SOURCES = """
[[source]]
name = "svc"
language = "fr"
feeds = ["{BASE}/svc/feed"]
interval = "1m"
"""


def rss(base: str, *paths: str) -> Route:
    when = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    items = "".join(
        f"<item><title>Article {p}</title><link>{base}{p}</link><pubDate>{when}</pubDate></item>"
        for p in paths
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>svc</title><link>{base}/svc</link><description>test</description>"
        f"{items}</channel></rss>"
    )
    return Route(body.encode(), world.RSS)


class Service:
    """A `veille serve` child process and what it logs."""

    def __init__(self, db: str, sources: Path, log: Path, *extra: str) -> None:
        self.log = log
        self.handle = log.open("ab")
        self.proc = subprocess.Popen(
            [*VEILLE, "serve", "--db", db, "--sources", str(sources), *FAST, *SCALE, *extra],
            cwd=ROOT,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 40) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.handle.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    services: list[Service] = []

    def _start(db: str, sources: Path, *extra: str) -> Service:
        services.append(Service(db, sources, tmp_path / "service.log", *extra))
        return services[-1]

    yield _start
    for service in services:
        if service.proc.poll() is None:
            service.proc.kill()
            service.proc.wait(timeout=10)


def wait_for(what: str, check: Callable[[], Any], service: Service, timeout: float = 30) -> Any:
    """Poll `check` until it returns something true; fail with the service's log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if service.proc.poll() is not None:
            pytest.fail(f"service exited ({service.proc.returncode}) waiting for {what}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; log:\n{service.text()[-4000:]}")


def runs(engine: Engine) -> list[CrawlRun]:
    with Session(engine) as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


def articles(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Article)) or 0


def jobs(engine: Engine) -> list[tuple[str, float]]:
    with engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs"))
        ]


def adapted(engine: Engine, run: CrawlRun, why: str) -> dict[str, Any] | None:
    """The source's job once the service rescheduled it after `run`, for reason `why`."""
    job = scheduled_jobs(engine)["svc"]
    if why in job["reason"] and job["next_poll_at"] > run.finished_at:
        return job
    return None


def slow(server: FixtureServer, path: str, seconds: float) -> None:
    """Make one path answer slowly (the server answers each request in its own thread)."""
    answer = FixtureServer._answer.__get__(server)

    def _answer(handler: Any) -> None:
        if handler.path.startswith(path) and server.slow:
            server.waiting.append(handler.path)
            time.sleep(seconds)
        answer(handler)

    server.slow, server.waiting = True, []
    server._answer = _answer


@pytest.fixture
def svc(tmp_path: Path, server: FixtureServer) -> Path:
    server.add("/svc/a1", world.page("fr_no_meta.html", server.base))
    server.add("/svc/a2", world.page("en_article.html", server.base))
    server.add("/svc/feed", rss(server.base, "/svc/a1"))
    return world.sources_file(tmp_path, server.base, SOURCES)


def test_serve_polls_again_and_stores_what_appeared(
    server: FixtureServer, svc: Path, tmp_path: Path, start: Callable[..., Service]
) -> None:
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    engine = open_database(db)
    service = start(db, svc, "--run-now", "--log-file", str(tmp_path / "file.log"))
    wait_for("the first crawl", lambda: articles(engine) == 1, service)
    server.add("/svc/feed", rss(server.base, "/svc/a2", "/svc/a1"))  # a new item appears
    second = veille("serve", "--db", db, "--sources", str(svc), timeout=30)
    assert second.returncode == 1 and "already running" in second.stderr
    wait_for("the new item", lambda: articles(engine) == 2, service)
    assert service.stop() == 0

    status = veille("status", "--db", db, "--format", "json")
    assert status.returncode == 0, status.stderr
    [state] = json.loads(status.stdout)
    assert [p["source"] for p in state["next_polls"]] == ["svc"]
    assert state["next_polls"][0]["next_poll_at"].endswith("Z")
    assert len(state["last_runs"]) >= 2
    # "last 24 h" means what `query --since 24h` means: by publication time, else fetch time
    recent = veille("query", "--db", db, "--since", "24h", "--format", "jsonl").stdout
    assert state["last_24h"]["articles"] == len(recent.splitlines()) == 1
    table = veille("status", "--db", db)
    assert "next polls:" in table.stdout
    assert "last 24 h (by publication time, else fetch time): 1 articles" in table.stdout
    done = [r for r in runs(engine) if r.sources == ["svc"]]
    assert len(done) >= 2 and all(r.status == "ok" and r.pid for r in done)
    log = service.text()
    assert "crawl svc #" in log and "1 new" in log and "next poll" in log
    assert "crawl svc #" in (tmp_path / "file.log").read_text(encoding="utf-8")
    check = veille("sources", "--check", "--db", db, "--sources", str(svc))
    assert check.returncode == 0 and "next_poll" in check.stdout.splitlines()[0]
    assert "T" in check.stdout.splitlines()[1].split()[-2]  # an ISO time, not "not scheduled"


@pytest.fixture
def one_db(tmp_path: Path, pg_ok: bool) -> Iterator[str]:
    """PostgreSQL (a schema of its own) when it answers, else SQLite."""
    if not pg_ok:
        yield f"sqlite:///{tmp_path / 'veille.sqlite3'}"
        return
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{PG_DSN}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_sigterm_mid_crawl_then_sigkilled_child_then_recovery(
    server: FixtureServer,
    svc: Path,
    one_db: str,
    start: Callable[..., Service],
) -> None:
    db_url = one_db
    slow(server, "/svc/slow", 3)
    server.add("/svc/slow1", world.page("fr_no_meta.html", server.base))
    server.add("/svc/slow2", world.page("en_article.html", server.base))
    server.add("/svc/feed", rss(server.base, "/svc/slow1"))
    engine = open_database(db_url)
    service = start(db_url, svc, "--grace", "0.5", "--kill-grace", "15")

    # SIGTERM while the crawl waits for an article: the crawl is told to stop, ends whole
    wait_for("an article request", lambda: server.waiting, service)
    assert service.stop() == 0
    assert "sending SIGTERM" in service.text()
    [run] = runs(engine)
    assert run.status in ("interrupted", "failed") and run.finished_at is not None
    with Session(engine) as session:  # the page in flight was stored whole, or not at all
        assert all(a.text and a.title for a in session.scalars(select(Article)))
    assert [j for j, _ in jobs(engine)] == ["crawl:svc"]

    # restart: the stored job carries on (not added again); SIGKILL its crawl mid-flight
    stored = articles(engine)
    server.add("/svc/feed", rss(server.base, "/svc/slow2", "/svc/slow1"))
    server.waiting.clear()
    service = start(db_url, svc, "--grace", "0.5")
    running = wait_for(
        "a running crawl",
        lambda: [r for r in runs(engine)[1:] if r.status == "running" and r.pid],
        service,
    )
    wait_for("an article request", lambda: server.waiting, service)
    os.kill(running[0].pid, signal.SIGKILL)
    killed = wait_for(
        "the killed crawl's record",
        lambda: [r for r in runs(engine) if r.id == running[0].id and r.status != "running"],
        service,
    )[0]
    assert killed.status == "failed" and "SIGKILL" in killed.errors[-1]
    assert "added" not in service.text().split("stopped")[-1]  # resumed, not re-created

    server.slow = False
    ok = wait_for(
        "a crawl that succeeds",
        lambda: [r for r in runs(engine) if r.id > killed.id and r.status == "ok"],
        service,
    )
    assert ok and articles(engine) == 2 > stored
    assert service.stop() == 0
    assert [j for j, _ in jobs(engine)] == ["crawl:svc"]
    assert not [r for r in runs(engine) if r.status == "running"]


def test_a_failing_feed_backs_off_and_comes_back(
    server: FixtureServer, svc: Path, tmp_path: Path, start: Callable[..., Service]
) -> None:
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    server.add("/svc/feed", Route(b"down", "text/plain", status=404, conditional=False))
    engine = open_database(db)
    service = start(db, svc, "--run-now")

    [first] = wait_for("a crawl", lambda: [r for r in runs(engine) if r.finished_at], service)
    job = wait_for("backoff", lambda: adapted(engine, first, "backing off"), service)
    assert job["interval"] == pytest.approx(2.4)  # 1.2 s doubled after one failure
    assert (job["next_poll_at"] - first.finished_at).total_seconds() > 2.4 * 0.9 - 0.2
    [state] = json.loads(veille("status", "--db", db, "--format", "json").stdout)
    assert "backing off after 1 failure" in state["next_polls"][0]["why"]
    stats = veille("stats", "--db", db)
    assert "failing feeds:" in stats.stdout and "next_poll" in stats.stdout

    server.add("/svc/feed", rss(server.base, "/svc/a1"))  # it answers again
    [again, *_] = wait_for(
        "the recovery",
        lambda: [r for r in runs(engine) if r.id > first.id and r.finished_at],
        service,
    )
    job = wait_for("the normal pace", lambda: adapted(engine, again, "configured"), service)
    assert job["interval"] == pytest.approx(1.2) and articles(engine) == 1
    assert service.stop() == 0
    assert "backing off after 1 failure" in service.text()
