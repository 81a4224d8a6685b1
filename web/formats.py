"""A list page's rows as JSON (the CLI's `--format json`), CSV (its `--format csv`) or Atom
(alerts/atom.py), with the next page in a `Link` header."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from flask import Response, abort

from alerts.atom import TAG, Entry, agreement_entry, feed_document
from crawler.core.csv_rows import write_csv

FORMATS = ("json", "csv", "atom")
MIMETYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "atom": "application/atom+xml",
}


def rows_response(
    rows: list[dict[str, Any]],
    fmt: str,
    *,
    name: str,
    title: str,
    next_url: str | None = None,
    entry: Callable[[dict[str, Any]], Entry] = agreement_entry,
) -> Response:
    """`rows` in format `fmt` (404 for another); `name` names the CSV download and the Atom
    feed's id, `entry` makes a row an Atom entry (rows are agreements unless it says)."""
    if fmt not in FORMATS:
        abort(404, f"no .{fmt} form of this list")
    if fmt == "json":
        body = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "csv":
        out = io.StringIO()
        write_csv(rows, out)
        body = out.getvalue()
    else:
        body = feed_document(f"{TAG}web/{name}", title, [entry(r) for r in rows])
    response = Response(body, content_type=f"{MIMETYPES[fmt]}; charset=utf-8")
    if fmt == "csv":
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response
