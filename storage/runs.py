"""The crawl runs table: a run opened and closed, and runs left open by a dead crawl."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

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


def recover_orphans(engine: Engine, stale_after: timedelta, why: str) -> list[tuple[int, int]]:
    """Mark failed the runs left 'running' by a crawl that is gone (killed, power cut): on
    SQLite, whose pids are this machine's, when the pid is dead; anywhere, when too old."""
    runs = CrawlRun.__table__
    oldest = datetime.now(UTC) - stale_after
    local = engine.dialect.name == "sqlite"
    marked = []
    with writing(engine) as conn:
        rows = conn.execute(
            select(runs.c.id, runs.c.pid, runs.c.started_at, runs.c.errors).where(
                runs.c.status == "running"
            )
        ).all()
        for run_id, pid, started_at, errors in rows:
            if (local and not pid_alive(pid)) or started_at < oldest:
                conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id)
                    .values(
                        status="failed",
                        finished_at=datetime.now(UTC),
                        errors=[*(errors or []), why],
                    )
                )
                marked.append((run_id, pid))
    return marked


def start_run(engine: Engine, names: list[str]) -> int:
    """Record a crawl as running (after closing the books of crawls that died)."""
    recover_orphans(engine, ORPHAN_AFTER, "the crawl process was gone when another crawl started")
    with writing(engine) as conn:
        return conn.execute(
            CrawlRun.__table__.insert()
            .values(
                started_at=datetime.now(UTC),
                status="running",
                sources=names,
                counts={},
                errors=[],
                pid=os.getpid(),
            )
            .returning(CrawlRun.__table__.c.id)
        ).scalar_one()


def finish_run(engine: Engine, run_id: int, status: str, counts: dict, errors: list[str]) -> None:
    """Record how a crawl ended."""
    with writing(engine) as conn:
        conn.execute(
            update(CrawlRun.__table__)
            .where(CrawlRun.__table__.c.id == run_id)
            .values(
                finished_at=datetime.now(UTC),
                status=status,
                counts={k: dict(v) for k, v in counts.items()},
                errors=errors[:200],
            )
        )
