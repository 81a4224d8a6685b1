"""Rows to the terminal or to machines: table, json, jsonl, csv."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from crawler.cli.tables import clean as clean
from crawler.cli.tables import write_table

FORMATS = ("table", "json", "jsonl", "csv")


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


def write_rows(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    table_columns: Sequence[str],
    out: TextIO | None = None,
    *,
    keys: Sequence[str] = (),
) -> None:
    """Rows in one of FORMATS, to `out` (default: the current standard output); a table
    fits the terminal, never cutting its `keys` columns."""
    out = out or sys.stdout
    if fmt == "json":
        json.dump(list(rows), out, ensure_ascii=False, indent=2)
        out.write("\n")
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        write_csv(rows, out)
    else:
        write_table(rows, table_columns, out, keys)
