"""The alerts tables, on the same declarative Base as storage.models (migration 0008)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, JsonList, UtcDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class Alert(Base):
    """A saved alert: the filters of `veille agreements`, a schedule, a watermark."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    filters: Mapped[dict[str, Any]] = mapped_column(JsonList, default=dict)
    schedule: Mapped[str] = mapped_column(String(64), default="instant")
    tz: Mapped[str] = mapped_column(String(64), default="Africa/Casablanca")
    secret: Mapped[str | None] = mapped_column(Text)
    source_health: Mapped[bool] = mapped_column(Boolean, default=False)
    # agreements with an id at most this one existed before the alert (0 with --backfill)
    watermark: Mapped[int] = mapped_column(Integer, default=0)
    # how far matching has looked: agreements and records with larger ids are new to it
    scanned_agreement: Mapped[int] = mapped_column(Integer, default=0)
    scanned_record: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=_now)
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AlertChannel(Base):
    """Where an alert is delivered: a webhook URL, an e-mail address or an Apprise URL."""

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook | email | notify
    target: Mapped[str] = mapped_column(Text)


class AlertOutbox(Base):
    """One item due on one channel: delivered_at is set only once the channel accepted it."""

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("alert_channels.id", ondelete="CASCADE"), index=True
    )
    # "agreement:<id>" or "health:<source>:<since>": one delivery per channel and item
    item: Mapped[str] = mapped_column(String(300))
    agreement_id: Mapped[int | None] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE")
    )
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonList)  # a health item's facts
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=_now)
    claim: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    failed: Mapped[bool] = mapped_column(Boolean, default=False)  # gave up: attempts ran out
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ux_alert_outbox_item", "channel_id", "item", unique=True),
        Index("ix_alert_outbox_pending", "delivered_at", "next_attempt_at"),
        Index("ix_alert_outbox_agreement", "agreement_id", "channel_id"),
    )
