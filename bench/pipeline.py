"""veille's work on each page (extraction, detection, story fingerprints) next to
trafilatura.extract alone (what bench.bare does with a page), page by page on the same saved
pages, in CPU time: both sides see the same machine load, so their ratio holds on a busy
machine where absolute figures do not.

    python -m bench.pipeline DIR [--pages N] [--rounds 2]

DIR holds pages saved by bench.pages (its urls.tsv). The first round warms up (imports,
compiled rules); the last one is reported, in ms per page.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import trafilatura

from bench.pages import load_pages
from crawler.core import stories
from crawler.core.detection import detect
from crawler.core.extract import decode_html, extract


def fingerprint(title: str, lead: str | None, text: str) -> None:
    """What the store pipeline computes (before issue 18: the two calls, each normalising)."""
    if hasattr(stories, "fingerprints"):
        stories.fingerprints(title, lead, text)
    else:
        stories.content_hash(text)
        stories.signature(title, f"{lead}\n{text}" if lead else text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--pages", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    pages = [(path.read_bytes(), url) for path, url in load_pages(args.dir)[: args.pages]]
    spent: dict[str, float] = {}
    for _ in range(args.rounds):
        spent = dict.fromkeys(("extract", "detect", "fingerprints", "bare_trafilatura"), 0.0)
        for body, url in pages:
            t0 = time.process_time()
            html = decode_html(body)
            page = extract(html, url)
            t1 = time.process_time()
            detect(page.title or "", page.lead or "", page.text, page.language)
            t2 = time.process_time()
            fingerprint(page.title or "", page.lead, page.text)
            t3 = time.process_time()
            trafilatura.extract(html, url=url)
            t4 = time.process_time()
            for key, seconds in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                spent[key] += seconds
    ms = {key: round(1000 * seconds / len(pages), 2) for key, seconds in spent.items()}
    veille = ms["extract"] + ms["detect"] + ms["fingerprints"]
    print(
        json.dumps(
            {
                "pages": len(pages),
                "ms_cpu_per_page": ms,
                "veille_ms": round(veille, 2),
                "veille_over_bare_trafilatura": round(veille / ms["bare_trafilatura"], 3),
                "extract_over_bare_trafilatura": round(ms["extract"] / ms["bare_trafilatura"], 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
