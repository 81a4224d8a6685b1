"""`veille extract` of many saved pages in one process, on one core; its start-up; and the
detector's speed on the articles it extracted.

    python -m bench.extract [--pages 1000] [--synthetic 80] [--runs 5]

Steps, each command a child process measured with os.wait4 (its own CPU time) and pinned to
one core (os.sched_setaffinity):
 1. save the mirror's article pages (bench.pages: the dev corpus and --synthetic generated
    articles per site) into bench/out/extract-pages, and take the first --pages;
 2. start-up: `veille --version`, and `veille extract` of one page (--runs times, median);
 3. `veille extract PAGE...` of every page in one process: lines out, wall and CPU seconds;
 4. detection alone on the extracted articles (bench.detection.speed: articles per CPU-s).
Writes bench/out/extract.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.detection import speed
from bench.pages import save_pages

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VEILLE = [sys.executable, "-m", "crawler.cli"]


def one_core() -> None:
    """In the child, before exec: run on the first core this process may use."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def timed(cmd: list[str], stdout: Path | None = None) -> dict:
    """A child on one core to its end: exit status, wall seconds, and its own CPU seconds
    (the resource usage of this process's children, before and after)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(stdout or os.devnull, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=ROOT, stdout=out, stderr=subprocess.PIPE, preexec_fn=one_core, check=False
        )
        wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "rc": proc.returncode,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "stderr": proc.stderr.decode(errors="replace")[-500:],
    }


def median_of(runs: int, cmd: list[str]) -> dict:
    results = [timed(cmd) for _ in range(runs)]
    assert all(r["rc"] == 0 for r in results), results[0]["stderr"]
    return {
        "wall_s": round(statistics.median(r["wall_s"] for r in results), 3),
        "cpu_s": round(statistics.median(r["cpu_s"] for r in results), 3),
        "runs": runs,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--synthetic", type=int, default=80, help="generated articles per site")
    ap.add_argument("--runs", type=int, default=5, help="runs of each start-up measure")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    saved = save_pages(OUT / "extract-pages", synthetic=args.synthetic)[: args.pages]
    if len(saved) < args.pages:
        print(f"only {len(saved)} pages: raise --synthetic", file=sys.stderr)
        return 2
    files = [str(path) for path, _ in saved]
    report: dict = {
        "command": " ".join(["python -m bench.extract", *sys.argv[1:]]),
        "loadavg_at_start": os.getloadavg(),
        "pages": len(files),
        "bytes": sum(path.stat().st_size for path, _ in saved),
        "startup_version": median_of(args.runs, [*VEILLE, "--version"]),
        "startup_extract_one_page": median_of(args.runs, [*VEILLE, "extract", files[0]]),
    }
    lines = OUT / "extract-pages.jsonl"
    many = timed([*VEILLE, "extract", *files], lines)
    pages = [json.loads(line) for line in lines.read_text(encoding="utf-8").splitlines()]
    report["extract_many"] = {
        **{k: many[k] for k in ("rc", "wall_s", "cpu_s")},
        "lines": len(pages),
        "with_text": sum(1 for p in pages if p["text"]),
        "agreements": sum(1 for p in pages if p["is_agreement"]),
        "ms_cpu_per_page": round(1000 * many["cpu_s"] / max(1, len(pages)), 2),
    }
    docs = [
        {
            "title": p["title"] or "",
            "lead": p["lead"] or "",
            "body": [p["text"]],
            "lang": p["language"],
        }
        for p in pages
    ]
    rate, calls = speed(docs)
    report["detection"] = {"articles_per_cpu_s": round(rate), "calls": calls}
    report["loadavg_at_end"] = os.getloadavg()
    (OUT / "extract.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0 if many["rc"] == 0 and len(pages) == len(files) else 1


if __name__ == "__main__":
    sys.exit(main())
