"""Shared fixtures: the loopback server, databases (SQLite and PostgreSQL), the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import world
from tests.server import FixtureServer

# The fixture server and every test crawl live on 127.0.0.1, a private address veille refuses
# unless told; the tests of that refusal set it otherwise for their crawls.
os.environ["VEILLE_ALLOW_PRIVATE_ADDRESSES"] = "1"
PG_DSN = os.environ.get("VEILLE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent
FAST = [
    "--set",
    "DOWNLOAD_DELAY=0",
    "--set",
    "AUTOTHROTTLE_START_DELAY=0",
    "--set",
    "AUTOTHROTTLE_MAX_DELAY=1",
    "--set",
    "RETRY_TIMES=1",
]


def postgres_available() -> bool:
    import psycopg

    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.fixture(scope="session")
def pg_ok() -> bool:
    ok = postgres_available()
    if not ok and os.environ.get("CI"):
        pytest.fail(f"PostgreSQL at {PG_DSN} does not answer, and CI requires it")
    return ok


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    srv = FixtureServer().start()
    world.build(srv)
    yield srv
    srv.stop()


@contextmanager
def fresh_database(kind: str, folder: Path, pg_ok: bool) -> Iterator[str]:
    """The URL of a fresh, empty database of this kind (PostgreSQL in a schema of its own)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'veille.sqlite3'}"
        return
    if not pg_ok:
        pytest.skip("PostgreSQL is not available")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{PG_DSN.replace('postgresql://', 'postgresql+psycopg://')}?options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, pg_ok: bool) -> Iterator[str]:
    """A fresh, empty database of each kind (PostgreSQL in a schema of its own)."""
    with fresh_database(request.param, tmp_path, pg_ok) as url:
        yield url


@pytest.fixture
def sources(tmp_path: Path, server: FixtureServer) -> Path:
    return world.sources_file(tmp_path, server.base)


def veille(
    *args: str, timeout: float = 120, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the veille command in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost", **(env or {})},
    )
