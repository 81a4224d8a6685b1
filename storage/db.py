"""Engines and sessions: where the database lives, SQLite pragmas, migrations on open."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

if TYPE_CHECKING:
    import psycopg
    from alembic.config import Config
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.orm import DeclarativeBase
    from sqlalchemy.pool import ConnectionPoolEntry
    from sqlalchemy.sql.dml import Insert
    from sqlalchemy.sql.expression import TableClause

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration of MIGRATIONS (tests/test_storage.py checks that it is Alembic's
# head): a database already at it is opened without importing Alembic, 0.19 s of CPU that
# every crawl spent before its first request.
SCHEMA_REVISION = "0011"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Prepared statements the sqlite3 module keeps per connection (its default: 128). Each length
# of an IN list is another statement, up to 60 KB for 500 values: 128 of them held 8 MB that
# filled as a crawl went; a batch's fixed statements fit in 32.
SQLITE_CACHED_STATEMENTS = 32
WRITE_OPTION = "veille_writes"
SECRET_PARAMETERS = ("password", "passwd", "pass", "secret", "token", "sslpassword", "apikey")


class DatabaseError(Exception):
    """A database that cannot be opened as asked: a bad URL, a missing file, an old schema."""


def error_reason(exc: BaseException) -> str:
    """What the database driver said, in one line (SQLAlchemy wraps it in `orig`)."""
    said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return said[0] if said else type(exc).__name__


def dump_json(value: Any) -> str:
    """JSON as real UTF-8 (not \\uXXXX escapes), so other tools read Arabic and accents."""
    return json.dumps(value, ensure_ascii=False)


def dialect_insert(
    conn: Connection, table: TableClause | type[DeclarativeBase]
) -> sqlite.Insert | postgresql.Insert:
    """An INSERT of this connection's dialect, which knows ON CONFLICT (both databases)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def insert_plain(conn: Connection, statement: Insert, rows: list[dict[str, Any]]) -> None:
    """Many rows of plain values (integers, text: nothing a column type converts) handed to
    the driver as they are, the statement compiled once. SQLAlchemy's executemany builds
    each row's parameters in Python: 42,000 story-band rows took 0.24 CPU-s that way on
    SQLite, 0.105 through the driver."""
    if not rows:
        return
    compiled = statement.compile(dialect=conn.dialect)
    if compiled.positional:
        names = compiled.positiontup or []
        conn.exec_driver_sql(compiled.string, [tuple(r[n] for n in names) for r in rows])
    else:
        conn.exec_driver_sql(compiled.string, rows)


def chunks(items: list, size: int = 500) -> Iterable[list]:
    """Slices of at most `size` items: keeps IN lists under the drivers' parameter limits."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def default_url() -> str:
    """`VEILLE_DB`, else a SQLite file under the user's data directory."""
    if url := os.environ.get("VEILLE_DB"):
        return url
    try:
        data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    except RuntimeError as exc:  # no HOME and no passwd entry
        raise DatabaseError(f"no database given and no home directory ({exc}): use --db") from exc
    return f"sqlite:///{data_home / 'veille' / 'veille.sqlite3'}"


def normalize_url(url: str) -> str:
    """Accept bare paths and plain `postgresql://` URLs; pick psycopg 3 as the driver."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def parse_url(url: str) -> URL:
    """The URL parsed, or DatabaseError saying why not (secrets masked)."""
    try:
        parsed = make_url(normalize_url(url))
        parsed.get_dialect()  # an unknown or uninstalled driver fails here
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as exc:
        raise DatabaseError(f"{safe_url(url)}: not a database URL veille can use ({exc})") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(f"{safe_url(url)}: veille works with SQLite and PostgreSQL only")
    if parsed.get_backend_name() == "postgresql" and not parsed.database:
        raise DatabaseError(f"{safe_url(url)}: no database name in the URL")
    return parsed


def safe_url(url: str) -> str:
    """The URL with its password hidden, in the user part and in `?password=`-style query
    parameters alike, for logs and output (even when it does not parse)."""
    try:
        shown = make_url(normalize_url(url)).render_as_string(hide_password=True)
    except Exception:
        shown = re.sub(r"(://[^:/@?]*:)[^@/?]*@", r"\1***@", url)
    names = "|".join(SECRET_PARAMETERS)
    return re.sub(rf"([?&](?:{names})=)[^&#]*", r"\1***", shown, flags=re.IGNORECASE)


def _sqlite_path(parsed: URL) -> Path | None:
    return Path(parsed.database) if parsed.database and parsed.database != ":memory:" else None


def make_engine(url: str | None = None, readonly: bool = False, parallel: bool = True) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and immediate write transactions.
    `readonly` opens an existing database for reading only and never creates one. Without
    `parallel`, PostgreSQL plans no parallel workers: for a server of many small pages, where
    they cost more to start than they save and take the cores of a crawl beside it (a command
    reading the whole database gains from them)."""
    url = url or default_url()
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _postgres_engine(parsed, readonly, parallel)
    path = _sqlite_path(parsed)
    if readonly:
        return _sqlite_readonly_engine(path)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the database at {path}: {exc.strerror}") from exc
    engine = create_engine(
        parsed,
        connect_args={
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
            "cached_statements": SQLITE_CACHED_STATEMENTS,
        },
        json_serializer=dump_json,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writes = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _postgres_engine(parsed: URL, readonly: bool, parallel: bool) -> Engine:
    engine = create_engine(
        parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10}, json_serializer=dump_json
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: psycopg.Connection, _record: ConnectionPoolEntry) -> None:
        with dbapi_conn.cursor() as cur:
            # psycopg prepares a statement run five times, and PostgreSQL then plans it once
            # for any value: a search's generic plan took 1.5 s where its own took 0.2 s
            cur.execute("SET plan_cache_mode = force_custom_plan")
            if not parallel:
                cur.execute("SET max_parallel_workers_per_gather = 0")
            if readonly:
                cur.execute("SET default_transaction_read_only = on")
        dbapi_conn.commit()

    return engine


def _sqlite_read_connection(path: Path) -> sqlite3.Connection:
    """A read-only connection (mode=ro). A WAL database needs its -shm file, which a user who
    may not write the directory cannot create; when no writer has the file open (no -wal
    file), nothing can change under the reader, and it is opened immutable instead."""
    base = f"file:{quote(str(path.resolve()))}?mode=ro"
    conn = sqlite3.connect(
        base, uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
    )
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        wal = path.with_name(path.name + "-wal")
        if wal.exists() or os.access(path.parent, os.W_OK):
            raise
        conn.close()
    return sqlite3.connect(base + "&immutable=1", uri=True, check_same_thread=False)


def _sqlite_readonly_engine(path: Path | None) -> Engine:
    """SQLite opened with mode=ro: no file is created, no write can happen."""
    if path is None:
        raise DatabaseError("an in-memory database has nothing to read")
    if not path.is_file():
        raise DatabaseError(
            f"no veille database at {path}; `veille crawl` or `veille db upgrade` creates it "
            "(--db or VEILLE_DB name another)"
        )
    engine = create_engine(
        "sqlite://", creator=lambda: _sqlite_read_connection(path), json_serializer=dump_json
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        dbapi_conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction. On SQLite it takes the write lock up front (BEGIN IMMEDIATE), so a
    writer waits for another instead of failing when it upgrades; readers never wait (WAL)."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


def alembic_config() -> Config:
    """Alembic configured from code: no alembic.ini to find."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def schema_revision(conn: Connection) -> str | None:
    """The migration a database is at (Alembic's version table); None for an empty one."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    """Whether the schema is at the newest migration."""
    with engine.connect() as conn:
        return schema_revision(conn) == SCHEMA_REVISION


def upgrade(engine: Engine) -> None:
    """Apply pending migrations, serialised between processes."""
    if is_current(engine):
        return
    from alembic import command

    cfg = alembic_config()
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7262011)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_database(url: str | None = None, readonly: bool = False, parallel: bool = True) -> Engine:
    """An engine on an up-to-date schema: migrated when writing; when only reading, the
    database must exist at the newest schema already (DatabaseError says what to do).
    `parallel`: as `make_engine`'s."""
    engine = make_engine(url, readonly=readonly, parallel=parallel)
    if not readonly:
        upgrade(engine)
        return engine
    with engine.connect() as conn:
        current = schema_revision(conn)
    where = safe_url(str(url or default_url()))
    if current is None:
        raise DatabaseError(f"no veille database at {where}; `veille db upgrade` creates it")
    if current != SCHEMA_REVISION:
        raise DatabaseError(
            f"the database at {where} has schema {current}, this veille needs {SCHEMA_REVISION}: "
            "run `veille db upgrade`"
        )
    return engine
