"""Dates as people type them in filters, checked: shared by the command line and the web
view (sectors: crawler.db.agreement_queries.sector_named)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from crawler.core.common import as_utc

RELATIVE = re.compile(r"^(\d+)\s*([hdw])$")
MAX_HOURS_AGO = 100 * 8766


class FilterValueError(ValueError):
    """A filter value that means nothing, said in one line."""


def parse_when(value: str, *, end_of_day: bool = False) -> datetime:
    """'2025-11-03', an ISO datetime, or '24h' / '7d' / '2w' ago; UTC."""
    value = value.strip()
    if m := RELATIVE.match(value):
        hours = {"h": 1, "d": 24, "w": 168}[m.group(2)] * int(m.group(1))
        if hours > MAX_HOURS_AGO:
            raise FilterValueError(
                f"{value!r} is too far back (at most {MAX_HOURS_AGO // 8766} years)"
            )
        return datetime.now(UTC) - timedelta(hours=hours)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError) as exc:
        raise FilterValueError(
            f"{value!r} is not a date (use 2025-11-03, an ISO time, or 7d)"
        ) from exc
    if len(value) == 10 and end_of_day and parsed.date() < date.max:
        parsed = datetime.combine(parsed.date() + timedelta(days=1), time())
    return as_utc(parsed)
