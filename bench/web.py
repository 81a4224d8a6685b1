"""Web view benchmark (issue 17): the real pages of web.app at 100,000+ articles and
100,000 agreements, p50 / p95 per page.

    python -m bench.web --db sqlite|postgresql --articles 100000 --agreements 100000 --runs 10

Builds (or reuses) the database with bench.gendb (--articles, --agreements), then GETs each
page through web.app.create_app's Flask test client (the app opens the database read-only
itself; queries, rendering and serialisation included, no HTTP server), status 200 required.
The sources file is bench/out/web-sources.toml, one source per outlet stored in the database
(feeds on loopback, never fetched), so that /sources and the source filters see them.
p50 and p95 over --runs runs after one warm-up; ID pages draw another ID each run. Wall
time, and this process's CPU time (on SQLite the queries run in it: a figure the load of a
shared machine inflates less; on PostgreSQL it leaves out the server's). Results in
bench/out/web-<db>[-<label>].json, and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from bench.gendb import build
from storage.db import open_database
from storage.models import Agreement, AgreementParty, Article, Source
from web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

URLS = [
    "/agreements", "/agreements?sector=automobile", "/agreements?type=contrat-programme",
    "/agreements?party=ONCF", "/agreements?party=Kamo+Industries+Maroc",
    "/agreements?source=le360", "/agreements?lang=ar", "/agreements?min_amount=1000000000",
    "/agreements?since=30d", "/agreements?min_score=0.95", "/agreements?q=usine",
    "/agreements?q=hydrog%C3%A8ne", "/agreements?sector=automobile&since=30d",
    "/agreements.json", "/agreements.csv", "/agreements.atom", "/organisations", "/sources",
    "/health",
]  # fmt: skip


def pct(values: list[float], q: float) -> float:
    """The q quantile of values (nearest rank)."""
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def sources_file(engine: Engine) -> Path:
    """A sources file naming every source stored in the database (loopback feeds)."""
    with engine.connect() as conn:
        stored = conn.execute(select(Source.name, Source.language).order_by(Source.id)).all()
    path = OUT / "web-sources.toml"
    path.write_text(
        "".join(
            f'[[source]]\nname = "{name}"\nlanguage = "{lang or "fr"}"\n'
            f'feeds = ["http://127.0.0.1:9/{name}.xml"]\n\n'
            for name, lang in stored
        )
    )
    return path


def app_pages(url: str, engine: Engine, rng: random.Random) -> dict[str, Callable[[], int]]:
    """Page name -> a GET of that page through the web app's test client (status 200
    required), with IDs drawn from rng."""
    client = create_app(url, sources=str(sources_file(engine))).test_client()

    def get(path: str) -> int:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return len(response.data)

    with engine.connect() as conn:
        n_agreements = conn.scalar(select(func.max(Agreement.id))) or 0
        n_articles = conn.scalar(select(func.max(Article.id))) or 0
        orgs = list(
            conn.execute(
                select(AgreementParty.organisation_id)
                .group_by(AgreementParty.organisation_id)
                .order_by(func.count().desc())
            ).scalars()
        )
    out: dict[str, Callable[[], int]] = {u: (lambda u=u: get(u)) for u in URLS}
    out["/agreements/ID"] = lambda: get(f"/agreements/{rng.randint(1, n_agreements)}")
    out["/organisations/ID (top 10)"] = lambda: get(f"/organisations/{rng.choice(orgs[:10])}")
    out["/organisations/ID (any)"] = lambda: get(f"/organisations/{rng.choice(orgs)}")
    out["/articles/ID"] = lambda: get(f"/articles/{rng.randint(1, n_articles)}")
    return out


def measure(call: Callable[[], int], runs: int) -> dict[str, Any]:
    """Wall and CPU p50 / p95 / max of `runs` calls after one warm-up."""
    times, cpu, size = [], [], 0
    for i in range(runs + 1):
        t, c = time.perf_counter(), time.process_time()
        size = call()
        if i:
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return {
        "bytes": size,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(pct(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),
        "cpu_p95_ms": round(pct(cpu, 0.95), 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--agreements", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--label", default="", help="suffix of the JSON file (before, after...)")
    ap.add_argument("--only", help="comma list of page names")
    args = ap.parse_args()
    built = build(args.db, args.articles, agreements=args.agreements)
    engine = open_database(built["url"], readonly=True)
    rng = random.Random(17)
    wanted = set(args.only.split(",")) if args.only else None
    results: dict[str, Any] = {}
    print("| page | p50 ms | p95 ms | max ms | CPU p50 | CPU p95 |", flush=True)
    print("| --- | ---: | ---: | ---: | ---: | ---: |", flush=True)
    for name, call in app_pages(built["url"], engine, rng).items():
        if wanted and name not in wanted:
            continue
        r = results[name] = measure(call, args.runs)
        print(
            f"| {name} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} "
            f"| {r['cpu_p50_ms']} | {r['cpu_p95_ms']} |",
            flush=True,
        )
    report = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "load": os.getloadavg(),
        "db": args.db,
        "built": built,
        "runs": args.runs,
        "pages": results,
    }
    suffix = f"-{args.label}" if args.label else ""
    path = OUT / f"web-{args.db}{suffix}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"written {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
