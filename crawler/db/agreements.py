"""What storage does with an article's agreement records: organisations for their parties
(the curated file, then what the crawl found), each record joined to the agreement it reports
or a new one (crawler.core.agreements decides), and re-detected articles' records forgotten.

Everything runs inside the caller's write transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, or_, select, update

from crawler.core.agreements import MERGE_WINDOW, Candidate, NewRecord, assign, signed_on, summary
from crawler.core.common import as_utc
from crawler.core.organisations import Match, fold_name, language_of, load_organisations, resolve
from storage.db import chunks, dialect_insert
from storage.models import (
    Agreement,
    AgreementParty,
    AgreementRecord,
    Article,
    Organisation,
    OrganisationAlias,
    appeared,
)


@dataclass
class Reported:
    """A stored article's positive verdict, as the agreements step needs it."""

    article_id: int
    seen: datetime  # when the article appeared: published, else fetched
    published: datetime | None
    language: str | None
    lede: str  # title, lead and first paragraph: where a ceremony's day is told
    score: float | None
    records: list[dict[str, Any]] = field(default_factory=list)


def reported_row(row: Any, score: float | None, records: list[dict[str, Any]]) -> Reported:
    """A stored article (a row with id, title, lead, text, language, published_at and
    fetched_at) with these records, for the agreements step."""
    return Reported(
        row.id,
        row.published_at or row.fetched_at,
        row.published_at,
        row.language,
        lede(row.title, row.lead, row.text),
        score,
        records,
    )


def sync_curated(conn: Connection) -> dict[str, int]:
    """Make sure every organisation and alias of the curated file has its row (a curated
    alias takes its key over from an organisation the crawl made); return ids by name.
    Only rows that differ are written, so concurrent writers do not queue on them."""
    orgs = load_organisations()
    stored: dict[str, Any] = {}
    for part in chunks([o.name for o in orgs]):
        stored.update(
            (r.name, r)
            for r in conn.execute(
                select(Organisation.name, Organisation.kind, Organisation.curated).where(
                    Organisation.name.in_(part)
                )
            )
        )
    changed = [
        {"name": o.name, "kind": o.kind, "curated": True}
        for o in orgs
        if o.name not in stored or (stored[o.name].kind, stored[o.name].curated) != (o.kind, True)
    ]
    if changed:
        statement = dialect_insert(conn, Organisation.__table__)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["name"], set_={"kind": statement.excluded.kind, "curated": True}
            ),
            changed,
        )
    ids = dict(
        conn.execute(select(Organisation.name, Organisation.id).where(Organisation.curated)).all()
    )
    rows: dict[str, dict[str, Any]] = {}
    for o in orgs:
        for alias, lang in o.aliases:
            key = fold_name(alias)
            if key and key not in rows:
                rows[key] = {
                    "key": key,
                    "organisation_id": ids[o.name],
                    "alias": alias,
                    "language": lang or language_of(alias),
                }
    owners: dict[str, int] = {}
    for part in chunks(list(rows)):
        owners.update(
            conn.execute(
                select(OrganisationAlias.key, OrganisationAlias.organisation_id).where(
                    OrganisationAlias.key.in_(part)
                )
            ).all()
        )
    changed = [r for k, r in rows.items() if owners.get(k) != r["organisation_id"]]
    if changed:
        statement = dialect_insert(conn, OrganisationAlias.__table__)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["key"],
                set_={
                    "organisation_id": statement.excluded.organisation_id,
                    "alias": statement.excluded.alias,
                    "language": statement.excluded.language,
                },
            ),
            changed,
        )
    return ids


class Organisations:
    """Party names to organisation ids, for one write transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.curated = sync_curated(conn)
        self.known: dict[str, list[int]] = {}

    def ids(self, party: str, language: str | None) -> list[int]:
        """The organisation(s) a party names, made when the crawl meets them first."""
        if party not in self.known:
            self.known[party] = [self._one(m, language) for m in resolve(party)]
        return self.known[party]

    def _one(self, match: Match, language: str | None) -> int:
        if match.curated:
            return self.curated[match.name]
        keys = match.keys
        found = self.conn.execute(
            select(OrganisationAlias.organisation_id).where(OrganisationAlias.key.in_(keys))
        ).first()
        if found:
            return found[0]
        table = Organisation.__table__
        self.conn.execute(
            dialect_insert(self.conn, table).on_conflict_do_nothing(index_elements=["name"]),
            [{"name": match.name, "kind": match.kind, "curated": False}],
        )
        org_id = self.conn.scalar(select(Organisation.id).where(Organisation.name == match.name))
        rows = [
            {
                "key": fold_name(a),
                "organisation_id": org_id,
                "alias": a,
                "language": lang or language,
            }
            for a, lang in match.aliases
            if fold_name(a)
        ]
        self.conn.execute(
            dialect_insert(self.conn, OrganisationAlias.__table__).on_conflict_do_nothing(
                index_elements=["key"]
            ),
            list({r["key"]: r for r in rows}.values()),
        )
        return org_id


def _candidates(conn: Connection, seen: datetime, records: list[NewRecord]) -> list[Candidate]:
    """The agreements within the merge window that one of an article's records could join
    (crawler.core.agreements.fit): those sharing an organisation with it, and those it could
    match on a value alone, which needs an amount on both sides and no organisation on one."""
    window = (
        Agreement.first_seen >= seen - MERGE_WINDOW,
        Agreement.first_seen <= seen + MERGE_WINDOW,
    )
    organisations = list({o for r in records for o in r.organisations})
    reachable = [
        Agreement.id.in_(
            select(AgreementParty.agreement_id).where(
                AgreementParty.organisation_id.in_(organisations or [-1])
            )
        )
    ]
    valued = [r for r in records if r.amounts]
    if valued:
        by_value = Agreement.amount_mad.is_not(None)
        if all(r.organisations for r in valued):  # then only an agreement naming none
            by_value = and_(by_value, Agreement.id.not_in(select(AgreementParty.agreement_id)))
        reachable.append(by_value)
    rows = conn.execute(
        select(
            Agreement.id,
            Agreement.types,
            Agreement.amounts,
            Agreement.first_seen,
            Agreement.signed_on,
        ).where(*window, or_(*reachable))
    ).all()
    found = {
        r.id: Candidate(r.id, set(), r.types, r.amounts, _utc(r.first_seen), r.signed_on)
        for r in rows
    }
    for part in chunks(list(found)):
        for agreement_id, org in conn.execute(
            select(AgreementParty.agreement_id, AgreementParty.organisation_id).where(
                AgreementParty.agreement_id.in_(part)
            )
        ):
            found[agreement_id].organisations.add(org)
        for agreement_id, article in conn.execute(
            select(AgreementRecord.agreement_id, AgreementRecord.article_id).where(
                AgreementRecord.agreement_id.in_(part)
            )
        ):
            found[agreement_id].articles.add(article)
    return list(found.values())


def _utc(value: datetime) -> datetime:
    return as_utc(value)


def store_records(conn: Connection, reported: list[Reported]) -> None:
    """Write the records of stored articles, each joined to the agreement it reports (one
    stored from another article, when crawler.core.agreements says they are one) or a new one."""
    reported = [r for r in reported if r.records]
    if not reported:
        return
    book = Organisations(conn)
    for art in reported:
        languages = [art.language] if art.language else None
        new: list[NewRecord] = []
        rows: list[dict[str, Any]] = []
        for position, record in enumerate(art.records):
            org_ids = list(
                dict.fromkeys(
                    i for p in record.get("parties") or [] for i in book.ids(p, art.language)
                )
            )
            day = signed_on(record.get("evidence") or "", art.lede, art.published, languages)
            new.append(
                NewRecord(
                    art.article_id,
                    position,
                    set(org_ids),
                    record.get("types") or [],
                    record.get("amounts") or [],
                    art.seen,
                    day,
                )
            )
            rows.append(
                {
                    "article_id": art.article_id,
                    "position": position,
                    "parties": record.get("parties") or [],
                    "organisation_ids": org_ids,
                    "types": record.get("types") or [],
                    "sectors": record.get("sectors") or [],
                    "amounts": record.get("amounts") or [],
                    "count": record.get("count") or 1,
                    "signed_on": day,
                    "evidence": record.get("evidence") or "",
                }
            )
        chosen = assign(new, _candidates(conn, art.seen, new))
        for row in rows:
            agreement_id = chosen.get(row["position"])
            if agreement_id is None:
                agreement_id = conn.execute(
                    Agreement.__table__.insert()
                    .values(
                        types=[],
                        parties=[],
                        sectors=[],
                        amounts=[],
                        count=1,
                        first_seen=art.seen,
                        score=art.score,
                        evidence="",
                    )
                    .returning(Agreement.__table__.c.id)
                ).scalar_one()
            row["agreement_id"] = agreement_id
        conn.execute(AgreementRecord.__table__.insert(), rows)
        refresh(conn, {row["agreement_id"] for row in rows})


def refresh(conn: Connection, agreement_ids: set[int]) -> None:
    """Recompute agreements from their records (in order of appearance); drop those left
    without any."""
    when = appeared()
    for part in chunks(sorted(agreement_ids)):
        records: dict[int, list[Any]] = {i: [] for i in part}
        records_table = AgreementRecord.__table__
        for row in conn.execute(
            select(records_table, when.label("seen"), Article.score)
            .join(Article, Article.id == records_table.c.article_id)
            .where(records_table.c.agreement_id.in_(part))
            .order_by(when, Article.id, records_table.c.position)
        ):
            records[row.agreement_id].append(row)
        empty = [i for i, rows in records.items() if not rows]
        if empty:
            conn.execute(delete(Agreement.__table__).where(Agreement.__table__.c.id.in_(empty)))
        conn.execute(
            delete(AgreementParty.__table__).where(
                AgreementParty.__table__.c.agreement_id.in_(part)
            )
        )
        parties = []
        for agreement_id, rows in records.items():
            if not rows:
                continue
            recs = rows
            s = summary(
                [
                    {
                        "types": r.types,
                        "parties": r.parties,
                        "sectors": r.sectors,
                        "amounts": r.amounts,
                        "count": r.count,
                        "evidence": r.evidence,
                    }
                    for r in recs
                ]
            )
            scores = [r.score for r in rows if r.score is not None]
            conn.execute(
                update(Agreement.__table__)
                .where(Agreement.__table__.c.id == agreement_id)
                .values(
                    **s,
                    first_seen=_utc(rows[0].seen),
                    score=max(scores) if scores else None,
                    signed_on=next((r.signed_on for r in recs if r.signed_on), None),
                )
            )
            orgs = dict.fromkeys(o for r in recs for o in r.organisation_ids or [])
            parties += [{"agreement_id": agreement_id, "organisation_id": o} for o in orgs]
        if parties:
            conn.execute(AgreementParty.__table__.insert(), parties)


def forget_records(conn: Connection, article_ids: list[int]) -> None:
    """Remove the records of these articles (before they are detected again)."""
    touched: set[int] = set()
    for part in chunks(article_ids):
        touched.update(
            conn.scalars(
                select(AgreementRecord.agreement_id).where(AgreementRecord.article_id.in_(part))
            )
        )
        conn.execute(
            delete(AgreementRecord.__table__).where(
                AgreementRecord.__table__.c.article_id.in_(part)
            )
        )
    refresh(conn, touched)


def lede(title: str | None, lead: str | None, text: str | None) -> str:
    """The title, lead and first paragraph: where an article says when its ceremony was."""
    first = (text or "").strip().split("\n", 1)[0]
    return "\n".join(x for x in (title, lead, first) if x)
