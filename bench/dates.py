"""Publication dates of real pages against hand-checked ones: veille's extraction, and
htmldate alone for reference.

    python -m bench.dates DIR [DIR ...]

Each DIR holds `*.json` files mapping a page's URL to {"file": NAME, "date": "YYYY-MM-DD" or
null}, the pages themselves in DIR or in its subfolders (the layout of htmldate's own
evaluation set, `tests/` of its repository). No URL is given to either extractor (a date in
the URL would be a free answer). A result is a true positive when its day, in the page's own
time zone, is the expected one; a wrong day is a false positive; no date where one is
expected, a false negative (htmldate's evaluation, `tests/evaluation.py`, counts the same).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from crawler.core.dates import MOROCCO_TZ
from crawler.core.extract import decode_html, extract


def pages(dirs: list[Path]) -> list[tuple[str, str | None]]:
    """(html, expected day) of every page listed in the folders' JSON files."""
    found = []
    for folder in dirs:
        files = {p.name: p for p in folder.rglob("*") if p.suffix in (".html", ".htm")}
        for listing in sorted(folder.glob("*.json")):
            for entry in json.loads(listing.read_text(encoding="utf-8")).values():
                path = files.get(entry["file"])
                if path is not None:
                    found.append((decode_html(path.read_bytes()), entry["date"]))
    return found


def veille_day(html: str) -> str | None:
    """The day veille gives a page, in the time zone the page gave (else Morocco's, which is
    what veille takes a date without one to be in)."""
    page = extract(html, "")
    moment = page.published_local or (
        page.published_at and page.published_at.astimezone(MOROCCO_TZ)
    )
    return moment.date().isoformat() if moment else None


def htmldate_day(html: str) -> str | None:
    """What htmldate alone finds (original date, extensive search)."""
    from htmldate import find_date

    return find_date(html, original_date=True, extensive_search=True)


def score(day: Callable[[str], str | None], corpus: list[tuple[str, str | None]]) -> dict:
    """Precision, recall, F1 and speed of one extractor on the corpus."""
    tp = fp = fn = 0
    started = time.process_time()
    for html, expected in corpus:
        got = day(html)
        if got is None:
            fn += expected is not None
        elif got == expected:
            tp += 1
        else:
            fp += 1
    seconds = time.process_time() - started
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "pages": len(corpus),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "ms_per_page": round(1000 * seconds / max(1, len(corpus)), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="folders of pages and JSON listings")
    args = parser.parse_args(argv)
    corpus = pages(args.dirs)
    if not corpus:
        print("no pages found", file=sys.stderr)
        return 2
    for name, day in (("veille", veille_day), ("htmldate", htmldate_day)):
        print(name, json.dumps(score(day, corpus)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
