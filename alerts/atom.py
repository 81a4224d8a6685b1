"""Every alert as an Atom feed: entries with stable `tag:` ids from the agreement ids (and
any list of entries, for the web view's other lists)."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class Entry:
    """One Atom entry: a stable id, a title, when, links (attributes of each `<link>`),
    categories and a plain-text summary."""

    id: str
    title: str
    updated: str
    links: list[dict[str, str]] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    summary: str = ""


def agreement_entry(row: dict[str, Any]) -> Entry:
    """An agreement row as an entry: its parties, evidence, amount and every article."""
    title = " / ".join(signatories(row)) or row["evidence"][:80]
    links = [
        {"href": a["url"], "rel": "related", "title": a["title"] or ""} for a in row["articles"]
    ]
    if row["articles"]:
        links.append({"href": row["articles"][0]["url"], "rel": "alternate"})
    lines = [row["evidence"], amount_text(row)]
    lines += [f"{a['source']}: {a['title']}" for a in row["articles"]]
    return Entry(
        id=entry_id(row["id"]),
        title=f"{', '.join(row['types']) or 'accord'}: {title}",
        updated=row["first_seen"],
        links=links,
        categories=row["sectors"],
        summary="\n".join(x for x in lines if x),
    )


def atom_document(
    rows: list[dict[str, Any]], feed_id: str, title: str, empty_updated: datetime | None = None
) -> str:
    """Agreement rows (`veille agreements` contract) as an Atom 1.0 document; `empty_updated`
    is its time when there is no row (else now)."""
    return feed_document(feed_id, title, [agreement_entry(r) for r in rows], empty_updated)


def feed_document(
    feed_id: str, title: str, entries: list[Entry], empty_updated: datetime | None = None
) -> str:
    """Entries as an Atom 1.0 document, updated when its newest entry was."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        child = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        child.text = text
        return child

    add(feed, "id", feed_id)
    add(feed, "title", title)
    updated = max((e.updated for e in entries if e.updated), default=None)
    add(feed, "updated", updated or iso(empty_updated or datetime.now(UTC)))
    add(add(feed, "author"), "name", "veille")
    add(feed, "generator", "veille", version=VERSION)
    for e in entries:
        entry = add(feed, "entry")
        add(entry, "id", e.id)
        add(entry, "title", e.title)
        add(entry, "updated", e.updated)
        add(entry, "published", e.updated)
        for attrs in e.links:
            add(entry, "link", **attrs)
        for term in e.categories:
            add(entry, "category", term=term)
        add(entry, "summary", e.summary, type="text")
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, "unicode") + "\n"
