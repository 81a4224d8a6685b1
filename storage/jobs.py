"""The service's schedule read back: per source, its next poll, from APScheduler's job store
(table `apscheduler_jobs`, which scheduler.py writes). Reads only."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from sqlalchemy import Engine, select

log = logging.getLogger(__name__)

JOB_PREFIX = "crawl:"
JOBS_TABLE = "apscheduler_jobs"


def scheduled_jobs(engine: Engine) -> dict[str, dict[str, Any]]:
    """The service's jobs, read through APScheduler's job store: per source, its next poll
    and current interval."""
    from sqlalchemy import inspect

    if not inspect(engine).has_table(JOBS_TABLE):
        return {}
    jobs = {}
    for job in _job_store(engine).get_all_jobs():
        if not job.id.startswith(JOB_PREFIX):
            continue
        interval = getattr(job.trigger, "interval_length", None)
        nrt = job.next_run_time
        spec = str(job.name or "")
        jobs[job.id.removeprefix(JOB_PREFIX)] = {
            "next_poll_at": nrt.astimezone(UTC) if nrt else None,
            "interval": interval,
            "schedule": None if interval else spec.partition(": ")[2] or str(job.trigger),
            "reason": (job.kwargs or {}).get("reason", ""),
        }
    return jobs


def _job_store(engine: Engine) -> Any:
    """APScheduler's SQLAlchemy job store on `engine`, for reading: a job it cannot restore
    (written by another version) is left in place and not listed, never deleted."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    class ReadingJobStore(SQLAlchemyJobStore):
        def _get_jobs(self, *conditions: Any) -> list[Any]:
            rows = select(self.jobs_t.c.id, self.jobs_t.c.job_state).order_by(
                self.jobs_t.c.next_run_time
            )
            jobs = []
            with self.engine.connect() as conn:
                for row in conn.execute(rows.where(*conditions) if conditions else rows):
                    try:
                        jobs.append(self._reconstitute_job(row.job_state))
                    except Exception:
                        log.debug("job %s cannot be restored by this version", row.id)
            return jobs

    return ReadingJobStore(engine=engine, tablename=JOBS_TABLE)


def next_polls(engine: Engine) -> dict[str, str]:
    """Per source, its next poll as an ISO time ('paused' if none), for the CLI."""
    from storage.queries import iso

    return {
        name: (job["next_poll_at"] and iso(job["next_poll_at"].replace(microsecond=0))) or "paused"
        for name, job in scheduled_jobs(engine).items()
    }
