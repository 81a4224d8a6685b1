"""Rows to the terminal or to machines: table, json, jsonl, csv."""

from __future__ import annotations

import csv
import json
import shutil
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

FORMATS = ("table", "json", "jsonl", "csv")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return "; ".join(str(v.get("text") or v) for v in value)
        return "; ".join(str(v) for v in value)
    return str(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    if _width(text) <= width:
        return text + " " * (width - _width(text))
    out = ""
    for ch in text:
        if _width(out + ch) > width - 1:
            break
        out += ch
    return out + "…" + " " * (width - 1 - _width(out))


def write_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """Aligned columns; the last column takes what is left of the terminal."""
    if not rows:
        out.write("(nothing matches)\n")
        return
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(_width(c), *(_width(row[i]) for row in cells)) for i, c in enumerate(columns)]
    total = shutil.get_terminal_size((120, 20)).columns
    widths[-1] = max(20, min(widths[-1], total - sum(widths[:-1]) - 2 * (len(columns) - 1)))
    out.write("  ".join(_fit(c, w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n")
    for row in cells:
        out.write("  ".join(_fit(c, w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "; ".join(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


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
) -> None:
    """Rows in one of FORMATS, to `out` (default: the current standard output)."""
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
        write_table(rows, table_columns, out)
