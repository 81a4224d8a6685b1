"""Rows as CSV, safe for a spreadsheet: lists joined, nested values as JSON, formulas inert
(the CLI's `--format csv` and the web view's `.csv` pages)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a quote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        value = "; ".join(value)
    elif isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return inert(value) if isinstance(value, str) else value


def write_csv(rows: Sequence[dict[str, Any]], out: TextIO) -> None:
    """CSV with a header; lists joined by '; ', amounts and nested values as JSON."""
    if not rows:
        return
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
