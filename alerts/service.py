"""Alerts in `veille serve`: instant alerts after each crawl that found agreements, digests
as cron jobs in the service's job store, and a minute tick that retries failed deliveries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from alerts.core import all_alerts, run_alerts
from alerts.schedule import parse_schedule

log = logging.getLogger("veille.alerts")
DIGEST_PREFIX = "alert:"
TICK_JOB = "alerts:tick"
TICK_SECONDS = 60
# the running service's APScheduler and database, given by `install` (jobs restored from the
# job store carry only names: this is how they reach them)
_serving: dict[str, Any] = {}


def _log(report: list[dict[str, Any]]) -> None:
    for r in report:
        if r["error"]:
            log.warning("alert %s: %s: %d item(s) not delivered: %s", *r.values())
        else:
            log.info("alert %s: %s: %d item(s) delivered", r["alert"], r["channel"], r["items"])


def digest_job(name: str, **_: Any) -> None:
    """A digest's time came (or came while the service was down: coalesced, run once)."""
    if (engine := _serving.get("engine")) is not None:
        try:
            _log(run_alerts(engine, name))
        except Exception:
            log.exception("alert %s: the digest could not run", name)


def tick_job(**_: Any) -> None:
    """Every minute: keep the digest jobs in step with the alerts table, deliver retries."""
    if not _serving:
        return
    try:
        sync_digests(_serving["aps"], _serving["engine"])
        _log(run_alerts(_serving["engine"]))
    except Exception:
        log.exception("alerts: the tick could not run")


def sync_digests(aps: Any, engine: Engine) -> None:
    """One cron job per digest alert, in its time zone; jobs of removed alerts go."""
    from apscheduler.triggers.cron import CronTrigger

    existing = {j.id: j for j in aps.get_jobs() if j.id.startswith(DIGEST_PREFIX)}
    for alert in all_alerts(engine):
        schedule = parse_schedule(alert.schedule, alert.tz)
        if schedule.instant:
            continue
        job_id, spec = DIGEST_PREFIX + alert.name, f"{schedule.spec} {schedule.tz}"
        job = existing.pop(job_id, None)
        if job is not None and job.name == spec:
            continue
        aps.add_job(
            "alerts.service:digest_job",
            CronTrigger(**schedule.cron()),
            args=[alert.name],
            id=job_id,
            name=spec,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=None,  # a digest missed while down runs once at start
        )
    for job_id in existing:
        aps.remove_job(job_id)


def install(aps: Any, engine: Engine) -> None:
    """Add the alert jobs to the service's scheduler (the same job store as the crawls),
    once there is an alert: a service without alerts stores no alert job."""
    _serving.update(aps=aps, engine=engine)
    if aps.get_job(TICK_JOB) is not None or not all_alerts(engine):
        return
    sync_digests(aps, engine)
    aps.add_job(
        "alerts.service:tick_job",
        "interval",
        seconds=TICK_SECONDS,
        id=TICK_JOB,
        name=f"every {TICK_SECONDS}s",
        next_run_time=datetime.now(UTC),  # at start: digests missed while down, retries
        replace_existing=True,
    )


def after_crawl(aps: Any, engine: Engine, run: dict[str, Any], name: str) -> None:
    """Instant alerts, after a crawl child that found agreements."""
    counts = (run.get("counts") or {}).get(name) or {}
    try:
        install(aps, engine)  # the first alert may have been added while serving
        if counts.get("agreements"):
            _log(run_alerts(engine, instant_only=True))
    except Exception:
        log.exception("alerts after the crawl of %s could not run", name)
