"""Rows to the terminal or to machines: table, json, jsonl, csv."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from crawler.cli.tables import clean as clean
from crawler.cli.tables import write_table
from crawler.core.csv_rows import inert as inert
from crawler.core.csv_rows import write_csv

FORMATS = ("table", "json", "jsonl", "csv")


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
