"""Memory and CPU of `veille serve` itself (its crawls run in child processes).

    python -m bench.service [--crawls 100] [--idle 60]

1. Serves the test world (tests/world.py) on loopback and runs `veille serve` on it with
   every interval shrunk (`--interval-scale 0.001`, so "1m" polls every second and even a
   backed-off source comes back within a minute), until the service has run --crawls crawls;
   samples the service's resident memory (VmRSS) after 5 and after --crawls crawls, and its
   own CPU time (children excluded) over the run.
2. Runs an idle service (sources scheduled once a year by cron) for --idle seconds and
   measures its CPU time: the scheduler's own overhead.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from storage.db import open_database
from storage.models import CrawlRun
from tests import world
from tests.server import FixtureServer

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--set", "DOWNLOAD_DELAY=0", "--set", "AUTOTHROTTLE_START_DELAY=0"]
TICKS = os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process itself (not of its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def start(db: str, sources: Path, log: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "crawler.cli", "serve", "--db", db, "--sources", str(sources)]
    return subprocess.Popen(
        [*cmd, *FAST, *extra],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
    )


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=120)


def crawls(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(CrawlRun)) or 0


def busy(work: Path, target: int) -> dict[str, float]:
    server = FixtureServer().start()
    world.build(server)
    sources = world.sources_file(work, server.base, 'interval = "1m"\n' + world.SOURCES_TOML)
    db = f"sqlite:///{work / 'busy.sqlite3'}"
    engine = open_database(db)
    proc = start(db, sources, work / "busy.log", "--interval-scale", "0.001", "--run-now")
    t0 = time.monotonic()
    result: dict[str, float] = {}
    try:
        while crawls(engine) < 5:
            time.sleep(0.2)
        result["rss_5_kb"] = rss_kb(proc.pid)
        cpu5, t5 = cpu_seconds(proc.pid), time.monotonic()
        while (n := crawls(engine)) < target:
            if proc.poll() is not None:
                raise RuntimeError(f"service exited: {(work / 'busy.log').read_text()[-2000:]}")
            time.sleep(0.5)
        result["rss_n_kb"] = rss_kb(proc.pid)
        result["crawls"] = n
        result["cpu_per_crawl_ms"] = 1000 * (cpu_seconds(proc.pid) - cpu5) / (n - 5)
        result["wall_s"] = time.monotonic() - t0
        result["crawl_rate_per_min"] = 60 * (n - 5) / (time.monotonic() - t5)
    finally:
        result["exit"] = stop(proc)
        server.stop()
    with engine.connect() as conn:
        statuses = conn.execute(select(CrawlRun.status, func.count()).group_by(CrawlRun.status))
        result["statuses"] = dict(statuses.all())  # type: ignore[assignment]
    return result


def idle(work: Path, seconds: float) -> dict[str, float]:
    sources = work / "idle.toml"
    sources.write_text(
        'schedule = "0 3 1 1 *"\n'
        + "".join(
            f'[[source]]\nname = "s{i}"\nfeeds = ["http://127.0.0.1:9/feed{i}"]\n'
            for i in range(20)
        ),
        encoding="utf-8",
    )
    db = f"sqlite:///{work / 'idle.sqlite3'}"
    open_database(db)
    proc = start(db, sources, work / "idle.log")
    try:
        time.sleep(5)  # past start-up
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        used, wall = cpu_seconds(proc.pid) - cpu0, time.monotonic() - t0
        return {"idle_cpu_pct": 100 * used / wall, "idle_s": wall, "rss_kb": rss_kb(proc.pid)}
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crawls", type=int, default=100)
    parser.add_argument("--idle", type=float, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        b = busy(work, args.crawls)
        growth = 100 * (b["rss_n_kb"] - b["rss_5_kb"]) / b["rss_5_kb"]
        print(
            f"busy: {b['crawls']:.0f} crawls in {b['wall_s']:.0f}s "
            f"({b['crawl_rate_per_min']:.0f}/min), statuses {b['statuses']}, exit {b['exit']:.0f}"
        )
        print(
            f"service RSS after 5 crawls: {b['rss_5_kb'] / 1024:.1f} MB; after "
            f"{b['crawls']:.0f}: {b['rss_n_kb'] / 1024:.1f} MB ({growth:+.1f} %)"
        )
        print(f"service CPU per crawl (children excluded): {b['cpu_per_crawl_ms']:.0f} ms")
        i = idle(work, args.idle)
        print(
            f"idle (20 sources, no crawl due): {i['idle_cpu_pct']:.3f} % of a core over "
            f"{i['idle_s']:.0f}s, RSS {i['rss_kb'] / 1024:.1f} MB"
        )


if __name__ == "__main__":
    main()
