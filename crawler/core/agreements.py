"""One agreement across outlets: when two records (from two articles) are the same agreement,
what an agreement says once its records are put together, when it was signed, its value in
dirhams. Pure code: storage fetches the candidates and writes what is decided here.

Two records are the same agreement when they come from different articles, appeared within
MERGE_WINDOW of each other, share signatories (most of the smaller list of organisations),
have compatible types, amounts within 1 % when both give one, and no conflicting signing
dates. Two records of one article are never merged; within one pair of articles each
record goes to its best-fitting partner only (greedy, best fit first), so two agreements
of one ceremony reported by two outlets stay two.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from crawler.core.dates import MOROCCO_TZ, search_moment
from crawler.core.detection.amounts import Amount

RATES_FILE = Path(__file__).resolve().parent / "rules" / "rates.toml"
MERGE_WINDOW = timedelta(days=7)
AMOUNT_TOLERANCE = 0.01
# Types that say little of an agreement's kind: compatible with any other.
GENERIC_TYPES = frozenset(
    {"accord", "convention", "partenariat", "accord-cadre", "convention-cadre", "avenant"}
)
# Types that name one kind in different words (outlets, languages).
TYPE_FAMILIES = (
    frozenset({"convention d'investissement", "accord d'investissement"}),
    frozenset({"protocole d'accord", "mémorandum d'entente"}),
    frozenset({"contrat-programme", "contrat de performance", "pacte"}),
)
_WEEKDAYS = {
    **dict.fromkeys(("lundi", "monday", "الاثنين", "الإثنين"), 0),
    **dict.fromkeys(("mardi", "tuesday", "الثلاثاء"), 1),
    **dict.fromkeys(("mercredi", "wednesday", "الأربعاء", "الاربعاء"), 2),
    **dict.fromkeys(("jeudi", "thursday", "الخميس"), 3),
    **dict.fromkeys(("vendredi", "friday", "الجمعة"), 4),
    **dict.fromkeys(("samedi", "saturday", "السبت"), 5),
    **dict.fromkeys(("dimanche", "sunday", "الأحد", "الاحد"), 6),
}
_YESTERDAY = ("hier", "yesterday", "أمس", "امس")
_WEEKDAY = re.compile(
    r"(?<!\w)(" + "|".join(map(re.escape, [*_WEEKDAYS, *_YESTERDAY])) + r")(?!\w)"
)


@dataclass
class Candidate:
    """An agreement as the merge decision sees it (a stored one, or one made in this batch)."""

    id: int
    organisations: set[int]
    types: list[str]
    amounts: list[Amount]
    first_seen: datetime
    signed_on: date | None = None
    articles: set[int] = field(default_factory=set)


@dataclass
class NewRecord:
    """A record of a new article, its parties resolved to organisation ids."""

    article_id: int
    position: int
    organisations: set[int]
    types: list[str]
    amounts: list[Amount]
    seen: datetime
    signed_on: date | None = None


@lru_cache(maxsize=4)
def rates(path: Path = RATES_FILE) -> dict[str, float]:
    """Dirhams per unit of each currency, from the rates file."""
    return dict(tomllib.loads(path.read_text(encoding="utf-8"))["mad_per_unit"])


def in_mad(amount: Amount) -> float | None:
    """An amount's value in dirhams, or None for a currency without a rate."""
    rate = rates().get(str(amount.get("currency") or "").upper())
    value = amount.get("value")
    return None if rate is None or value is None else float(value) * rate


def largest_in_mad(amounts: list[Amount]) -> float | None:
    """The largest of the amounts, in dirhams (what `--min-amount` compares)."""
    values = [v for a in amounts if (v := in_mad(a)) is not None]
    return round(max(values), 2) if values else None


def same_amount(a: Amount, b: Amount) -> bool:
    """Two amounts within AMOUNT_TOLERANCE of each other, compared in dirhams."""
    x, y = in_mad(a), in_mad(b)
    if x is None or y is None:
        return a.get("currency") == b.get("currency") and a.get("value") == b.get("value")
    return abs(x - y) <= AMOUNT_TOLERANCE * max(abs(x), abs(y))


def compatible_types(a: list[str], b: list[str]) -> bool:
    """Whether two records' types can name one agreement."""
    x, y = set(a), set(b)
    if not x or not y or x & y or x & GENERIC_TYPES or y & GENERIC_TYPES:
        return True
    return any(x & family and y & family for family in TYPE_FAMILIES)


def fit(record: NewRecord, candidate: Candidate) -> float | None:
    """How well a record fits an agreement (higher is better), or None if it cannot be it."""
    if record.article_id in candidate.articles:
        return None
    if abs(record.seen - candidate.first_seen) > MERGE_WINDOW:
        return None
    if record.signed_on and candidate.signed_on and record.signed_on != candidate.signed_on:
        return None
    if not compatible_types(record.types, candidate.types):
        return None
    amounts_match = any(same_amount(a, b) for a in record.amounts for b in candidate.amounts)
    if record.amounts and candidate.amounts and not amounts_match:
        return None
    shared = len(record.organisations & candidate.organisations)
    smaller = min(len(record.organisations), len(candidate.organisations))
    if smaller:
        if 2 * shared < smaller:  # one common ministry is not the same agreement
            return None
    elif not amounts_match:  # no signatories on one side: only the value can tell
        return None
    return 2.0 * shared + 3.0 * amounts_match + bool(set(record.types) & set(candidate.types))


def assign(records: list[NewRecord], candidates: list[Candidate]) -> dict[int, int]:
    """Record position -> candidate id for the records of ONE article that join an existing
    agreement: best fit first, each agreement taken by one record at most."""
    pairs = sorted(
        (
            (score, r.position, c.id)
            for r in records
            for c in candidates
            if (score := fit(r, c)) is not None
        ),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    chosen: dict[int, int] = {}
    taken: set[int] = set()
    for _, position, candidate_id in pairs:
        if position not in chosen and candidate_id not in taken:
            chosen[position] = candidate_id
            taken.add(candidate_id)
    return chosen


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What an agreement says, from its records in order of appearance: the union of their
    types, parties, sectors and amounts, the largest count, the first record's evidence."""

    def union(key: str) -> list[Any]:
        return list(dict.fromkeys(x for r in records for x in r.get(key) or []))

    amounts: list[Amount] = []
    for r in records:
        for a in r.get("amounts") or []:
            if not any(same_amount(a, b) for b in amounts):
                amounts.append(a)
    return {
        "types": union("types"),
        "parties": union("parties"),
        "sectors": union("sectors"),
        "amounts": amounts,
        "count": max((r.get("count") or 1 for r in records), default=1),
        "evidence": records[0].get("evidence") or "" if records else "",
        "amount_mad": largest_in_mad(amounts),
    }


def signed_on(
    evidence: str, lede: str, published: datetime | None, languages: list[str] | None = None
) -> date | None:
    """The signing date the text gives: a full date in the evidence sentence, else a weekday
    or "hier" there or in the lede, counted back from the publication date."""
    moment = search_moment(evidence, languages, max_chars=1000)
    if moment is not None:
        return moment.date()
    if published is None:
        return None
    day = published.astimezone(MOROCCO_TZ).date()
    for text in (evidence, lede):
        if m := _WEEKDAY.search(text.lower()):
            word = m.group(1)
            if word in _YESTERDAY:
                return day - timedelta(days=1)
            return day - timedelta(days=(day.weekday() - _WEEKDAYS[word]) % 7)
    return None
