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
class Matches:
    """The newest matching agreements (at most `sample`); `capped` when more match."""

    ids: list[int]  # newest first
    matched: int
    capped: bool
    rows: list[Any]  # (first seen day, sectors, types, amount_mad, score) of each one


@dataclass
class Facets(Matches):
    """Matches with their organisations, sources and languages counted."""

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


def _by_count(groups: dict[Any, set[int]]) -> list[tuple[Any, int]]:
    """(key, number of agreements) of each group, the largest first, then by key."""
    return sorted(((k, len(v)) for k, v in groups.items()), key=lambda g: (-g[1], str(g[0])))


def _reporting(
    conn: Connection, ids: list[int]
) -> tuple[list[tuple[str, int]], list[tuple[str | None, int]]]:
    """How many of these agreements each source and each language reported, the most first.
    Records, then their articles, each read by its index: joined in one statement,
    PostgreSQL expected thousands of records and hashed the whole articles table."""
    records = conn.execute(
        select(AgreementRecord.agreement_id, AgreementRecord.article_id).where(
            among(conn, AgreementRecord.agreement_id, ids)
        )
    ).all()
    articles = {
        article_id: (source, language)
        for article_id, source, language in conn.execute(
            select(Article.id, Source.name, Article.language)
            .join(Source, Source.id == Article.source_id)
            .where(among(conn, Article.id, sorted({a for _, a in records})))
        )
    }
    by_source: dict[str, set[int]] = {}
    by_language: dict[str | None, set[int]] = {}
    for agreement_id, article_id in records:
        source, language = articles[article_id]
        by_source.setdefault(source, set()).add(agreement_id)
        by_language.setdefault(language, set()).add(agreement_id)
    return _by_count(by_source), _by_count(by_language)


def matches(conn: Connection, f: AgreementFilters, sample: int = SAMPLE) -> Matches:
    """The newest `sample` matches with what the timeline and the facets count. The filters
    are applied once, to find the ids; the rest is read by id (sorting the columns with the
    ids cost more for an organisation that signed thousands)."""
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
    return Matches(
        ids=ids,
        matched=len(rows),
        capped=len(rows) >= sample,
        rows=[(_day(seen), *rest) for seen, *rest in rows],
    )


def facets(conn: Connection, f: AgreementFilters, sample: int = SAMPLE) -> Facets:
    """Sector, type, amount, score and time of the newest `sample` matches, their
    organisations counted in the database, their sources and languages from their records."""
    found = matches(conn, f, sample)
    n = func.count(AgreementParty.agreement_id)
    organisations = conn.execute(
        select(Organisation.id, Organisation.name, n)
        .join(AgreementParty, AgreementParty.organisation_id == Organisation.id)
        .where(among(conn, AgreementParty.agreement_id, found.ids))
        .group_by(Organisation.id, Organisation.name)
        .order_by(n.desc(), Organisation.name)
        .limit(TOP)
    ).all()
    sources, languages = _reporting(conn, found.ids)
    return Facets(
        **vars(found),
        organisations=[(i, name, c) for i, name, c in organisations],
        sources=sources[:TOP],
        languages=[(lang, c) for lang, c in languages if lang],
    )
