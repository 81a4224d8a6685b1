"""The query string of a list page read into the filters `veille agreements` takes
(crawler.db.agreement_queries.AgreementFilters), and links that change one filter."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import request
from werkzeug.datastructures import MultiDict

from crawler.core.common import LANGUAGES
from crawler.core.filter_values import FilterValueError, parse_when
from crawler.db.agreement_queries import AgreementFilters, sector_named

PAGE = 50
MAX_LIMIT = 500
REPEATABLE = ("sector", "type", "org", "party", "source", "lang")
SINGLE = ("q", "since", "until", "min_amount", "max_amount", "min_score", "before", "limit")


@dataclass
class ListQuery:
    """A list page's filters, its cursor (the last agreement of the previous page) and size."""

    filters: AgreementFilters
    before: int | None
    limit: int


def _number(name: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise FilterValueError(f"{name}={value!r} is not a number") from None
    if not low <= number <= high or math.isnan(number):
        raise FilterValueError(f"{name}={value} is not between {low:g} and {high:g}")
    return number


def _whole(name: str, value: str, high: int) -> int:
    if not value.isdigit() or not 1 <= int(value) <= high:
        raise FilterValueError(f"{name}={value!r} is not a whole number from 1 to {high}")
    return int(value)


def _sector(value: str) -> str:
    found = sector_named(value)
    if found is None:
        raise FilterValueError(f"sector={value!r} is not a sector (see `veille sectors`)")
    return found


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise FilterValueError(f"lang={value!r}: languages are {', '.join(LANGUAGES)}")
    return value


def parse_list_query(args: MultiDict[str, str]) -> ListQuery:
    """The filters in `args` (blank values ignored), FilterValueError on a bad one."""
    unknown = sorted(set(args) - {*REPEATABLE, *SINGLE})
    if unknown:
        raise FilterValueError(f"unknown filter {unknown[0]!r}")
    many = {k: [v.strip() for v in args.getlist(k) if v.strip()] for k in REPEATABLE}
    one = {k: (args.get(k) or "").strip() for k in SINGLE}
    try:
        since = parse_when(one["since"]) if one["since"] else None
        until = parse_when(one["until"], end_of_day=True) if one["until"] else None
    except FilterValueError as exc:
        raise FilterValueError(f"since/until: {exc}") from None
    filters = AgreementFilters(
        since=since,
        until=until,
        parties=many["party"],
        organisations=[_whole("org", v, 2**62) for v in many["org"]],
        sectors=[_sector(v) for v in many["sector"]],
        types=many["type"],
        min_amount=_number("min_amount", one["min_amount"], 0, 1e15) if one["min_amount"] else None,
        max_amount=_number("max_amount", one["max_amount"], 0, 1e15) if one["max_amount"] else None,
        min_score=_number("min_score", one["min_score"], 0, 1) if one["min_score"] else None,
        languages=[_language(v) for v in many["lang"]],
        sources=many["source"],
        search=one["q"] or None,
    )
    return ListQuery(
        filters=filters,
        before=_whole("before", one["before"], 2**62) if one["before"] else None,
        limit=_whole("limit", one["limit"], MAX_LIMIT) if one["limit"] else PAGE,
    )


def link(path: str | None = None, *, drop: tuple[str, ...] = (), **changes: Any) -> str:
    """The current page's URL (or `path`) with its query string changed: `key=value` sets
    (None removes); a `(value,)` tuple toggles one value of a repeatable filter; the cursor
    is dropped unless set, so a changed filter starts again at the first page."""
    args = MultiDict(request.args)
    args.poplist("before")
    for key in drop:
        args.poplist(key)
    for key, value in changes.items():
        if isinstance(value, tuple):
            values = args.getlist(key)
            args.setlist(
                key,
                [v for v in values if v != value[0]] if value[0] in values else [*values, value[0]],
            )
        elif value is None:
            args.poplist(key)
        else:
            args.setlist(key, [str(value)])
    query = urlencode([(k, v) for k, v in args.items(multi=True) if v != ""])
    return (path or request.path) + ("?" + query if query else "")


def is_active(key: str, value: Any) -> bool:
    """Whether the current query string has this filter value."""
    return str(value) in request.args.getlist(key)
