"""Analysts' feedback applied to the database: each mark is stored with what the rules had
said, and the newest mark decides the article's verdict and its agreement records (the
analyst wins over the rules: reclassify and crawls leave them be).

A mark says whether the rules' verdict was right: `correct` keeps it, a wrong one flips it.
An agreement article marked wrong stops being one and its records go; a non-agreement
marked wrong becomes one, with a record. Parties and a sector correct one record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from crawler.core.detection import detect
from crawler.db.agreement_queries import sector_named
from crawler.db.agreements import forget_records, reported_row, store_records
from storage.db import writing
from storage.models import ANALYST, Agreement, AgreementRecord, Article, Feedback

RECORD_FIELDS = ("types", "parties", "sectors", "amounts", "count", "evidence")


class FeedbackError(ValueError):
    """A mark that cannot be applied: an unknown article, agreement or sector, or an
    ambiguous record (a one-line message)."""


@dataclass(frozen=True)
class FeedbackMark:
    """One analyst's mark, as stored."""

    id: int
    article_id: int
    agreement_id: int | None
    correct: bool
    by: str
    at: datetime
    note: str | None
    parties: list[str] | None
    sector: str | None


def _mark(row: Any) -> FeedbackMark:
    return FeedbackMark(
        row.id,
        row.article_id,
        row.agreement_id,
        row.correct,
        row.by,
        row.at,
        row.note,
        row.parties,
        row.sector,
    )


def feedback_for_article(
    engine_or_connection: Engine | Connection, article_id: int
) -> list[FeedbackMark]:
    """Every mark of an article, newest first (the first one decides)."""
    statement = (
        select(Feedback.__table__)
        .where(Feedback.article_id == article_id)
        .order_by(Feedback.at.desc(), Feedback.id.desc())
    )
    if isinstance(engine_or_connection, Connection):
        return [_mark(r) for r in engine_or_connection.execute(statement)]
    with engine_or_connection.connect() as conn:
        return [_mark(r) for r in conn.execute(statement)]


ARTICLE = (
    Article.id,
    Article.title,
    Article.lead,
    Article.text,
    Article.language,
    Article.published_at,
    Article.fetched_at,
    Article.is_agreement,
    Article.score,
    Article.rules_version,
    Article.verdict_by,
)


def _rules_said(conn: Connection, row: Any) -> tuple[bool, str | None]:
    """The rules' verdict and version: the article's own until an analyst marked it, then
    what the first mark recorded (the analyst's verdict is stored in its place)."""
    if row.verdict_by == ANALYST:
        said = conn.execute(
            select(Feedback.rules_is_agreement, Feedback.rules_version)
            .where(Feedback.article_id == row.id)
            .order_by(Feedback.id)
            .limit(1)
        ).first()
        if said is not None:
            return bool(said[0]), said[1]
    return bool(row.is_agreement), row.rules_version


def _records(conn: Connection, article_id: int) -> list[dict[str, Any]]:
    """The article's records, in order, with the agreement each belongs to."""
    table = AgreementRecord.__table__
    return [
        {"agreement_id": r.agreement_id, **{f: getattr(r, f) for f in RECORD_FIELDS}}
        for r in conn.execute(
            select(table).where(table.c.article_id == article_id).order_by(table.c.position)
        )
    ]


def _detected(row: Any) -> list[dict[str, Any]]:
    """The records an article reports, for an article that had none: what detection finds,
    else one record from the verdict's fields (the rules said no; the analyst says yes)."""
    verdict = detect(row.title or "", row.lead or "", row.text or "", row.language)
    if verdict.is_agreement and verdict.agreements:
        return [{f: r.get(f) for f in RECORD_FIELDS} for r in verdict.agreements]
    return [
        {
            "types": verdict.agreement_types,
            "parties": verdict.parties,
            "sectors": verdict.sectors,
            "amounts": verdict.amounts,
            "count": 1,
            "evidence": verdict.evidence[0] if verdict.evidence else (row.title or ""),
        }
    ]


def _chosen(article_id: int, records: list[dict[str, Any]], agreement_id: int | None) -> int:
    """The position of the record a correction is about."""
    if agreement_id is not None:
        for position, record in enumerate(records):
            if record.get("agreement_id") == agreement_id:
                return position
        raise FeedbackError(f"article {article_id} does not report agreement {agreement_id}")
    if len(records) == 1:
        return 0
    ids = ", ".join(str(r["agreement_id"]) for r in records if r.get("agreement_id"))
    raise FeedbackError(
        f"article {article_id} reports {len(records)} agreements"
        + (f" (ids {ids})" if ids else "")
        + ": say which one to correct"
    )


def _union(records: list[dict[str, Any]], name: str) -> list[Any]:
    out: list[Any] = []
    for record in records:
        out += [v for v in record.get(name) or [] if v not in out]
    return out


def _checked(
    parties: list[str] | None, sector: str | None, by: str
) -> tuple[list[str] | None, str | None, str]:
    """The correction and the analyst's name, cleaned; FeedbackError when they are not usable."""
    who = by.strip()
    if not who:
        raise FeedbackError("no analyst named: say who marks it")
    named = None
    if parties is not None:
        named = list(dict.fromkeys(p.strip() for p in parties if p.strip()))
        if not named:
            raise FeedbackError("no party named: give the signatories' names")
    canonical = None
    if sector is not None:
        canonical = sector_named(sector)
        if canonical is None:
            raise FeedbackError(f"{sector!r} is not a sector; `veille sectors` lists them")
    return named, canonical, who


def record_feedback(
    engine: Engine,
    article_id: int,
    *,
    correct: bool,
    by: str,
    note: str | None = None,
    parties: list[str] | None = None,
    sector: str | None = None,
    agreement_id: int | None = None,
) -> FeedbackMark:
    """Store an analyst's mark and apply it: the article's verdict becomes the rules' (correct)
    or its opposite (wrong), decided by an analyst; `parties` and `sector` correct its record
    (`agreement_id` says which when it reports several). One transaction."""
    parties, sector, by = _checked(parties, sector, by)
    with writing(engine) as conn:
        row = conn.execute(
            select(*ARTICLE).where(Article.id == article_id).with_for_update()
        ).first()
        if row is None:
            raise FeedbackError(f"no article {article_id}")
        rules_said, rules_version = _rules_said(conn, row)
        verdict = rules_said if correct else not rules_said
        corrects = parties is not None or sector is not None
        if not verdict and (corrects or agreement_id is not None):
            raise FeedbackError(
                f"this mark says article {article_id} reports no agreement: "
                "there is no record to correct"
            )
        records = _records(conn, article_id)
        about = agreement_id
        if verdict:
            changed = not records
            if changed:
                if agreement_id is not None:
                    raise FeedbackError(
                        f"article {article_id} does not report agreement {agreement_id}"
                    )
                records = _detected(row)
            chosen = corrects or agreement_id is not None
            position = _chosen(article_id, records, agreement_id) if chosen else 0
            if corrects:
                changed = True
                if parties is not None:
                    records[position]["parties"] = parties
                if sector is not None:
                    records[position]["sectors"] = [sector]
            if changed:
                _replace(conn, row, records)
            if corrects or (about is None and len(records) == 1):
                about = conn.scalar(
                    select(AgreementRecord.agreement_id).where(
                        AgreementRecord.article_id == article_id,
                        AgreementRecord.position == position,
                    )
                )
            values: dict[str, Any] = {
                "is_agreement": True,
                "parties": _union(records, "parties"),
                "sectors": _union(records, "sectors"),
                "agreement_types": _union(records, "types"),
            }
        else:
            if about is None and len(records) == 1:
                about = records[0]["agreement_id"]
            forget_records(conn, [article_id])
            values = {"is_agreement": False, "agreement_types": [], "sectors": [], "parties": []}
            values["amounts"] = []
        table = Article.__table__
        conn.execute(
            update(table).where(table.c.id == article_id).values(**values, verdict_by=ANALYST)
        )
        if (
            about is not None
            and conn.scalar(select(Agreement.id).where(Agreement.id == about)) is None
        ):
            about = None
        mark = conn.execute(
            Feedback.__table__.insert()
            .values(
                article_id=article_id,
                agreement_id=about,
                correct=correct,
                by=by,
                at=datetime.now(UTC),
                note=(note or "").strip() or None,
                parties=parties,
                sector=sector,
                rules_is_agreement=rules_said,
                rules_version=rules_version,
                language=row.language,
            )
            .returning(*Feedback.__table__.c)
        ).one()
    return _mark(mark)


def _replace(conn: Connection, row: Any, records: list[dict[str, Any]]) -> None:
    """The article's records written again, each joined to the agreement it reports (the
    same merge as a crawl's)."""
    forget_records(conn, [row.id])
    kept = [{f: r.get(f) for f in RECORD_FIELDS} for r in records]
    store_records(conn, [reported_row(row, row.score, kept)])
