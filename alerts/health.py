"""Silence is news too: sources that stopped publishing for longer than usual, or that
failed every poll for a day (from the feeds table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from statistics import median
from typing import Any

from sqlalchemy import Connection, func, select

from storage.models import Article, Feed, Source
from storage.queries import iso

FAILING_FOR = timedelta(days=1)
SILENCE_FACTOR = 4  # silent for this many usual gaps between articles...
MIN_SILENCE = timedelta(days=1)  # ...and at least this long
GAPS_SEEN = 50


def usual_gap(conn: Connection, source_id: int) -> timedelta | None:
    """The median time between the source's last articles (by fetch time)."""
    times = sorted(
        conn.scalars(
            select(Article.fetched_at)
            .where(Article.source_id == source_id)
            .order_by(Article.fetched_at.desc())
            .limit(GAPS_SEEN)
        )
    )
    gaps = [b - a for a, b in pairwise(times)]
    return median(gaps) if gaps else None


def health_items(
    conn: Connection, now: datetime | None = None
) -> list[tuple[str, None, dict[str, Any]]]:
    """One item per source problem episode: the key changes only when the source recovers
    and fails again, so each episode is sent once."""
    now = now or datetime.now(UTC)
    items = []
    rows = conn.execute(
        select(
            Source.id,
            Source.name,
            func.max(Feed.last_new_item_at),
            func.max(Feed.last_success_at),
            func.min(Feed.consecutive_failures),
        )
        .join(Feed, Feed.source_id == Source.id)
        .group_by(Source.id, Source.name)
        .order_by(Source.name)
    ).all()
    for source_id, name, last_new, last_success, failures in rows:
        last_new = last_new.replace(tzinfo=UTC) if last_new and not last_new.tzinfo else last_new
        last_success = (
            last_success.replace(tzinfo=UTC)
            if last_success and not last_success.tzinfo
            else last_success
        )
        if failures and last_success is not None and now - last_success >= FAILING_FOR:
            since = iso(last_success)
            problem = f"every poll failed since {since} ({failures} in a row)"
            items.append((f"health:{name}:failing:{since}", None, _facts(name, problem)))
            continue
        gap = usual_gap(conn, source_id)
        if last_new and gap is not None:
            limit = max(gap * SILENCE_FACTOR, MIN_SILENCE)
            if now - last_new > limit:
                problem = (
                    f"nothing new since {iso(last_new)} (usually every "
                    f"{gap.total_seconds() / 3600:.1f} h)"
                )
                items.append((f"health:{name}:silent:{iso(last_new)}", None, _facts(name, problem)))
    return items


def _facts(name: str, problem: str) -> dict[str, Any]:
    return {"source": name, "problem": problem}
