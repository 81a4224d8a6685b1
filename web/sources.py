"""`/sources` (each source's feeds with their health, next poll, articles and agreements of
the last 30 days; `.json`, `.csv`, `.atom`) and `/health`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify, render_template, url_for
from sqlalchemy import text

from alerts.atom import TAG, Entry
from crawler.core.sources import load_sources
from storage.db import error_reason
from storage.jobs import next_polls
from storage.queries import counts_since, feed_health, iso
from web.formats import rows_response
from web.state import state

blueprint = Blueprint("sources", __name__)
RECENT_DAYS = 30


def source_rows() -> list[dict[str, Any]]:
    """One row per source of the sources file: its feeds' health (as `veille sources
    --check` gives it), next poll, and counts of the last 30 days."""
    engine = state().engine
    sources = load_sources(state().sources)
    feeds = feed_health(engine, sources)
    polls = next_polls(engine)
    recent = counts_since(engine, datetime.now(UTC) - timedelta(days=RECENT_DAYS))
    rows = []
    for source in sources:
        own = [f for f in feeds if f["source"] == source.name]
        successes = [f["last_success_at"] for f in own if f["last_success_at"]]
        rows.append(
            {
                "source": source.name,
                "language": source.language,
                "enabled": source.enabled,
                "status": "failing"
                if any(f["status"].startswith("failing") for f in own)
                else (own[0]["status"] if own else "no listing"),
                "last_success_at": max(successes, default=None),
                "failures": max((f["consecutive_failures"] or 0 for f in own), default=0),
                "next_poll": polls.get(source.name, "not scheduled"),
                "articles_30d": recent.get(source.name, (0, 0))[0],
                "agreements_30d": recent.get(source.name, (0, 0))[1],
                "feeds": own,
            }
        )
    return rows


@blueprint.get("/sources")
def sources() -> Any:
    return render_template("sources.html", rows=source_rows(), days=RECENT_DAYS)


@blueprint.get("/sources.<fmt>")
def sources_as(fmt: str) -> Any:
    now = iso(datetime.now(UTC)) or ""
    return rows_response(
        source_rows(),
        fmt,
        name="sources",
        title="veille · sources",
        entry=lambda s: Entry(
            id=f"{TAG}source/{s['source']}",
            title=f"{s['source']}: {s['status']}",
            updated=s["last_success_at"] or now,
            links=[{"href": url_for(".sources", _external=True)}],
            summary=f"{s['failures']} failure(s) in a row; next poll {s['next_poll']}; "
            f"{s['articles_30d']} article(s), {s['agreements_30d']} agreement(s) in "
            f"{RECENT_DAYS} days",
        ),
    )


@blueprint.get("/health")
def health() -> Any:
    try:
        with state().engine.connect() as conn:
            schema = conn.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception as exc:  # whatever stops the database answering is the answer
        reason = error_reason(exc)
        return jsonify(status="unavailable", database=reason), 503
    return jsonify(status="ok", schema=schema, time=iso(datetime.now(UTC)))
