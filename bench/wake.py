"""The same work done back to back and with the process asleep between pages: veille's
extraction and detection of saved pages, in CPU time per page, one round of each kind in
turn. A polite crawl handles its pages apart in time; this measures what sleeping between
them costs the machine, with no crawl, no timer and no I/O around the work.

    python -m bench.wake DIR [--pages 120] [--rounds 8] [--pause 0.07] [--every 5]

DIR holds pages saved by bench.pages (its urls.tsv). Kinds: `in_a_row` (no pause), `apart`
(a pause after every page), `grouped` (a pause of `every` x pause after every `every` pages:
the same idle time, fewer wake-ups). Prints the median of the rounds, in ms per page, and
each kind's ratio to `in_a_row`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from bench.pages import load_pages
from crawler.core.detection import detect
from crawler.core.extract import decode_html, extract


def work(pages: list[tuple[str, str]], pause: float, every: int) -> float:
    """CPU ms per page of extracting and classifying `pages`, asleep `pause` x `every`
    seconds after every `every` pages (no pause when `pause` is 0)."""
    started = time.process_time()
    for n, (html, url) in enumerate(pages, 1):
        page = extract(html, url)
        detect(page.title or "", page.lead or "", page.text, page.language)
        if pause and n % every == 0:
            time.sleep(pause * every)
    return 1000 * (time.process_time() - started) / len(pages)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--pages", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--pause", type=float, default=0.07, help="seconds asleep per page")
    ap.add_argument("--every", type=int, default=5, help="pages per wake-up when grouped")
    args = ap.parse_args()
    pages = [
        (decode_html(path.read_bytes()), url) for path, url in load_pages(args.dir)[: args.pages]
    ]
    kinds = {"in_a_row": (0.0, 1), "apart": (args.pause, 1), "grouped": (args.pause, args.every)}
    work(pages, 0.0, 1)  # warm-up: imports, compiled rules
    spent: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind, (pause, every) in kinds.items():
            spent[kind].append(work(pages, pause, every))
    ms = {kind: round(statistics.median(values), 2) for kind, values in spent.items()}
    print(
        json.dumps(
            {
                "pages": len(pages),
                "rounds": args.rounds,
                "pause_s": args.pause,
                "every": args.every,
                "ms_cpu_per_page_median": ms,
                "over_in_a_row": {k: round(v / ms["in_a_row"], 3) for k, v in ms.items()},
                "ms_cpu_per_page_rounds": {k: [round(x, 2) for x in v] for k, v in spent.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
