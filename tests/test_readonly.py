"""Read-only commands never create, migrate or write a database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from crawler.db.feedback import record_feedback
from storage.db import DatabaseError, open_database
from tests.conftest import PG_DSN, ROOT, veille
from tests.test_agreements import BATCH_FR
from tests.test_feedback import store
from web.app import create_app

READERS = [["query"], ["stats"], ["status"], ["errors"], ["show", "1"], ["db", "describe"]]
READERS += [["feedback", "stats"], ["feedback", "export", "never-written"]]


@pytest.mark.parametrize("command", [*READERS, ["sources", "--check"]])
def test_a_mistyped_path_is_said_and_not_created(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "veile.sqlite3"
    result = veille(*command, "--db", str(missing))
    assert result.returncode == 2, result.stderr
    assert f"no veille database at {missing}" in result.stderr
    assert not missing.parent.exists()


def test_the_default_location_is_named_when_nothing_is_there(tmp_path: Path) -> None:
    result = veille("query", env={"XDG_DATA_HOME": str(tmp_path), "VEILLE_DB": ""})
    assert result.returncode == 2
    assert str(tmp_path / "veille" / "veille.sqlite3") in result.stderr
    assert not (tmp_path / "veille").exists()


def test_readers_never_write(db_url: str) -> None:
    open_database(db_url).dispose()  # created by a writer
    engine = open_database(db_url, readonly=True)
    with pytest.raises(SQLAlchemyError), engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (name) VALUES ('x')"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sources")).scalar() == 0
    engine.dispose()
    for command in READERS[:4]:
        result = veille(*command, "--db", db_url)
        assert result.returncode == 0, (command, result.stderr)


def test_an_old_schema_is_not_migrated_by_a_reader(tmp_path: Path) -> None:
    from alembic import command

    from storage.db import alembic_config, make_engine, writing

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = make_engine(url)
    cfg = alembic_config()
    with writing(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    engine.dispose()
    result = veille("query", "--db", url)
    assert result.returncode == 2 and "run `veille db upgrade`" in result.stderr
    with pytest.raises(DatabaseError):
        open_database(url, readonly=True)


def read_without_write_access(
    tmp_path: Path, *args: str, fill: Callable[[Engine], None] | None = None
) -> subprocess.CompletedProcess:
    """A veille command run on a database (filled by `fill`) in a directory the user may not
    write (no -shm file can be created), as a user who owns neither; the directory is
    checked untouched."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "v.sqlite3"
    engine = open_database(str(db))
    if fill:
        fill(engine)
    engine.dispose()
    assert sorted(p.name for p in folder.iterdir()) == ["v.sqlite3"]  # WAL files removed
    db.chmod(0o444)
    folder.chmod(0o555)
    command = [sys.executable, "-m", "crawler.cli", *args, "--db", str(db)]
    if os.geteuid() == 0:  # root reads and writes anything: drop its capabilities, own nothing
        if not shutil.which("setpriv"):
            pytest.skip("needs setpriv to run without root's capabilities")
        os.chown(db, 65534, 65534)
        os.chown(folder, 65534, 65534)
        command = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", *command]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert sorted(p.name for p in folder.iterdir()) == ["v.sqlite3"]
        return result
    finally:
        folder.chmod(0o755)


def test_a_file_the_user_may_only_read_is_read(tmp_path: Path) -> None:
    result = read_without_write_access(tmp_path, "query", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_feedback_stats_and_export_only_read(tmp_path: Path) -> None:
    result = read_without_write_access(tmp_path, "feedback", "stats", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["marked"] == 0
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)  # the unprivileged user writes the files there, not in the database
    (tmp_path / "again").mkdir()

    def one_mark(engine: Engine) -> None:
        (article,) = store(engine, [BATCH_FR])
        record_feedback(engine, article, correct=True, by="amina")

    result = read_without_write_access(
        tmp_path / "again", "feedback", "export", str(out), fill=one_mark
    )
    assert result.returncode == 0, result.stderr
    assert "1 labelled article(s) written" in result.stdout
    (written,) = out.glob("dfb*.json")
    assert json.loads(written.read_text(encoding="utf-8"))["label"]["is_agreement"] is True


def test_postgresql_readers_use_read_only_transactions(pg_ok: bool) -> None:
    if not pg_ok:
        pytest.skip("PostgreSQL is not available")
    schema = "t_readonly_" + os.urandom(4).hex()
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{PG_DSN}?options=-csearch_path%3D{schema}"
    try:
        result = veille("query", "--db", url)  # an empty schema: not a veille database
        assert result.returncode == 2 and "no veille database" in result.stderr
        with psycopg.connect(PG_DSN) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
            ).fetchone()
        assert tables == (0,)  # nothing was created
        open_database(url).dispose()
        engine = open_database(url, readonly=True)
        with engine.connect() as conn:
            assert conn.execute(text("SHOW default_transaction_read_only")).scalar() == "on"
            assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() != "0"
        with pytest.raises(SQLAlchemyError, match="read-only"), engine.begin() as conn:
            conn.execute(text("INSERT INTO sources (name) VALUES ('x')"))
        engine.dispose()
        served = create_app(url).extensions["veille"].engine  # the web view's: no parallel plans
        with served.connect() as conn:
            assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
            assert conn.execute(text("SHOW default_transaction_read_only")).scalar() == "on"
        served.dispose()
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
