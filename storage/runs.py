"""The crawl runs table: a run opened and closed, and runs left open by a dead crawl."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

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


RUNS = CrawlRun.__table__


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
    """Mark failed the runs left 'running' by a crawl that is gone (killed, power cut): on
    SQLite, whose pids are this machine's, when the pid is dead; anywhere, when too old."""
    oldest = datetime.now(UTC) - stale_after
    local = engine.dialect.name == "sqlite"
    marked = []
    with writing(engine) as conn:
        rows = conn.execute(
            select(RUNS.c.id, RUNS.c.pid, RUNS.c.started_at, RUNS.c.errors).where(
                RUNS.c.status == "running"
            )
        ).all()
        for run_id, pid, started_at, errors in rows:
            if (local and not pid_alive(pid)) or started_at < oldest:
                fail_run(conn, run_id, errors, why)
                marked.append((run_id, pid))
    return marked


def start_run(engine: Engine, names: list[str]) -> int:
    """Record a crawl as running (after closing the books of crawls that died)."""
    recover_orphans(engine, ORPHAN_AFTER, "the crawl process was gone when another crawl started")
    with writing(engine) as conn:
        return conn.execute(
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
