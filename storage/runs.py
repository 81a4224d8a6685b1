"""The crawl runs table: a run opened and closed, and runs left open by a dead crawl."""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, select, text, update

from storage.db import writing
from storage.models import CrawlRun

ORPHAN_AFTER = timedelta(hours=12)  # a run 'running' for longer than this is surely dead


def pid_alive(pid: int | None) -> bool:
    """Whether a process of this machine with that pid exists."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


RUNS: Table = CrawlRun.__table__  # type: ignore[assignment]
# PostgreSQL: a running crawl holds this session lock, per schema and run; the server drops it
# when the crawl's connection goes, however the crawl died and on whichever machine it ran
RUN_LOCK = "hashtextextended(current_schema() || '/crawl-run/' || CAST(:id AS text), 7262013)"
_held: dict[int, Connection] = {}  # run id -> the connection holding its lock (this process)


def run_alive(conn: Connection, run_id: int, pid: int | None) -> bool:
    """Whether the crawl of a 'running' row still runs: on SQLite (this machine's pids) its
    pid is alive; on PostgreSQL its session lock is held (by a crawl anywhere)."""
    if conn.dialect.name != "postgresql":
        return pid_alive(pid)
    if run_id in _held:
        return True
    # a probe's lock is a transaction lock: it ends with the caller's transaction
    free = conn.execute(text(f"SELECT pg_try_advisory_xact_lock({RUN_LOCK})"), {"id": run_id})
    return not free.scalar()


def fail_run(conn: Connection, run_id: int, errors: list[str] | None, why: str) -> None:
    """Close a run left 'running' as failed, with why."""
    conn.execute(
        update(RUNS)
        .where(RUNS.c.id == run_id, RUNS.c.status == "running")
        .values(status="failed", finished_at=datetime.now(UTC), errors=[*(errors or []), why])
    )


def settle_child_run(
    engine: Engine, name: str, pid: int, started: datetime, why: str
) -> dict[str, Any]:
    """The run row of a crawl child that has exited: as it left it if it closed it, else
    closed as failed with why, or written as failed if the child never wrote one."""
    with writing(engine) as conn:
        row = conn.execute(
            select(RUNS)
            .where(RUNS.c.pid == pid, RUNS.c.started_at >= started - timedelta(seconds=5))
            .order_by(RUNS.c.id.desc())
            .limit(1)
        ).first()
        if row is not None and row.status != "running":
            return dict(row._mapping)
        if row is not None:
            fail_run(conn, row.id, row.errors, why)
            return {**row._mapping, "status": "failed", "errors": [why]}
        values = {
            "started_at": started,
            "finished_at": datetime.now(UTC),
            "status": "failed",
            "sources": [name],
            "counts": {},
            "errors": [why],
            "pid": pid,
        }
        values["id"] = conn.execute(
            RUNS.insert().values(**values).returning(RUNS.c.id)
        ).scalar_one()
        return values


def recover_orphans(engine: Engine, stale_after: timedelta, why: str) -> list[tuple[int, int]]:
    """Mark failed the runs left 'running' by a crawl that is gone (killed, power cut): when
    `run_alive` says so, or when too old."""
    oldest = datetime.now(UTC) - stale_after
    marked = []
    with writing(engine) as conn:
        rows = conn.execute(
            select(RUNS.c.id, RUNS.c.pid, RUNS.c.started_at, RUNS.c.errors).where(
                RUNS.c.status == "running"
            )
        ).all()
        for run_id, pid, started_at, errors in rows:
            if started_at < oldest or not run_alive(conn, run_id, pid):
                fail_run(conn, run_id, errors, why)
                marked.append((run_id, pid))
    return marked


def start_run(engine: Engine, names: list[str]) -> int:
    """Record a crawl as running (after closing the books of crawls that died)."""
    recover_orphans(engine, ORPHAN_AFTER, "the crawl process was gone when another crawl started")
    with writing(engine) as conn:
        run_id = conn.execute(
            RUNS.insert()
            .values(
                started_at=datetime.now(UTC),
                status="running",
                sources=names,
                counts={},
                errors=[],
                pid=os.getpid(),
            )
            .returning(RUNS.c.id)
        ).scalar_one()
    if engine.dialect.name == "postgresql":
        holder = engine.connect()
        holder.execute(text(f"SELECT pg_advisory_lock({RUN_LOCK})"), {"id": run_id})
        holder.commit()
        _held[run_id] = holder
    return run_id


def finish_run(engine: Engine, run_id: int, status: str, counts: dict, errors: list[str]) -> None:
    """Record how a crawl ended."""
    with writing(engine) as conn:
        conn.execute(
            update(RUNS)
            .where(RUNS.c.id == run_id)
            .values(
                finished_at=datetime.now(UTC),
                status=status,
                counts={k: dict(v) for k, v in counts.items()},
                errors=errors[:200],
            )
        )
    holder = _held.pop(run_id, None)
    if holder is not None:  # the connection goes back to the pool: its session lock must not
        with contextlib.suppress(Exception):  # (a lost connection took it already)
            holder.execute(text(f"SELECT pg_advisory_unlock({RUN_LOCK})"), {"id": run_id})
            holder.commit()
        holder.close()
