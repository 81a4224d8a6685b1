"""Cost of a crawl (issue 18): CPU spent waiting, and peak memory against crawl size.

    python -m bench.cost idle --outlets 10 --articles 60 [--runs 2]
    python -m bench.cost memory --outlets 40 --articles 125 500 2500

`idle`: the same `veille crawl` of the benchmark world on fresh databases, once with the
benchmark's lifted politeness (bench.crawl.OVERRIDES: no delay), once with veille's defaults
(DOWNLOAD_DELAY, AutoThrottle, 2 requests per site) and once with those defaults on Scrapy's
own downloader (SCRAPY_DOWNLOADER: its sites' timers not woken together, crawler/downloader.py);
CPU seconds (user + sys of the crawl child, os.wait4) of each, with the requests the server
counted and the rows stored.
`memory`: one no-delay crawl per size (outlets x articles), its peak RSS (ru_maxrss), and
every 15 s the child's resident and peak memory (/proc VmRSS, VmHWM) next to the articles
stored so far: the curve of one crawl, written as it goes to bench/out/cost-curve-<size>.json.
Writes bench/out/cost-<mode>-<outlets>x<sizes>.json and prints one line per crawl.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import threading
import time
from datetime import date
from pathlib import Path

from bench.crawl import OUT, OVERRIDES, Database, Server, run_child
from bench.world import World

SAMPLE_EVERY = 15.0
SCRAPY_DOWNLOADER = {"DOWNLOADER": "scrapy.core.downloader.Downloader"}


def crawl_pid(parent: int) -> int | None:
    """The pid of the `crawler.cli crawl` child of this process, once started."""
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit():
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"crawler.cli" in cmdline and b"crawl" in cmdline:
            return int(entry.name)
    return None


def memory_of(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def sample(db_path: Path, curve: Path, done: threading.Event) -> None:
    """Until `done`: the crawl child's memory and the articles stored, every SAMPLE_EVERY s."""
    samples: list[dict] = []
    started = time.monotonic()
    while not done.wait(SAMPLE_EVERY):
        pid = crawl_pid(os.getpid())
        if pid is None:
            continue
        try:
            memory = memory_of(pid)
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
                stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        except (OSError, sqlite3.Error):
            continue
        samples.append({"t_s": round(time.monotonic() - started), "stored": stored, **memory})
        curve.write_text(json.dumps(samples, indent=0), encoding="utf-8")


def crawl(server: Server, world: World, tag: str, overrides: dict[str, str]) -> dict:
    """One `veille crawl` on a fresh SQLite database: CPU, wall, peak RSS, requests, rows."""
    db = Database("sqlite", tag, None)
    db.reset()
    sources = OUT / f"sources-{tag}.toml"
    sources.write_text(world.sources_toml(server.port), encoding="utf-8")
    cmd = [sys.executable, "-m", "crawler.cli", "crawl", "--db", db.url]
    cmd += ["--sources", str(sources), "--quiet"]
    for key, value in overrides.items():
        cmd += ["--set", f"{key}={value}"]
    server.call("reset")
    done = threading.Event()
    sampler = threading.Thread(
        target=sample, args=(db.path, OUT / f"cost-curve-{tag}.json", done), daemon=True
    )
    sampler.start()
    run = run_child(cmd, OUT / f"log-cost-{tag}")
    done.set()
    sampler.join()
    hits = server.call("stats")
    counts = db.counts()
    return {
        "tag": tag,
        "rc": run["rc"],
        "cpu_s": run["cpu_s"],
        "user_s": run["user_s"],
        "sys_s": run["sys_s"],
        "wall_s": run["wall_s"],
        "maxrss_mb": run["maxrss_mb"],
        "requests": hits["requests"],
        "article_requests": hits["by_kind"].get("article", 0),
        "stored": counts["articles"],
        "failures": counts["failures"],
        "overrides": overrides,
        "stderr_tail": run["stderr_tail"][-600:] if run["rc"] else "",
    }


def show(result: dict) -> None:
    print(
        f"{result['tag']}: rc {result['rc']}, stored {result['stored']}, "
        f"requests {result['requests']}, cpu {result['cpu_s']} s "
        f"(user {result['user_s']}, sys {result['sys_s']}), wall {result['wall_s']} s, "
        f"peak RSS {result['maxrss_mb']} MB",
        flush=True,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("idle", "memory"))
    ap.add_argument("--outlets", type=int, default=10)
    ap.add_argument("--articles", type=int, nargs="+", default=[60])
    ap.add_argument("--runs", type=int, default=1, help="idle: pairs of crawls")
    args = ap.parse_args()
    os.environ.setdefault("VEILLE_ALLOW_PRIVATE_ADDRESSES", "1")  # the world is on loopback
    OUT.mkdir(parents=True, exist_ok=True)
    results = []
    for articles in args.articles:
        world = World(args.outlets, articles)
        server = Server(args.outlets, articles, gzip=False)
        try:
            size = f"{args.outlets}x{articles}"
            if args.mode == "memory":
                results.append(crawl(server, world, f"memory-{size}", OVERRIDES))
                show(results[-1])
                continue
            for run in range(args.runs):
                for label, overrides in (
                    ("nodelay", OVERRIDES),
                    ("polite", {}),
                    ("polite-scrapy-downloader", SCRAPY_DOWNLOADER),
                ):
                    results.append(crawl(server, world, f"idle-{size}-{label}-{run}", overrides))
                    show(results[-1])
        finally:
            server.stop()
    if args.mode == "idle":
        for run in range(args.runs):
            bare, polite, scrapy = results[3 * run : 3 * run + 3]
            print(
                f"run {run}: polite / no-delay CPU = {polite['cpu_s'] / bare['cpu_s']:.3f} "
                f"(on Scrapy's downloader: {scrapy['cpu_s'] / bare['cpu_s']:.3f})"
            )
    report = {
        "date": date.today().isoformat(),
        "command": " ".join(["python -m bench.cost", *sys.argv[1:]]),
        "loadavg_at_end": os.getloadavg(),
        "results": results,
    }
    sizes = "-".join(str(a) for a in args.articles)
    path = OUT / f"cost-{args.mode}-{args.outlets}x{sizes}.json"
    path.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"written {path.relative_to(OUT.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
