"""Every alert as an Atom feed: entries with stable `tag:` ids from the agreement ids."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from alerts.channels import amount_text, signatories
from alerts.core import Alert, filters_of
from crawler.db.agreement_queries import find_agreements
from crawler.settings import VERSION
from storage.queries import iso

ATOM = "http://www.w3.org/2005/Atom"
TAG = "tag:veille,2025:"
ENTRIES = 50


def entry_id(agreement_id: int) -> str:
    """The entry's id: the same agreement keeps it in every feed and every run."""
    return f"{TAG}agreement/{agreement_id}"


def atom_feed(engine: Any, alert: Alert, limit: int = ENTRIES) -> str:
    """The alert's newest matching agreements as an Atom 1.0 document."""
    rows = find_agreements(engine, filters_of(alert), limit)
    return atom_document(
        rows, f"{TAG}alert/{alert.name}", f"veille · {alert.name}", alert.created_at
    )


def atom_document(
    rows: list[dict[str, Any]], feed_id: str, title: str, empty_updated: datetime | None = None
) -> str:
    """Agreement rows (`veille agreements` contract) as an Atom 1.0 document; `empty_updated`
    is its time when there is no row (else now)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        child = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        child.text = text
        return child

    add(feed, "id", feed_id)
    add(feed, "title", title)
    updated = max((r["first_seen"] for r in rows if r["first_seen"]), default=None)
    add(feed, "updated", updated or iso(empty_updated or datetime.now(UTC)))
    add(add(feed, "author"), "name", "veille")
    add(feed, "generator", "veille", version=VERSION)
    for row in rows:
        entry = add(feed, "entry")
        add(entry, "id", entry_id(row["id"]))
        title = " / ".join(signatories(row)) or row["evidence"][:80]
        add(entry, "title", f"{', '.join(row['types']) or 'accord'}: {title}")
        add(entry, "updated", row["first_seen"])
        add(entry, "published", row["first_seen"])
        for article in row["articles"]:
            add(entry, "link", href=article["url"], rel="related", title=article["title"] or "")
        if row["articles"]:
            add(entry, "link", href=row["articles"][0]["url"], rel="alternate")
        for sector in row["sectors"]:
            add(entry, "category", term=sector)
        lines = [row["evidence"], amount_text(row)]
        lines += [f"{a['source']}: {a['title']}" for a in row["articles"]]
        add(entry, "summary", "\n".join(x for x in lines if x), type="text")
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, "unicode") + "\n"
