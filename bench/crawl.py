"""Crawl benchmark: `veille crawl` against the loopback benchmark world, next to a bare
Scrapy download-and-extract crawl of the same pages.

    python -m bench.crawl --outlets 5 --articles 200 [--db sqlite|postgresql|URL]
                          [--prefill FILE.sqlite3] [--skip bare,repeat,profile] [--pairs N]

Steps, each crawl a child process measured with os.wait4 (its own CPU time and ru_maxrss):
 1. start bench.server (its own process) and write a sources file for it;
 2. `python -m crawler.cli crawl` on an empty database (or a copy of --prefill): stored
    articles per second (wall and per CPU-second), requests per stored article (counted at
    the server), peak RSS;
 3. the same `veille crawl` again: it must make 0 article requests;
 4. `python -m bench.bare` on the same world: the ratio full / bare; with --pairs N, N - 1
    more (veille on a fresh database, bare) pairs and the median of the N ratios (on a
    machine whose speed drifts from one minute to the next, one pair is not a measure);
 5. `veille crawl` under cProfile on a fresh database: where the time goes.
Both kinds of crawl get the same politeness overrides (see OVERRIDES), which lift veille's
per-site limits so that the benchmark measures work, not waiting.
Writes bench/out/crawl-<N>x<M>-<db>.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.world import World

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
OVERRIDES = {
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "AUTOTHROTTLE_ENABLED": "True",
    "AUTOTHROTTLE_START_DELAY": "0",
    "AUTOTHROTTLE_MAX_DELAY": "0.1",
}

# (label, file suffix, function name): cumulative time of these, from the profile
STAGES = [
    ("extraction (crawler.core.extract.extract)", "crawler/core/extract/__init__.py", "extract"),
    ("detection (crawler.core.detection.detect)", "crawler/core/detection/core.py", "detect"),
    ("dedup: signature (crawler.core.stories.signature)", "crawler/core/stories.py", "signature"),
    ("dedup: content_hash", "crawler/core/stories.py", "content_hash"),
    (
        "dedup: story assignment (CrawlStore._assign_stories)",
        "crawler/db/store.py",
        "_assign_stories",
    ),
    (
        "storage: CrawlStore.flush (all writes, incl. story assignment)",
        "crawler/db/store.py",
        "flush",
    ),
    ("storage: known-URL filter (CrawlStore.claim)", "crawler/db/store.py", "claim"),
    ("listings: feedparser (parse_feed)", "spiders/feeds.py", "parse_feed"),
    ("listings: sitemaps (parse_sitemap)", "spiders/sitemaps.py", "parse_sitemap"),
    ("response.text decoding", "scrapy/http/response/text.py", "text"),
    ("canonicalize (crawler.core.urls)", "crawler/core/urls.py", "canonicalize"),
]


def run_child(cmd: list[str], log: Path) -> dict:
    """Run a child to the end; its wall time, CPU time and peak RSS (os.wait4)."""
    with open(log.with_suffix(".out"), "wb") as out, open(log.with_suffix(".err"), "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "cmd": " ".join(cmd),
        "rc": proc.returncode,
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "user_s": round(usage.ru_utime, 3),
        "sys_s": round(usage.ru_stime, 3),
        "maxrss_mb": round(usage.ru_maxrss / 1024, 1),
        "stdout": log.with_suffix(".out").read_text(errors="replace")[-3000:],
        "stderr_tail": log.with_suffix(".err").read_text(errors="replace")[-1500:],
    }


class Server:
    def __init__(self, outlets: int, articles: int, gzip: bool) -> None:
        cmd = [sys.executable, "-m", "bench.server", "--outlets", str(outlets)]
        cmd += ["--articles", str(articles)] + (["--gzip"] if gzip else [])
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            raise SystemExit(f"server did not start: {line!r}")
        self.port = int(line.split()[1])

    def call(self, what: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/__{what}", timeout=10) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Database:
    """A fresh database for one crawl: a SQLite file (maybe a copy of a prefill) or a PG schema."""

    def __init__(self, kind: str, tag: str, prefill: Path | None) -> None:
        self.kind = kind
        self.tag = tag
        self.prefill = prefill
        if kind == "sqlite":
            self.path = OUT / f"crawl-{tag}.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            self.schema = f"bench_crawl_{tag}".replace("-", "_")
            self.url = f"{PG_BASE}?options=-csearch_path%3D{self.schema}"

    def reset(self) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            if self.prefill:
                shutil.copyfile(self.prefill, self.path)
        else:
            if self.prefill:
                raise SystemExit("--prefill is for SQLite; for PostgreSQL use --pg-prefill-schema")
            with create_engine(PG_BASE).begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
                conn.execute(text(f"CREATE SCHEMA {self.schema}"))
        subprocess.run(
            [sys.executable, "-m", "crawler.cli", "db", "upgrade", "--db", self.url],
            cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip

    def counts(self) -> dict:
        engine = create_engine(self.url)
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT count(*), sum(CASE WHEN is_agreement THEN 1 ELSE 0 END), "
                    "count(DISTINCT story_id) FROM articles"
                )
            ).one()
            failures = conn.execute(text("SELECT count(*) FROM url_failures")).scalar()
        engine.dispose()
        return {
            "articles": row[0],
            "agreements": row[1] or 0,
            "stories": row[2],
            "failures": failures,
        }

    def drop(self) -> None:
        if self.kind == "postgresql":
            with create_engine(PG_BASE).begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))


def veille_cmd(db: Database, sources: Path, profile: Path | None = None) -> list[str]:
    cmd = [sys.executable]
    if profile:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += ["-m", "crawler.cli", "crawl", "--db", db.url, "--sources", str(sources)]
    for k, v in OVERRIDES.items():
        cmd += ["--set", f"{k}={v}"]
    return cmd


def bare_crawl(sources: Path, log: Path) -> tuple[dict, dict]:
    """`python -m bench.bare` of the sources with the same overrides: the run and its counts."""
    cmd = [sys.executable, "-m", "bench.bare", "--sources", str(sources)]
    for k, v in OVERRIDES.items():
        cmd += ["--set", f"{k}={v}"]
    run = run_child(cmd, log)
    try:
        counts = json.loads(run["stdout"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        counts = {"error": run["stdout"][-500:] + run["stderr_tail"]}
    return run, counts


def cpu_per_article(full: dict, stored: int, bare: dict, pages: int) -> float:
    """veille's CPU per stored article over the bare crawl's per extracted page."""
    return round((full["cpu_s"] / max(1, stored)) / (bare["cpu_s"] / max(1, pages)), 3)


def profile_stages(path: Path, articles: int) -> dict:
    """Cumulative time of our stage functions, the reactor's idle time, the top functions."""
    stats = pstats.Stats(str(path))
    table = stats.stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
    total = sum(v[2] for v in table.values())
    out = {"profiled_total_s": round(total, 2), "stages": {}}
    for label, suffix, func in STAGES:
        ct = sum(v[3] for (f, _, fn), v in table.items() if fn == func and f.endswith(suffix))
        calls = sum(v[1] for (f, _, fn), v in table.items() if fn == func and f.endswith(suffix))
        out["stages"][label] = {
            "cum_s": round(ct, 2),
            "share": round(ct / total, 3) if total else 0,
            "calls": calls,
            "ms_per_article": round(1000 * ct / articles, 2) if articles else None,
        }
    idle = sum(
        v[2]
        for (f, _, fn), v in table.items()
        if fn
        in (
            "<method 'poll' of 'select.epoll' objects>",
            "<method 'select' of 'select.epoll' objects>",
        )
        or (f == "~" and "epoll" in fn)
    )
    out["idle_in_selector_s"] = round(idle, 2)
    disjoint = [
        "extract",
        "detect",
        "signature",
        "content_hash",
        "flush",
        "claim",
        "parse_feed",
        "parse_sitemap",
    ]
    ours = sum(out["stages"][label]["cum_s"] for label, _, fn in STAGES if fn in disjoint)
    out["other_s"] = round(total - idle - ours, 2)
    out["other_note"] = (
        "profiled total minus selector idle minus our stages: Scrapy/Twisted (HTTP download "
        "and parsing, scheduler, middlewares, signals), the item pipeline glue, and the "
        "process start (imports, settings, migrations check)"
    )
    top = sorted(table.items(), key=lambda kv: kv[1][2], reverse=True)[:25]
    out["top_tottime"] = [
        {"func": f"{Path(f).name}:{line}:{fn}", "tottime_s": round(v[2], 2), "calls": v[1]}
        for (f, line, fn), v in top
    ]
    return out


def summary_line(run: dict, stored: int) -> dict:
    return {
        "stored": stored,
        "wall_s": run["wall_s"],
        "cpu_s": run["cpu_s"],
        "per_wall_s": round(stored / run["wall_s"], 1) if run["wall_s"] else None,
        "per_cpu_s": round(stored / run["cpu_s"], 1) if run["cpu_s"] else None,
        "maxrss_mb": run["maxrss_mb"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--outlets", type=int, default=5)
    ap.add_argument("--articles", type=int, default=200)
    ap.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    ap.add_argument("--prefill", type=Path, help="SQLite file to copy as the starting database")
    ap.add_argument("--skip", default="", help="comma list of: bare, repeat, profile")
    ap.add_argument("--gzip", action="store_true", help="serve gzip-compressed bodies")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    ap.add_argument("--pairs", type=int, default=1, help="(veille, bare) pairs: the median")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    OUT.mkdir(parents=True, exist_ok=True)
    tag = f"{args.outlets}x{args.articles}-{args.db}" + ("-prefill" if args.prefill else "")
    report: dict = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
        "loadavg_at_start": os.getloadavg(),
        "command": " ".join(["python -m bench.crawl", *sys.argv[1:]]),
        "world": {"outlets": args.outlets, "articles_per_outlet": args.articles},
        "overrides": OVERRIDES,
    }
    server = Server(args.outlets, args.articles, args.gzip)
    db = Database(args.db, tag, args.prefill)
    try:
        world = World(args.outlets, args.articles)
        sources = OUT / f"sources-{tag}.toml"
        sources.write_text(world.sources_toml(server.port), encoding="utf-8")
        expected = args.outlets * args.articles

        # 1. first crawl
        db.reset()
        before = db.counts()
        server.call("reset")
        first = run_child(veille_cmd(db, sources), OUT / f"log-{tag}-first")
        hits = server.call("stats")
        after = db.counts()
        stored = after["articles"] - before["articles"]
        report["first_crawl"] = {
            **summary_line(first, stored),
            "rc": first["rc"],
            "expected_articles": expected,
            "agreements": after["agreements"] - before["agreements"],
            "stories_in_db": after["stories"],
            "url_failures": after["failures"],
            "server": hits,
            "requests_per_stored": round(hits["requests"] / stored, 4) if stored else None,
            "article_requests_per_stored": round(hits["by_kind"].get("article", 0) / stored, 4)
            if stored
            else None,
            "db_before": before,
            "stdout_tail": first["stdout"][-1200:],
            "stderr_tail": first["stderr_tail"][-800:],
        }
        print(json.dumps(report["first_crawl"], indent=1)[:3000], flush=True)

        # 2. repeated crawl
        if "repeat" not in skip:
            server.call("reset")
            again = run_child(veille_cmd(db, sources), OUT / f"log-{tag}-repeat")
            hits2 = server.call("stats")
            report["repeat_crawl"] = {
                "wall_s": again["wall_s"],
                "cpu_s": again["cpu_s"],
                "maxrss_mb": again["maxrss_mb"],
                "rc": again["rc"],
                "server": hits2,
                "article_requests": hits2["by_kind"].get("article", 0),
                "new_articles": db.counts()["articles"] - after["articles"],
            }
            print("repeat:", json.dumps(report["repeat_crawl"]), flush=True)

        # 3. bare crawl
        if "bare" not in skip:
            server.call("reset")
            bare, counts = bare_crawl(sources, OUT / f"log-{tag}-bare")
            hits3 = server.call("stats")
            pages = counts.get("extracted", 0)
            report["bare_crawl"] = {
                **summary_line(bare, pages),
                "rc": bare["rc"],
                "counts": counts,
                "server": hits3,
            }
            f, b = report["first_crawl"], report["bare_crawl"]
            report["ratio_full_over_bare"] = {
                "wall": round(f["wall_s"] / b["wall_s"], 3),
                "cpu": round(f["cpu_s"] / b["cpu_s"], 3),
                "wall_per_article": round(
                    (f["wall_s"] / max(1, f["stored"])) / (b["wall_s"] / max(1, pages)), 3
                ),
                "cpu_per_article": cpu_per_article(first, f["stored"], bare, pages),
            }
            print("bare:", json.dumps(report["bare_crawl"])[:800], flush=True)
            print("ratio:", json.dumps(report["ratio_full_over_bare"]), flush=True)
            ratios = [report["ratio_full_over_bare"]["cpu_per_article"]]
            for n in range(1, args.pairs):
                db.reset()
                start = db.counts()["articles"]
                server.call("reset")
                full = run_child(veille_cmd(db, sources), OUT / f"log-{tag}-pair{n}")
                stored_n = db.counts()["articles"] - start
                server.call("reset")
                bare_n, counts_n = bare_crawl(sources, OUT / f"log-{tag}-pair{n}-bare")
                pages_n = counts_n.get("extracted", 0)
                ratios.append(cpu_per_article(full, stored_n, bare_n, pages_n))
                print(f"pair {n}: veille {full['cpu_s']} CPU-s for {stored_n}, bare "
                      f"{bare_n['cpu_s']} for {pages_n}: {ratios[-1]}", flush=True)  # fmt: skip
            if args.pairs > 1:
                report["pairs"] = {
                    "cpu_per_article": ratios,
                    "median": round(statistics.median(ratios), 3),
                }
                print("pairs:", json.dumps(report["pairs"]), flush=True)

        # 4. profiled crawl on a fresh database
        if "profile" not in skip:
            db.reset()
            base = db.counts()["articles"]
            prof = OUT / f"profile-{tag}.prof"
            server.call("reset")
            run = run_child(veille_cmd(db, sources, prof), OUT / f"log-{tag}-profile")
            n = db.counts()["articles"] - base
            report["profile"] = {
                "wall_s": run["wall_s"],
                "cpu_s": run["cpu_s"],
                "stored": n,
                "file": str(prof.relative_to(ROOT)),
                **profile_stages(prof, n),
            }
            print("profile:", json.dumps(report["profile"], indent=1)[:4000], flush=True)
    finally:
        server.stop()
        if not args.keep:
            db.drop()
    report["loadavg_at_end"] = os.getloadavg()
    path = OUT / f"crawl-{tag}.json"
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"written {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
