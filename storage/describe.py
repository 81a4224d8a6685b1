"""What each table and column holds, as Datasette metadata (`veille db describe`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Column, make_url

from storage.db import normalize_url
from storage.models import Base

UTC_NOTE = "UTC (stored without an offset: every time veille writes is in UTC)"
TABLES = {
    "articles": "One article per canonical URL, with the detector's verdict.",
    "sources": "The outlets, as last seen in the sources file.",
    "feeds": "Each feed or news sitemap of a source, with its HTTP validators and health.",
    "article_aliases": "Other canonical URLs under which a stored article was seen.",
    "story_bands": "The story index: one MinHash LSH band key per article.",
    "url_failures": "Article URLs that could not be stored, retried on later runs unless gone.",
    "crawl_runs": "One row per crawl: when, which sources, how it ended, per-source counts.",
    "feedback": "Analysts' marks on verdicts (`veille feedback`); an article's newest decides.",
}
COLUMNS = {
    "articles": {
        "url": "canonical URL (the unique key)",
        "source_id": "the outlet (sources.id)",
        "language": "fr, ar or en, as detected",
        "is_agreement": "1 when the article reports an industrial agreement",
        "score": "the detector's confidence, 0..1",
        "agreement_types": "JSON array of agreement types",
        "sectors": "JSON array of sectors (`veille sectors` lists the vocabulary)",
        "parties": "JSON array of the parties named",
        "amounts": "JSON array of {value, currency, text}",
        "evidence": "JSON array of the sentences that decided the verdict",
        "story_id": "articles reporting the same story share it",
        "search_text": "title, lead and text folded for full-text search (articles_fts)",
        "published_at": f"publication time, {UTC_NOTE}",
        "fetched_at": f"fetch time, {UTC_NOTE}",
        "verdict_by": "who decided is_agreement and the records: rules, or analyst (feedback)",
    },
    "feedback": {
        "correct": "1 when the analyst found the rules' verdict right, 0 when wrong",
        "by": "who marked it",
        "at": f"when, {UTC_NOTE}",
        "parties": "JSON array: the corrected record's signatories (null: not corrected)",
        "sector": "the corrected record's sector (null: not corrected)",
        "rules_is_agreement": "what the rules had said when the article was first marked",
        "rules_version": "the rules that had said it",
    },
}


def _column_notes(table: str, column: Column[Any]) -> str:
    notes = COLUMNS.get(table, {})
    if column.name in notes:
        return notes[column.name]
    if column.name.endswith("_at"):
        return UTC_NOTE
    return str(column.comment or "")


def database_name(url: str) -> str:
    """The name Datasette gives a SQLite file: its name without the extension."""
    parsed = make_url(normalize_url(url))
    return Path(parsed.database or "veille").stem


def datasette_metadata(url: str) -> dict[str, Any]:
    """metadata.json for `datasette FILE -m metadata.json`: every table and column described,
    full-text search and facets on language, source and sectors set up."""
    tables: dict[str, Any] = {}
    for name, table in Base.metadata.tables.items():
        tables[name] = {
            "description": TABLES.get(name, ""),
            "columns": {c.name: _column_notes(name, c) for c in table.columns},
        }
    tables["articles"].update(
        {
            "fts_table": "articles_fts",
            "fts_pk": "id",
            "facets": ["language", "source_id", "is_agreement", {"array": "sectors"}],
            "sort_desc": "published_at",
            "label_column": "title",
        }
    )
    tables["sources"]["label_column"] = "name"
    tables["articles_fts"] = {"hidden": True}
    return {
        "title": "veille: Moroccan business news, watched for industrial agreements",
        "description": f"Every time is in {UTC_NOTE}.",
        "databases": {database_name(url): {"tables": tables}},
    }
