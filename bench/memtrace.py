"""What grows in a crawl's memory (issue 18): one no-delay `veille crawl` of the benchmark
world in this process, under tracemalloc, with snapshots as the stored articles pass marks.

    python -m bench.memtrace --outlets 40 --articles 125 --at 1000 4000 [--frames 8]

Every 2 s: articles stored, resident memory (VmRSS), the heap tracemalloc sees, glibc's
arena in use and SQLite's own allocations (sqlite3_memory_used) to tell Python objects from
native growth. At each mark a snapshot; at the end the growth between the first and the last
mark, by traceback, and the curve, in bench/out/memtrace-<size>.json.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import os
import sqlite3
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.crawl import OUT, OVERRIDES, Database, Server
from bench.world import World


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def native() -> tuple[ctypes.CDLL, ctypes.CDLL | None]:
    """glibc, and the SQLite library the sqlite3 module is linked with."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallinfo2.restype = MallInfo2
    sqlite_lib = None
    for line in Path("/proc/self/maps").read_text().splitlines():
        if "libsqlite3" in line:
            sqlite_lib = ctypes.CDLL(line.split()[-1])
            sqlite_lib.sqlite3_memory_used.restype = ctypes.c_int64
            break
    return libc, sqlite_lib


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def caches() -> dict[str, Any]:
    """The crawl's memoised functions that are sized per entry, by name."""
    from htmldate import extractors, validators

    from crawler.core import organisations, urls
    from crawler.core.detection import text
    from storage import search

    return {
        "canonicalize": urls.canonicalize,
        "site_of": urls._site_of_host,
        "detection.fold_word": text.fold_word,
        "search.fold_word": search.fold_word,
        "fold_name": organisations.fold_name,
        "htmldate.try_date_expr": extractors.try_date_expr,
        "htmldate.filter_ymd_candidate": validators.filter_ymd_candidate,
    }


def watch(db_path: Path, marks: list[int], out: dict, done: threading.Event, trim: bool) -> None:
    """Sample until `done`; a snapshot when the stored articles pass each mark."""
    libc, sqlite_lib = native()
    started = time.monotonic()
    pending = sorted(marks)
    while not done.wait(2.0):
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as conn:
                stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        except sqlite3.Error:
            continue
        if trim:
            libc.malloc_trim(0)
        info = libc.mallinfo2()
        point = {
            "t_s": round(time.monotonic() - started, 1),
            "stored": stored,
            "rss_mb": rss_mb(),
            "traced_mb": round(tracemalloc.get_traced_memory()[0] / 2**20, 1)
            if tracemalloc.is_tracing()
            else None,
            "malloc_in_use_mb": round((info.uordblks + info.hblkhd) / 2**20, 1),
            "malloc_free_mb": round(info.fordblks / 2**20, 1),
            "sqlite_mb": round(sqlite_lib.sqlite3_memory_used() / 2**20, 1) if sqlite_lib else None,
            "gc_objects": len(gc.get_objects()),
            "py_blocks": sys.getallocatedblocks(),
            "caches": {name: f.cache_info().currsize for name, f in caches().items()},
        }
        out["curve"].append(point)
        print(json.dumps(point), flush=True)
        while pending and stored >= pending[0] and tracemalloc.is_tracing():
            out["snapshots"][pending.pop(0)] = tracemalloc.take_snapshot()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--outlets", type=int, default=40)
    ap.add_argument("--articles", type=int, default=125)
    ap.add_argument("--at", type=int, nargs="+", default=[1000, 4000])
    ap.add_argument("--frames", type=int, default=8, help="0: no tracemalloc, native only")
    ap.add_argument("--trim", action="store_true", help="glibc malloc_trim(0) every sample")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    os.environ.setdefault("VEILLE_ALLOW_PRIVATE_ADDRESSES", "1")
    OUT.mkdir(parents=True, exist_ok=True)
    size = f"{args.outlets}x{args.articles}"
    world = World(args.outlets, args.articles)
    server = Server(args.outlets, args.articles, gzip=False)
    db = Database("sqlite", f"memtrace-{size}", None)
    db.reset()
    sources = OUT / f"sources-memtrace-{size}.toml"
    sources.write_text(world.sources_toml(server.port), encoding="utf-8")
    out: dict = {"curve": [], "snapshots": {}}
    done = threading.Event()
    if args.frames:
        tracemalloc.start(args.frames)
    watcher = threading.Thread(
        target=watch, args=(db.path, args.at, out, done, args.trim), daemon=True
    )
    watcher.start()
    from crawler.cli.app import main as veille

    argv = ["crawl", "--db", db.url, "--sources", str(sources), "--quiet"]
    for key, value in OVERRIDES.items():
        argv += ["--set", f"{key}={value}"]
    try:
        rc = veille(argv)
    finally:
        done.set()
        watcher.join()
        server.stop()
    snaps = out["snapshots"]
    report: dict = {"rc": rc, "curve": out["curve"], "growth": []}
    if len(snaps) >= 2:
        first, last = min(snaps), max(snaps)
        diff = snaps[last].compare_to(snaps[first], "traceback")
        print(f"growth from {first} to {last} stored articles, by traceback:")
        for stat in diff[: args.top]:
            lines = stat.traceback.format(limit=args.frames)
            kib = round(stat.size_diff / 1024, 1)
            report["growth"].append({"kib": kib, "count": stat.count_diff, "where": lines})
            print(f"{kib:+10.1f} KiB {stat.count_diff:+7d} blocks")
            for line in lines:
                print("     " + line)
        for key in ("filename", "lineno"):
            report[f"by_{key}"] = [
                str(s) for s in snaps[last].compare_to(snaps[first], key)[: args.top]
            ]
    path = OUT / f"memtrace-{size}.json"
    path.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"written {path}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
