"""Read side of feedback: how right the rules were on what analysts marked (`veille feedback
stats`), and the marked articles as labelled corpus documents (`veille feedback export`, the
format of ../shared/corpus/GUIDELINE.md). Reads only: nothing here writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from storage.db import chunks
from storage.models import AgreementRecord, Article, Feedback
from storage.queries import iso

MOROCCO = ZoneInfo("Africa/Casablanca")  # the corpus gives publication times in Morocco time
GROUPS = ("all", "language", "rules_version")
DOCUMENT = (  # what a corpus document is made of
    Article.id,
    Article.url,
    Article.language,
    Article.title,
    Article.lead,
    Article.text,
    Article.author,
    Article.published_at,
    Article.fetched_at,
    Article.story_id,
    Article.is_agreement,
)


def newest_marks(conn: Connection) -> dict[int, Any]:
    """The mark that decides each marked article: its newest."""
    newest: dict[int, Any] = {}
    for mark in conn.execute(
        select(Feedback.__table__).order_by(Feedback.article_id, Feedback.at, Feedback.id)
    ):
        newest[mark.article_id] = mark
    return newest


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def feedback_stats(engine: Engine) -> list[dict[str, Any]]:
    """The rules judged by the analysts' newest marks: of the articles the rules called
    agreements, how many were marked correct (precision); of those the rules let pass, how
    many analysts called agreements (missed), hence recall where anything is known. One row
    for all marks, then one per language and per rules version."""
    with engine.connect() as conn:
        marks = list(newest_marks(conn).values())
    counts: dict[tuple[str, str], dict[str, int]] = {("all", "all"): {}}
    for mark in marks:
        for group, value in (
            ("all", "all"),
            ("language", mark.language or "unknown"),
            ("rules_version", mark.rules_version or "unknown"),
        ):
            c = counts.setdefault((group, value), {})
            said = "yes" if mark.rules_is_agreement else "no"
            key = f"{said}_{'correct' if mark.correct else 'wrong'}"
            c["marked"] = c.get("marked", 0) + 1
            c[key] = c.get(key, 0) + 1
    rows = []
    for (group, value), c in sorted(
        counts.items(), key=lambda kv: (GROUPS.index(kv[0][0]), kv[0][1])
    ):
        confirmed, false_alarms = c.get("yes_correct", 0), c.get("yes_wrong", 0)
        missed, rejected = c.get("no_wrong", 0), c.get("no_correct", 0)
        rows.append(
            {
                "group": group,
                "value": value,
                "marked": c.get("marked", 0),
                "rules_yes": confirmed + false_alarms,
                "confirmed": confirmed,
                "precision": _ratio(confirmed, confirmed + false_alarms),
                "rules_no": missed + rejected,
                "missed": missed,
                "recall": _ratio(confirmed, confirmed + missed),
            }
        )
    return rows


def _union(records: list[Any], name: str) -> list[Any]:
    out: list[Any] = []
    for record in records:
        out += [v for v in getattr(record, name) or [] if v not in out]
    return out


def _published(article: Any) -> str:
    when: datetime = article.published_at or article.fetched_at
    return when.astimezone(MOROCCO).isoformat()


def corpus_document(article: Any, records: list[Any], mark: Any) -> dict[str, Any]:
    """A marked article as a labelled corpus document, labelled by the analyst: the verdict
    the newest mark decided and the article's records (as corrected)."""
    address = urlsplit(article.url)
    host = (address.hostname or "").removeprefix("www.")
    rules_right = mark.correct
    said = "an agreement" if mark.rules_is_agreement else "not an agreement"
    why = mark.note or (
        f"{mark.by} {'confirmed' if rules_right else 'corrected'} the rules ({said}) on "
        f"{mark.at.date().isoformat()}"
    )
    return {
        "id": f"dfb{article.id:06d}",
        "lang": article.language,
        "site": host,
        "section": next((p for p in address.path.split("/") if p), ""),
        "title": article.title or "",
        "lead": article.lead or "",
        "body": [p.strip() for p in (article.text or "").split("\n") if p.strip()],
        "author": article.author or "",
        "published": _published(article),
        "story": f"story-{article.story_id}" if article.story_id else f"article-{article.id}",
        "variant_of": None,
        "label": {
            "is_agreement": bool(article.is_agreement),
            "why": why,
            "agreement_types": _union(records, "types"),
            "sectors": _union(records, "sectors"),
            "parties": _union(records, "parties"),
            "amounts": _union(records, "amounts"),
            "agreements": [
                {
                    "types": r.types or [],
                    "parties": r.parties or [],
                    "sectors": r.sectors or [],
                    "amounts": r.amounts or [],
                    "count": r.count,
                    "evidence": r.evidence,
                }
                for r in records
            ],
        },
        "difficulty": "easy" if rules_right else "hard",
        "feedback": {
            "article_id": article.id,
            "url": article.url,
            "by": mark.by,
            "at": iso(mark.at),
            "correct": mark.correct,
            "rules_is_agreement": mark.rules_is_agreement,
            "rules_version": mark.rules_version,
        },
    }


def labelled_documents(engine: Engine) -> Iterator[dict[str, Any]]:
    """Every marked article as a labelled corpus document, in article order."""
    with engine.connect() as conn:
        marks = newest_marks(conn)
        for part in chunks(sorted(marks)):
            records: dict[int, list[Any]] = {i: [] for i in part}
            for r in conn.execute(
                select(AgreementRecord.__table__)
                .where(AgreementRecord.article_id.in_(part))
                .order_by(AgreementRecord.article_id, AgreementRecord.position)
            ):
                records[r.article_id].append(r)
            for article in conn.execute(
                select(*DOCUMENT).where(Article.id.in_(part)).order_by(Article.id)
            ):
                yield corpus_document(article, records[article.id], marks[article.id])
