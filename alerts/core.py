"""Saved alerts and their outbox: matching new agreements, claiming what is due,
delivering it through the channels and marking it only once a channel accepted it."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, union, update

from alerts.models import Alert, AlertChannel, AlertOutbox
from alerts.schedule import parse_schedule
from crawler.db.agreement_queries import AgreementFilters, agreement_rows, agreements_statement
from storage.db import dialect_insert, writing
from storage.models import Agreement, AgreementRecord

MAX_ATTEMPTS = 8  # then the delivery is given up, and reported as failed
BACKOFF_CEILING = 6 * 3600
CHANNEL_KINDS = ("webhook", "email", "notify")


class AlertError(Exception):
    """An alert that cannot be added, found or run as asked."""


def retry_base() -> float:
    """Seconds before the first retry (doubled per attempt): `VEILLE_ALERT_RETRY_SECONDS`."""
    return float(os.environ.get("VEILLE_ALERT_RETRY_SECONDS", "60"))


def backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th try a delivery is tried again."""
    return timedelta(seconds=min(retry_base() * 2 ** max(attempts - 1, 0), BACKOFF_CEILING))


def filters_of(alert: Alert) -> AgreementFilters:
    """The stored filters as `veille agreements` takes them."""
    return AgreementFilters(**(alert.filters or {}))


def item_key(agreement_id: int) -> str:
    return f"agreement:{agreement_id}"


# -- the saved alerts ---------------------------------------------------------------------


@dataclass
class NewAlert:
    """What `veille alerts add` asks for."""

    name: str
    filters: dict[str, Any] = field(default_factory=dict)
    schedule: str = "instant"
    tz: str = "Africa/Casablanca"
    channels: list[tuple[str, str]] = field(default_factory=list)  # (kind, target)
    secret: str | None = None
    backfill: bool = False
    source_health: bool = False


def add_alert(engine: Engine, new: NewAlert) -> Alert:
    """Store an alert; without backfill, agreements already stored are never sent."""
    schedule = parse_schedule(new.schedule, new.tz)
    if not new.channels:
        raise AlertError("an alert needs a channel: --webhook URL, --email ADDRESS or --notify URL")
    with writing(engine) as conn:
        if conn.scalar(select(Alert.id).where(Alert.name == new.name)) is not None:
            raise AlertError(f"an alert named {new.name!r} exists already (alerts remove it first)")
        watermark, record = (0, 0) if new.backfill else _newest(conn)
        alert_id = conn.execute(
            Alert.__table__.insert().values(
                name=new.name,
                filters=new.filters,
                schedule=schedule.spec,
                tz=schedule.tz,
                secret=new.secret,
                source_health=new.source_health,
                watermark=watermark,
                scanned_agreement=watermark,
                scanned_record=record,
                created_at=datetime.now(UTC),
            )
        ).inserted_primary_key[0]
        for kind, target in dict.fromkeys(new.channels):
            conn.execute(
                AlertChannel.__table__.insert().values(alert_id=alert_id, kind=kind, target=target)
            )
    return get_alert(engine, new.name)


def get_alert(engine: Engine, name: str) -> Alert:
    """The alert by name, or AlertError."""
    with engine.connect() as conn:
        return _alert(conn, name)


def _alert(conn: Connection, name: str) -> Alert:
    row = conn.execute(select(Alert.__table__).where(Alert.name == name)).one_or_none()
    if row is None:
        raise AlertError(f"no alert named {name!r} (`veille alerts list` shows them)")
    return Alert(**row._mapping)


def channels_of(conn: Connection, alert_id: int) -> list[AlertChannel]:
    rows = conn.execute(
        select(AlertChannel.__table__)
        .where(AlertChannel.alert_id == alert_id)
        .order_by(AlertChannel.id)
    )
    return [AlertChannel(**r._mapping) for r in rows]


def remove_alert(engine: Engine, name: str) -> None:
    """Forget an alert, its channels and its outbox."""
    with writing(engine) as conn:
        alert = _alert(conn, name)
        channel_ids = select(AlertChannel.id).where(AlertChannel.alert_id == alert.id)
        conn.execute(delete(AlertOutbox).where(AlertOutbox.channel_id.in_(channel_ids)))
        conn.execute(delete(AlertChannel).where(AlertChannel.alert_id == alert.id))
        conn.execute(delete(Alert).where(Alert.id == alert.id))


def all_alerts(engine: Engine) -> list[Alert]:
    with engine.connect() as conn:
        return [Alert(**r._mapping) for r in conn.execute(select(Alert.__table__).order_by("name"))]


def list_alerts(engine: Engine) -> list[dict[str, Any]]:
    """Every alert with its channels and deliveries: pending, delivered, failed (the last
    error of each failing channel)."""
    out = []
    with engine.connect() as conn:
        for alert in [Alert(**r._mapping) for r in conn.execute(select(Alert.__table__))]:
            channels = []
            for ch in channels_of(conn, alert.id):
                counts = _outbox_counts(conn, [ch.id])
                error = conn.scalar(
                    select(AlertOutbox.last_error)
                    .where(AlertOutbox.channel_id == ch.id, AlertOutbox.delivered_at.is_(None))
                    .where(AlertOutbox.last_error.is_not(None))
                    .order_by(AlertOutbox.id.desc())
                    .limit(1)
                )
                channels.append({"kind": ch.kind, "target": ch.target, **counts, "error": error})
            out.append(
                {
                    "name": alert.name,
                    "schedule": alert.schedule,
                    "tz": alert.tz,
                    "filters": alert.filters,
                    "source_health": alert.source_health,
                    "channels": channels,
                    "pending": sum(c["pending"] for c in channels),
                    "delivered": sum(c["delivered"] for c in channels),
                    "failed": sum(c["failed"] for c in channels),
                    "retrying": sum(c["retrying"] for c in channels),
                    "last_run_at": alert.last_run_at.isoformat() if alert.last_run_at else None,
                }
            )
    return sorted(out, key=lambda r: r["name"])


def _outbox_counts(conn: Connection, channel_ids: list[int]) -> dict[str, int]:
    o = AlertOutbox
    row = conn.execute(
        select(
            func.count().filter(o.delivered_at.is_not(None)),
            func.count().filter(o.delivered_at.is_(None), o.failed.is_(False)),
            func.count().filter(o.delivered_at.is_(None), o.failed.is_(True)),
            func.count().filter(o.delivered_at.is_(None), o.attempts > 0, o.failed.is_(False)),
        ).where(o.channel_id.in_(channel_ids or [-1]))
    ).one()
    return dict(zip(("delivered", "pending", "failed", "retrying"), row, strict=True))


def delivery_problems(engine: Engine) -> dict[str, int]:
    """Deliveries given up and deliveries being retried, over every alert (`veille status`)."""
    with engine.connect() as conn:
        counts = _outbox_counts(conn, list(conn.scalars(select(AlertChannel.id))))
    return {"failed": counts["failed"], "retrying": counts["retrying"]}


# -- matching -------------------------------------------------------------------------------


def _newest(conn: Connection) -> tuple[int, int]:
    """The largest agreement id and agreement record id stored."""
    agreement = conn.scalar(select(func.max(Agreement.id))) or 0
    return agreement, conn.scalar(select(func.max(AgreementRecord.id))) or 0


def new_matches(conn: Connection, alert: Alert, limit: int | None = None) -> list[int]:
    """Agreements matching the alert that are newer than it (unless backfilled) and not in its
    outbox yet: the same agreement reported by three outlets is one agreement, one id. Only
    agreements new since the last scan, or with a new record (another outlet, a reclassify),
    are looked at: matching after a crawl costs what the crawl added."""
    touched = Agreement.id.in_(  # a small set, looked up by primary key
        union(
            select(Agreement.id).where(Agreement.id > alert.scanned_agreement),
            select(AgreementRecord.agreement_id).where(AgreementRecord.id > alert.scanned_record),
        )
    )
    channels = select(AlertChannel.id).where(AlertChannel.alert_id == alert.id)
    queued = select(AlertOutbox.agreement_id).where(  # uncorrelated: hashed once
        AlertOutbox.channel_id.in_(channels), AlertOutbox.agreement_id.is_not(None)
    )
    statement = (
        agreements_statement(conn, filters_of(alert), limit)
        .with_only_columns(Agreement.id)
        .where(Agreement.id > alert.watermark, touched, Agreement.id.not_in(queued))
    )
    return list(conn.scalars(statement))


def queue(conn: Connection, alert: Alert, items: list[tuple[str, int | None, Any]]) -> int:
    """Put items (key, agreement id, payload) in the outbox of every channel of the alert;
    an item already there stays as it is (a unique key: concurrent runs cannot double it)."""
    channels = channels_of(conn, alert.id)
    if not items or not channels:
        return 0
    now = datetime.now(UTC)
    values = [
        {
            "channel_id": ch.id,
            "item": key,
            "agreement_id": agreement_id,
            "payload": payload,
            "created_at": now,
            "attempts": 0,
            "next_attempt_at": now,
            "failed": False,
        }
        for ch in channels
        for key, agreement_id, payload in items
    ]
    statement = (
        dialect_insert(conn, AlertOutbox)
        .on_conflict_do_nothing(index_elements=["channel_id", "item"])
        .returning(AlertOutbox.id)
    )
    return len(conn.execute(statement, values).all())


def match(engine: Engine, alert: Alert) -> int:
    """Queue what newly matches the alert; how many items were queued."""
    with writing(engine) as conn:
        if alert.source_health:
            from alerts.health import health_items

            items = health_items(conn)
        else:
            newest = _newest(conn)
            items = [(item_key(i), i, None) for i in new_matches(conn, alert)]
            conn.execute(
                update(Alert)
                .where(Alert.id == alert.id)
                .values(scanned_agreement=newest[0], scanned_record=newest[1])
            )
        return queue(conn, alert, items)


# -- delivery -------------------------------------------------------------------------------


@dataclass
class Delivery:
    """What one channel is sent in one go: an alert's name and its items."""

    alert: str
    agreements: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    sent_at: datetime
    secret: str | None = None


def claim(engine: Engine, channel_id: int, now: datetime) -> tuple[str, list[Any]]:
    """Take the channel's due items for this run: a concurrent run sees them as not due
    (their next attempt is pushed back) until this one marks or fails them."""
    token = uuid.uuid4().hex
    o = AlertOutbox
    due = and_(
        o.channel_id == channel_id,
        o.delivered_at.is_(None),
        o.failed.is_(False),
        o.next_attempt_at <= now,
    )
    with writing(engine) as conn:
        attempts = conn.scalar(select(func.max(o.attempts)).where(due))
        if attempts is None:
            return token, []
        conn.execute(
            update(o)
            .where(due)
            .values(
                claim=token, attempts=o.attempts + 1, next_attempt_at=now + backoff(attempts + 1)
            )
        )
        rows = conn.execute(select(o.__table__).where(o.claim == token).order_by(o.id)).all()
    return token, rows


def settle(engine: Engine, token: str, error: str | None, now: datetime) -> None:
    """Mark the claimed items delivered, or record why not (given up after MAX_ATTEMPTS)."""
    o = AlertOutbox
    with writing(engine) as conn:
        if error is None:
            conn.execute(
                update(o).where(o.claim == token).values(delivered_at=now, last_error=None)
            )
        else:
            conn.execute(
                update(o)
                .where(o.claim == token)
                .values(last_error=error[:2000], failed=o.attempts >= MAX_ATTEMPTS)
            )


def delivery_for(engine: Engine, alert: Alert, rows: list[Any], now: datetime) -> Delivery:
    """The agreements (as `veille agreements` rows, in order of first sight) and health items."""
    with engine.connect() as conn:
        ids = [r.agreement_id for r in rows if r.agreement_id is not None]
        found = conn.execute(
            select(Agreement).where(Agreement.id.in_(ids or [-1])).order_by(Agreement.first_seen)
        ).all()
        agreements = agreement_rows(conn, found)
    sources = [r.payload for r in rows if r.agreement_id is None and r.payload]
    return Delivery(alert.name, agreements, sources, now, alert.secret)


def deliver(engine: Engine, alert: Alert) -> list[dict[str, Any]]:
    """Send each channel what is due on it; per channel: items sent, or the error."""
    from alerts.channels import send

    report = []
    with engine.connect() as conn:
        channels = channels_of(conn, alert.id)
    for ch in channels:
        now = datetime.now(UTC)
        token, rows = claim(engine, ch.id, now)
        if not rows:
            continue
        error = None
        try:
            send(ch.kind, ch.target, delivery_for(engine, alert, rows, now))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        settle(engine, token, error, datetime.now(UTC))
        report.append({"alert": alert.name, "channel": ch.kind, "items": len(rows), "error": error})
    return report


def is_due(alert: Alert, now: datetime) -> bool:
    """Instant alerts are always due; a digest when one of its times passed since its last
    run (a digest missed while nothing ran is due once, not once per missed time)."""
    schedule = parse_schedule(alert.schedule, alert.tz)
    if schedule.instant:
        return True
    tick = schedule.last_tick(now)
    return tick > (alert.last_run_at or alert.created_at)


def run_alert(engine: Engine, alert: Alert, force: bool = False) -> list[dict[str, Any]]:
    """Match and deliver the alert if it is due (or `force`); retries are delivered anyway."""
    now = datetime.now(UTC)
    if force or is_due(alert, now):
        match(engine, alert)
        with writing(engine) as conn:
            conn.execute(update(Alert).where(Alert.id == alert.id).values(last_run_at=now))
    return deliver(engine, alert)


def run_alerts(
    engine: Engine, name: str | None = None, instant_only: bool = False
) -> list[dict[str, Any]]:
    """`veille alerts run [NAME]`: every alert (or one) delivers what is due now."""
    alerts = [get_alert(engine, name)] if name else all_alerts(engine)
    report = []
    for alert in alerts:
        if instant_only and alert.schedule != "instant":
            continue
        report += run_alert(engine, alert)
    return report


def pending_preview(engine: Engine, alert: Alert) -> dict[str, Any]:
    """What the alert would send now, without writing: queued items not delivered yet and
    agreements that newly match."""
    with engine.connect() as conn:
        channel_ids = [c.id for c in channels_of(conn, alert.id)]
        queued = set(
            conn.scalars(
                select(AlertOutbox.agreement_id).where(
                    AlertOutbox.channel_id.in_(channel_ids or [-1]),
                    AlertOutbox.delivered_at.is_(None),
                    or_(AlertOutbox.failed.is_(False), AlertOutbox.failed.is_(None)),
                    AlertOutbox.agreement_id.is_not(None),
                )
            )
        )
        ids = queued | set(new_matches(conn, alert)) if not alert.source_health else set()
        found = conn.execute(
            select(Agreement).where(Agreement.id.in_(ids or [-1])).order_by(Agreement.first_seen)
        ).all()
        agreements = agreement_rows(conn, found)
        sources: list[dict[str, Any]] = []
        if alert.source_health:
            from alerts.health import health_items

            sources = [p for _, _, p in health_items(conn)]
    return {"alert": alert.name, "agreements": agreements, "sources": sources}
