"""A list page's rows as JSON (the CLI's `--format json`), CSV (its `--format csv`) or Atom
(alerts/atom.py), with the next page in a `Link` header."""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Response, abort

from alerts.atom import TAG, atom_document
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
    atom: bool = True,
) -> Response:
    """`rows` in format `fmt` (404 for a format this list has not); `name` names the CSV
    download and the Atom feed's id (`atom`: whether the rows are agreements)."""
    if fmt not in FORMATS or (fmt == "atom" and not atom):
        abort(404, f"no .{fmt} form of this list")
    if fmt == "json":
        body = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    elif fmt == "csv":
        out = io.StringIO()
        write_csv(rows, out)
        body = out.getvalue()
    else:
        body = atom_document(rows, f"{TAG}web/{name}", title)
    response = Response(body, content_type=f"{MIMETYPES[fmt]}; charset=utf-8")
    if fmt == "csv":
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response
