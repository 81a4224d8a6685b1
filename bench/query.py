"""Query benchmark: `veille query` on a generated database of N articles.

    python -m bench.query --articles 1000000 --db sqlite|postgresql [--runs 20]

Builds (or reuses) the database with bench.gendb, then times the database part of
`veille query` — storage.queries.find_articles / find_stories with the Filters the CLI builds
and the table format's limit of 20 — p50 and p95 over --runs runs after 2 warm-up runs, for:
  search      --search WORD (and a rare and a very common word)
  agreements  --agreements --since 30d
  source      --source NAME
  stories     --stories
and one full CLI invocation of each for reference (process start included). Every SQL
statement a query sends is captured and EXPLAINed (SQLite: EXPLAIN QUERY PLAN;
PostgreSQL: EXPLAIN (ANALYZE, BUFFERS)), into bench/out/query-<N>-<db>.json / .explain.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import event

from bench.gendb import build
from crawler.cli import parse_when
from storage.db import open_database
from storage.queries import Filters, find_articles, find_stories

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

QUERIES = [
    # name, CLI arguments, filters factory, stories?
    ("search", ["--search", "usine"], lambda: Filters(search="usine"), False),
    ("search-rare", ["--search", "hydrogène"], lambda: Filters(search="hydrogène"), False),
    ("search-common", ["--search", "maroc"], lambda: Filters(search="maroc"), False),
    ("agreements-30d", ["--agreements", "--since", "30d"],
     lambda: Filters(agreements=True, since=parse_when("30d")), False),
    ("source", ["--source", "le360"], lambda: Filters(sources=["le360"]), False),
    ("stories", ["--stories"], lambda: Filters(), True),
]  # fmt: skip


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def explain(engine, captured: list[tuple[str, object]]) -> list[str]:
    out = []
    with engine.connect() as conn:
        for sql, params in captured:
            if engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
                plan = "\n".join(f"{r[0]:>3} {r[1]:>3} {r[3]}" for r in rows)
            else:
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).all()
                plan = "\n".join(r[0] for r in rows)
            out.append(f"-- SQL:\n{sql}\n-- params: {params!r}\n-- plan:\n{plan}\n")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--only", help="comma list of query names")
    args = ap.parse_args()
    t0 = time.perf_counter()
    built = build(args.db, args.articles)
    built["build_or_open_s"] = round(time.perf_counter() - t0, 1)
    url = built["url"]
    try:  # as `veille query` opens it (the signature has changed over time)
        engine = open_database(url, readonly=True)
    except TypeError:
        engine = open_database(url)
    captured: list[tuple[str, object]] = []
    capturing = [False]

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        if capturing[0] and not statement.lstrip().upper().startswith(
            ("BEGIN", "PRAGMA", "EXPLAIN")
        ):
            captured.append((statement, parameters))

    wanted = set(args.only.split(",")) if args.only else None
    results = {}
    plans: list[str] = []
    for name, cli_args, make_filters, stories in QUERIES:
        if wanted and name not in wanted:
            continue
        times = []
        rows = 0
        for i in range(args.runs + 2):
            f = make_filters()
            captured.clear()
            capturing[0] = i == 0
            t = time.perf_counter()
            result = find_stories(engine, f, 20) if stories else find_articles(engine, f, 20)
            dt = time.perf_counter() - t
            capturing[0] = False
            if i == 0:
                plans.append(f"==== {name}: veille query {' '.join(cli_args)}\n")
                plans += explain(engine, captured)
                statements = len(captured)
            if i >= 2:
                times.append(dt * 1000)
            rows = len(result)
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "query", "--db", url, *cli_args],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        cli = time.perf_counter() - t
        results[name] = {
            "cli": "veille query " + " ".join(cli_args),
            "rows": rows,
            "statements": statements,
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(pct(times, 0.95), 1),
            "max_ms": round(max(times), 1),
            "full_cli_s": round(cli, 2),
            "cli_rc": proc.returncode,
            "cli_lines": len(proc.stdout.splitlines()),
        }
        print(name, json.dumps(results[name]), flush=True)
    tag = f"{args.articles}-{args.db}"
    report = {
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "loadavg_at_start": os.getloadavg(),
        "command": " ".join(["python -m bench.query", *sys.argv[1:]]),
        "database": built,
        "runs": args.runs,
        "targets_ms": {"p50": 50, "p95": 200},
        "results": results,
        "loadavg_at_end": os.getloadavg(),
    }
    (OUT / f"query-{tag}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    (OUT / f"query-{tag}.explain.txt").write_text("\n".join(plans))
    print(f"written bench/out/query-{tag}.json and .explain.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
