"""Facet groups for a list page: each value with its count among the matches and the link
that adds it to (or takes it off) the filters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import request

from crawler.db.agreement_pages import TOP, Facets
from web.filters import is_active, link

AMOUNTS = (  # (label, min, max) in dirhams
    ("< 10 MDH", None, 1e7),
    ("10–100 MDH", 1e7, 1e8),
    ("100 MDH – 1 Md", 1e8, 1e9),
    ("≥ 1 Md DH", 1e9, None),
)
SCORES = (0.9, 0.7, 0.5)
PERIODS = (("last 7 days", "7d"), ("last 30 days", "30d"), ("last 365 days", "365d"))


@dataclass
class Value:
    label: str
    count: int | None
    url: str
    active: bool


@dataclass
class Group:
    title: str
    values: list[Value]


def _toggle(key: str, value: str, label: str, count: int | None) -> Value:
    changes: dict[str, Any] = {key: (value,)}
    return Value(label, count, link(**changes), is_active(key, value))


def _range(lo: float | None, hi: float | None) -> tuple[str, str]:
    return ("" if lo is None else f"{lo:g}", "" if hi is None else f"{hi:g}")


def groups(f: Facets) -> list[Group]:
    """The facet groups, values most frequent first."""
    sectors = Counter(s for r in f.rows for s in r[1] or [])
    types = Counter(t for r in f.rows for t in r[2] or [])
    amounts = Counter(
        next((a for a, lo, hi in AMOUNTS if (lo or 0) <= r[3] < (hi or float("inf"))), None)
        for r in f.rows
        if r[3] is not None
    )
    out = [
        Group("Sector", [_toggle("sector", s, s, n) for s, n in sectors.most_common(TOP)]),
        Group("Type", [_toggle("type", t, t, n) for t, n in types.most_common(TOP)]),
        Group("Organisation", [_toggle("org", str(i), name, n) for i, name, n in f.organisations]),
        Group("Source", [_toggle("source", s, s, n) for s, n in f.sources]),
        Group("Language", [_toggle("lang", lang, lang, n) for lang, n in f.languages]),
    ]
    amount_values = []
    for label, lo, hi in AMOUNTS:
        low, high = _range(lo, hi)
        active = (request.args.get("min_amount") or "", request.args.get("max_amount") or "") == (
            low,
            high,
        )
        url = link(min_amount=None, max_amount=None)
        if not active:
            url = link(min_amount=low or None, max_amount=high or None)
        amount_values.append(Value(label, amounts.get(label, 0), url, active))
    out.append(Group("Amount", amount_values))
    out.append(
        Group(
            "Score",
            [
                Value(
                    f"≥ {s:g}",
                    sum(1 for r in f.rows if r[4] is not None and r[4] >= s),
                    link(min_score=None if is_active("min_score", f"{s:g}") else f"{s:g}"),
                    is_active("min_score", f"{s:g}"),
                )
                for s in SCORES
            ],
        )
    )
    out.append(
        Group(
            "First seen",
            [
                Value(
                    label,
                    None,
                    link(since=None if is_active("since", v) else v, drop=("until",)),
                    is_active("since", v),
                )
                for label, v in PERIODS
            ],
        )
    )
    return [g for g in out if g.values]
