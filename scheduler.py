"""The background service behind `veille serve`: each source polled on its own schedule.

APScheduler keeps one job per enabled source in the same database as the articles (table
`apscheduler_jobs`), so a restart resumes the schedule and a crawl missed while the service
was down runs once. Each crawl is a child process (`veille crawl --source NAME`) with a time
limit; the service records what a crashed child could not, adapts each source's interval to
what its last polls found (`poll_interval`, a pure function), and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

import alerts.service
from crawler.core.polling import PollFacts, facts_from, human, jitter_for, poll_interval
from crawler.service_log import setup_logging as setup_logging
from storage.jobs import JOB_PREFIX, JOBS_TABLE
from storage.jobs import next_polls as next_polls
from storage.jobs import scheduled_jobs as scheduled_jobs

log = logging.getLogger("veille.service")

# Each crawl is a child process running the CLI (crawler/cli/__main__.py): `veille crawl`.
CRAWL_CHILD = (sys.executable, "-m", "crawler.cli", "crawl")

JOB_FUNC = "scheduler:crawl_job"

# -- what the database says of a source ------------------------------------------------------


def source_facts(engine: Engine, name: str, interval: int, lookback: int = 200) -> PollFacts:
    """The policy's input for one source, from its feeds and the recent crawl runs."""
    from storage.polls import poll_history

    feeds, runs = poll_history(engine, name, lookback)
    return facts_from(name, interval, feeds, runs, datetime.now(UTC))


# -- the service -----------------------------------------------------------------------------


@dataclass
class ServiceOptions:
    """How `veille serve` was asked to run."""

    db_url: str
    sources_path: str
    settings: list[str] = field(default_factory=list)  # NAME=VALUE, forwarded to each crawl
    workers: int = 2
    crawl_timeout: float = 30 * 60
    grace: float = 60.0  # how long a running crawl may finish after SIGTERM
    kill_grace: float = 30.0  # how long a crawl may take to stop after its own SIGTERM
    interval_scale: float = 1.0  # tests and benchmarks shrink every interval with this
    run_now: bool = False  # poll every source once at start


_service: Service | None = None
# one service per database and schema (tests give each its own schema)
LOCK_SQL = "SELECT pg_try_advisory_lock(7262012, hashtext(current_schema()))"


class ServiceError(RuntimeError):
    """The service cannot start, said plainly (another one already serves this database)."""


def crawl_job(name: str, **_: Any) -> None:
    """The job APScheduler stores for each source (by reference, so it survives restarts)."""
    if _service is None:
        log.error("crawl of %s fired outside the service", name)
        return
    _service.crawl(name)


class Service:
    """The scheduler, its crawl children, and a clean stop."""

    def __init__(self, options: ServiceOptions) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

        from storage.db import open_database

        self.options = options
        self.engine = open_database(options.db_url)  # migrations run here, once, not in children
        self.scheduler = _scheduler_class()(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename=JOBS_TABLE)},
            executors={"default": ThreadPoolExecutor(max(1, options.workers))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self.sources: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._children: dict[str, subprocess.Popen] = {}  # source -> its running crawl
        self._active = 0  # job threads between start and bookkeeping done
        self._idle = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._stopping = False
        self._signals = 0
        self._reload = False
        self._instance_lock: Any = None

    # -- lifecycle --

    def claim_database(self) -> None:
        """One service per database: a second one would poll every source twice."""
        from sqlalchemy import make_url

        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect()
            if not conn.exec_driver_sql(LOCK_SQL).scalar():
                conn.close()
                raise ServiceError("another `veille serve` is already running on this database")
            conn.commit()
            self._instance_lock = conn  # held while the service runs
            return
        database = make_url(str(self.engine.url)).database
        if not database or database == ":memory:":
            return
        database = os.path.realpath(database)  # one lock, through whichever path or symlink
        import fcntl

        handle = open(f"{database}.serve-lock", "w")  # noqa: SIM115 (held while serving)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ServiceError(f"another `veille serve` is already running on {database}") from None
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._instance_lock = handle

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; 0 after a clean stop."""
        global _service
        self.claim_database()
        _service = self
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop_signal)
        signal.signal(signal.SIGHUP, self._on_reload_signal)
        self.recover_orphans()
        self.scheduler.start(paused=True)
        try:
            self.reconcile()
            alerts.service.install(self.scheduler, self.engine)
            self.scheduler.resume()
            self.log_schedule()
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._signals:
                    break
                if self._reload:
                    self._reload = False
                    try:
                        self.reconcile()
                        self.log_schedule()
                    except Exception as exc:
                        log.error("sources file not reloaded: %s", exc)
        finally:
            self.stop()
            _service = None
            for sig in (signal.SIGTERM, signal.SIGINT):  # a late signal must not spoil exit 0
                signal.signal(sig, signal.SIG_IGN)
        return 0

    def _on_stop_signal(self, signum: int, _frame: Any) -> None:
        self._signals += 1
        self._stopping = True
        self._wake.set()
        if self._signals > 1:
            log.warning("%s again: hurrying the stop", signal.Signals(signum).name)
        else:
            log.info("%s received: stopping", signal.Signals(signum).name)

    def _on_reload_signal(self, _signum: int, _frame: Any) -> None:
        self._reload = True
        self._wake.set()

    def stop(self) -> None:
        """No new crawls; running ones get `grace` s to finish, then SIGTERM, then SIGKILL."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.pause()
        with self._lock:
            running = sorted(self._children)
        if running:
            log.info(
                "waiting up to %gs for running crawl(s) to finish: %s",
                self.options.grace,
                ", ".join(running),
            )
            self._wait_children(self.options.grace, until_signals=2)
            self._signal_children(signal.SIGTERM)
            self._wait_children(self.options.kill_grace, until_signals=3)
            self._signal_children(signal.SIGKILL)
        with self._idle:  # let every job thread record how its crawl ended
            self._idle.wait_for(lambda: self._active == 0, timeout=60)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._instance_lock is not None:
            self._instance_lock.close()
        self.engine.dispose()
        log.info("stopped")

    def _wait_children(self, seconds: float, until_signals: int) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self._signals < until_signals:
            with self._lock:
                if not self._children:
                    return
            time.sleep(0.1)

    def _signal_children(self, sig: signal.Signals) -> None:
        with self._lock:
            children = dict(self._children)
        for name, proc in children.items():
            if proc.poll() is None:
                log.warning("crawl of %s (pid %s): sending %s", name, proc.pid, sig.name)
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)

    # -- jobs --

    def job_spec(self, source: Any) -> str:
        """What a job was made from: a changed spec means the job is rebuilt on start."""
        spec = f"cron {source.schedule}" if source.schedule else f"every {source.interval}s"
        if self.options.interval_scale != 1 and not source.schedule:
            spec += f" x{self.options.interval_scale:g}"
        return f"{source.name}: {spec}"

    def scaled(self, seconds: float) -> float:
        return max(1.0, seconds * self.options.interval_scale)

    def trigger_for(self, source: Any, seconds: float | None = None) -> Any:
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        if source.schedule:
            trigger = CronTrigger.from_crontab(source.schedule)  # the machine's local time
            trigger.jitter = 30
            return trigger
        length = self.scaled(seconds if seconds is not None else source.interval)
        return IntervalTrigger(seconds=length, jitter=jitter_for(length), timezone=UTC)

    def reconcile(self) -> None:
        """Make the stored jobs match the sources file: add, rebuild changed, remove gone."""
        from crawler.core.sources import load_sources

        listed = load_sources(self.options.sources_path)
        if not listed and self.scheduler.get_jobs():
            # an emptied file (cut, or being written) is not "stop everything": `enabled = false`
            raise ServiceError(
                f"{self.options.sources_path} lists no source; the schedule is kept as it was"
            )
        sources = {s.name: s for s in listed if s.enabled}
        self.sources = sources
        now = datetime.now(UTC)
        existing = {
            j.id.removeprefix(JOB_PREFIX): j
            for j in self.scheduler.get_jobs()
            if j.id.startswith(JOB_PREFIX)
        }
        for name, source in sources.items():
            spec = self.job_spec(source)
            job = existing.pop(name, None)
            if job is not None and job.name == spec:
                if self.options.run_now:
                    job.modify(next_run_time=now)
                continue
            trigger = self.trigger_for(source)
            first = now
            if job is not None:  # changed: the new pace (an interval: no later than before)
                first = trigger.get_next_fire_time(None, now) or now
                if not source.schedule and job.next_run_time:
                    first = min(job.next_run_time, first)
                log.info("source %s changed: %s", name, spec)
            elif source.schedule:  # a new cron source waits for its time
                first = trigger.get_next_fire_time(None, now) or now
                log.info("source %s added: %s", name, spec)
            else:  # a new interval source is polled within the minute
                first = now + timedelta(seconds=random.uniform(0, min(self.scaled(60), 60.0)))
                log.info("source %s added: %s", name, spec)
            if self.options.run_now:
                first = now
            self.scheduler.add_job(
                JOB_FUNC,
                trigger,
                args=[name],
                id=JOB_PREFIX + name,
                name=spec,
                next_run_time=first,
                replace_existing=True,
            )
        for name in existing:
            self.scheduler.remove_job(JOB_PREFIX + name)
            log.info("source %s removed (gone from the sources file, or disabled)", name)

    def log_schedule(self) -> None:
        jobs = sorted(self.scheduler.get_jobs(), key=lambda j: j.next_run_time or datetime.max)
        log.info(
            "serving %d source(s) from %s; next: %s",
            len(jobs),
            self.options.sources_path,
            ", ".join(f"{j.id.removeprefix(JOB_PREFIX)} {_when(j.next_run_time)}" for j in jobs[:5])
            or "none",
        )

    # -- one crawl --

    def crawl(self, name: str) -> None:
        """Run one crawl of `name` in a child process, record its end, adapt its interval."""
        with self._lock:
            if self._stopping:
                busy = "the service is stopping"
            elif name in self._children:
                busy = "its previous crawl is still running"
            else:
                busy = None
                self._active += 1
        if busy:
            log.warning("crawl of %s skipped: %s", name, busy)
            if self._stopping:
                self._retry_at_start(name)
            return
        try:
            elsewhere = self._running_elsewhere(name)
            if elsewhere:
                log.warning("crawl of %s skipped: crawl #%s (pid %s) is at it", name, *elsewhere)
                return
            self._crawl(name)
        except Exception:
            log.exception("crawl of %s: the service could not run or record it", name)
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _retry_at_start(self, name: str) -> None:
        # a crawl due at stop time runs first thing after the restart
        with contextlib.suppress(Exception):
            self.scheduler.modify_job(JOB_PREFIX + name, next_run_time=datetime.now(UTC))

    def _command(self, name: str) -> tuple[list[str], dict[str, str]]:
        cmd = [*CRAWL_CHILD, "--source", name]
        cmd += ["--sources", self.options.sources_path]
        env = {**os.environ, "VEILLE_DB": self.options.db_url}  # never on a command line (`ps`)
        for pair in self.options.settings:
            cmd += ["--set", pair]
        return cmd, env

    def _crawl(self, name: str) -> None:
        cmd, env = self._command(name)
        started, t0 = datetime.now(UTC), time.monotonic()
        cwd = Path(__file__).resolve().parent
        with tempfile.TemporaryFile() as output:
            with self._lock:
                if self._stopping:
                    return
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=cwd,
                    start_new_session=True,  # Ctrl-C on the service is the service's to relay
                )
                self._children[name] = proc
            log.debug("crawl of %s started (pid %s)", name, proc.pid)
            reason = None
            try:
                proc.wait(timeout=self.options.crawl_timeout)
            except subprocess.TimeoutExpired:
                reason = f"stopped after its time limit of {human(self.options.crawl_timeout)}"
                log.warning("crawl of %s (pid %s) %s", name, proc.pid, reason)
                proc.terminate()
                try:
                    proc.wait(timeout=self.options.kill_grace)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            finally:
                with self._lock:
                    self._children.pop(name, None)
            output.seek(0)
            tail = output.read()[-4000:].decode("utf-8", "replace").strip().splitlines()
        duration = time.monotonic() - t0
        rc = proc.returncode
        if reason is None and rc < 0:
            reason = f"crawl process killed by {signal.Signals(-rc).name}"
        elif reason is None and rc not in (0, 1):
            reason = f"crawl process exited with status {rc}"
        run = self._settle_run(name, proc.pid, started, reason, tail)
        self._report(name, run, duration, tail)
        alerts.service.after_crawl(self.scheduler, self.engine, run, name)

    def _settle_run(
        self, name: str, pid: int, started: datetime, reason: str | None, tail: list[str]
    ) -> dict[str, Any]:
        """The child's run row; a row the child left running (or never wrote) ends failed."""
        from storage.runs import settle_child_run

        why = reason or "crawl process ended without recording its run"
        if tail and (reason is None or not reason.startswith("stopped")):
            why += f": {tail[-1][:500]}"
        return settle_child_run(self.engine, name, pid, started, why)

    def _report(self, name: str, run: dict[str, Any], duration: float, tail: list[str]) -> None:
        counts = (run.get("counts") or {}).get(name) or {}
        errors = run.get("errors") or []
        next_poll = self._adapt(name)
        line = (
            f"crawl {name} #{run.get('id')} {run.get('status')}: "
            f"{counts.get('new', 0)} new, {counts.get('agreements', 0)} agreement(s), "
            f"{len(errors)} error(s), {duration:.1f}s; next poll {next_poll}"
        )
        if run.get("status") == "failed":
            log.warning("%s; %s", line, errors[-1] if errors else "no reason recorded")
            for text in tail[-15:]:
                log.debug("  %s | %s", name, text)
        else:
            log.info("%s%s", line, f"; first error: {errors[0][:300]}" if errors else "")

    def _adapt(self, name: str) -> str:
        """Reschedule an interval job after a crawl, from what its last polls found."""
        from apscheduler.triggers.interval import IntervalTrigger

        source = self.sources.get(name)
        job = self.scheduler.get_job(JOB_PREFIX + name)
        if source is None or job is None:
            return "none (source removed)"
        if source.schedule:
            return f"{_when(job.next_run_time)} (cron {source.schedule})"
        decision = poll_interval(source_facts(self.engine, name, source.interval))
        length = self.scaled(decision.seconds)
        # the interval runs from the end of this crawl: a long crawl is not followed at once
        trigger = IntervalTrigger(seconds=length, jitter=jitter_for(length), timezone=UTC)
        job = self.scheduler.modify_job(
            job.id,
            kwargs={"reason": decision.reason},
            trigger=trigger,
            next_run_time=trigger.get_next_fire_time(None, datetime.now(UTC)),
        )
        return f"{_when(job.next_run_time)} (every {human(decision.seconds)}: {decision.reason})"

    # -- runs of other processes --

    def _running_elsewhere(self, name: str) -> tuple[int, int] | None:
        """A live crawl of `name` by another process (a manual `veille crawl`, say)."""
        from storage.models import CrawlRun
        from storage.runs import run_alive

        since = datetime.now(UTC) - timedelta(seconds=self.options.crawl_timeout * 2)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CrawlRun.id, CrawlRun.pid, CrawlRun.sources).where(
                    CrawlRun.status == "running", CrawlRun.started_at >= since
                )
            ).all()
            for run_id, pid, sources in rows:
                if name in (sources or []) and run_alive(conn, run_id, pid):
                    return run_id, pid
        return None

    def recover_orphans(self) -> None:
        """Runs left 'running' by a crawl that is gone (power cut, kill -9 of the service)."""
        from storage.runs import recover_orphans

        stale = timedelta(seconds=self.options.crawl_timeout + self.options.kill_grace + 60)
        why = "the crawl process was gone when the service started"
        for run_id, pid in recover_orphans(self.engine, stale, why):
            log.warning("crawl #%s (pid %s) marked failed: %s", run_id, pid, why)


def _scheduler_class() -> type:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.base import STATE_RUNNING

    class Scheduler(BackgroundScheduler):
        """Submits nothing unless running: APScheduler 3 would run one last pass of due jobs
        on shutdown, after its executor is gone, and lose the crawl that was due."""

        def _process_jobs(self) -> float | None:
            if self.state != STATE_RUNNING:
                return None
            return super()._process_jobs()

    return Scheduler


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "paused"
    delta = (moment - datetime.now(UTC)).total_seconds()
    stamp = moment.astimezone(UTC).strftime("%H:%M:%S")
    return f"at {stamp}Z (in {human(max(0.0, delta))})"


def serve(options: ServiceOptions) -> int:
    """`veille serve`: until SIGTERM or SIGINT."""
    return Service(options).run()
