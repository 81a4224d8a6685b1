"""How every time veille prints is written: ISO 8601 in UTC with a Z (no database code, so
that `veille extract` does not load SQLAlchemy for it)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(value: datetime) -> datetime:
    """The moment in UTC; a naive time is taken as UTC already (as the database stores it)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z."""
    return None if value is None else utc(value).isoformat().replace("+00:00", "Z")
