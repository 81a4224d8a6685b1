"""What the database says of one source's last polls: plain rows for the polling policy
(crawler.core.polling.facts_from decides from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from storage.models import CrawlRun, Feed, Source

FeedRow = tuple[int | None, int | None, datetime | None]
RunRow = tuple[str, list[str] | None, dict[str, Any] | None]  # status, sources, counts


def poll_history(
    engine: Engine, name: str, lookback: int = 200
) -> tuple[list[FeedRow], list[RunRow]]:
    """Per feed of `name`: consecutive failures, poll hint, Retry-After expiry; and the last
    `lookback` crawl runs that ended (status, sources, counts), newest first."""
    with engine.connect() as conn:
        feeds = conn.execute(
            select(Feed.consecutive_failures, Feed.poll_hint_seconds, Feed.retry_after_at)
            .join(Source, Source.id == Feed.source_id)
            .where(Source.name == name)
        ).all()
        runs = conn.execute(
            select(CrawlRun.status, CrawlRun.sources, CrawlRun.counts)
            .where(CrawlRun.status != "running")
            .order_by(CrawlRun.id.desc())
            .limit(lookback)
        ).all()
    return [tuple(f) for f in feeds], [tuple(r) for r in runs]  # type: ignore[misc]
