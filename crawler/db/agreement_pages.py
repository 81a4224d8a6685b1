"""What the web view's agreement pages read: one page of matches after a keyset cursor, and
what the matches are made of (facets, timeline), counted over the newest matches (at most
`sample`), so that a page costs the same at any size."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY

from crawler.db.agreement_queries import AgreementFilters, agreements_statement
from storage.models import Agreement, AgreementParty, AgreementRecord, Article, Organisation, Source

SAMPLE = 2000  # newest matching agreements the counts are taken over
TOP = 12  # values shown per facet with many values


@dataclass
class Facets:
    """Counts over the newest matching agreements; `capped` when more match than were counted."""

    ids: list[int]  # the counted agreements, newest first
    matched: int
    capped: bool
    rows: list[Any]  # (first seen day, sectors, types, amount_mad, score) of each one counted
    organisations: list[tuple[int, str, int]]
    sources: list[tuple[str, int]]
    languages: list[tuple[str, int]]


def page_statement(
    conn: Connection, f: AgreementFilters, limit: int, before: tuple[datetime, int] | None
) -> Select:
    """One page of matching agreements, newest first, after the cursor `before` (the first
    seen time and id of the last agreement of the previous page)."""
    statement = agreements_statement(conn, f, limit)
    if before is not None:
        seen, last_id = before
        statement = statement.where(
            or_(
                Agreement.first_seen < seen,
                and_(Agreement.first_seen == seen, Agreement.id < last_id),
            )
        )
    return statement


def among(conn: Connection, column: Any, ids: list[int]) -> Any:
    """`column IN ids` with the ids as one parameter (a PostgreSQL array, a SQLite JSON
    list): thousands of ids cost one bound value, not one each."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(Integer), unique=True))
    each = func.json_each(bindparam("ids", json.dumps(ids), unique=True)).table_valued("value")
    return column.in_(select(each.c.value))


def agreements_by_id(conn: Connection, ids: list[int]) -> list[Any]:
    """The agreements of these ids, in that order."""
    found = {a.id: a for a in conn.execute(select(Agreement).where(among(conn, Agreement.id, ids)))}
    return [found[i] for i in ids if i in found]


def cursor_of(conn: Connection, agreement_id: int) -> tuple[datetime, int] | None:
    """The paging cursor of an agreement: its first seen time and id (None if it is gone)."""
    seen = conn.scalar(select(Agreement.first_seen).where(Agreement.id == agreement_id))
    return None if seen is None else (seen, agreement_id)


def _day(value: Any) -> date:
    """The UTC day of a stored time as the driver returns it: a datetime (PostgreSQL) or the
    text SQLite keeps, already in UTC (parsing thousands of them as datetimes costs more
    than the counting)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return date.fromisoformat(str(value)[:10])


def facets(conn: Connection, f: AgreementFilters, sample: int = SAMPLE) -> Facets:
    """Sector, type, amount, score and time of the newest `sample` matches, with their
    organisations, sources and languages counted in the database. The filters are applied
    once: the matches' ids, newest first, are what the counts (and a first page) read."""
    ids = list(conn.scalars(agreements_statement(conn, f, sample).with_only_columns(Agreement.id)))
    rows = conn.execute(
        select(
            type_coerce(Agreement.first_seen, String),  # read as the driver gives it: see _day
            Agreement.sectors,
            Agreement.types,
            Agreement.amount_mad,
            Agreement.score,
        ).where(among(conn, Agreement.id, ids))
    ).all()
    n = func.count(AgreementParty.agreement_id)
    organisations = conn.execute(
        select(Organisation.id, Organisation.name, n)
        .join(AgreementParty, AgreementParty.organisation_id == Organisation.id)
        .where(among(conn, AgreementParty.agreement_id, ids))
        .group_by(Organisation.id, Organisation.name)
        .order_by(n.desc(), Organisation.name)
        .limit(TOP)
    ).all()
    reported = func.count(AgreementRecord.agreement_id.distinct())
    by_article = (
        select(reported)
        .join(Article, Article.id == AgreementRecord.article_id)
        .where(among(conn, AgreementRecord.agreement_id, ids))
    )
    sources = conn.execute(
        by_article.add_columns(Source.name)
        .join(Source, Source.id == Article.source_id)
        .group_by(Source.name)
        .order_by(reported.desc(), Source.name)
        .limit(TOP)
    ).all()
    languages = conn.execute(
        by_article.add_columns(Article.language)
        .group_by(Article.language)
        .order_by(reported.desc())
    ).all()
    return Facets(
        ids=ids,
        matched=len(rows),
        capped=len(rows) >= sample,
        rows=[(_day(seen), *rest) for seen, *rest in rows],
        organisations=[(i, name, c) for i, name, c in organisations],
        sources=[(name, c) for c, name in sources],
        languages=[(lang, c) for c, lang in languages if lang],
    )
