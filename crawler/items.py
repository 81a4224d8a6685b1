"""The item that travels from a fetched article page through the pipelines to storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class ArticleItem:
    """A fetched article page; the pipelines fill in the rest before it is stored."""

    source: str
    feed_id: int | None
    request_url: str  # the address requested, as the listing gave it
    response_url: str  # where the redirects, if any, ended
    html: str | None
    fetched_at: datetime
    feed_title: str | None = None
    feed_date: datetime | None = None
    language_hint: str | None = None
    redirects: list[str] = field(default_factory=list)  # the addresses between the two
    # ExtractPipeline
    url: str = ""
    canonical_hint: str | None = None  # another site's rel=canonical: not the key, a hint
    aliases: set[str] = field(default_factory=set)
    title: str | None = None
    author: str | None = None
    lead: str | None = None
    text: str = ""
    published_at: datetime | None = None
    published_claimed: datetime | None = None  # a date after the fetch, as the page gave it
    language: str | None = None
    # DetectPipeline
    verdict: dict[str, Any] = field(default_factory=dict)
    rules_version: str | None = None
    # StorePipeline
    content_hash: str = ""
    signature: bytes | None = None
