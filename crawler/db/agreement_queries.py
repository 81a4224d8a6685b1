"""Read side of agreements: `veille agreements`, `veille organisations`, and the records
that `veille query` rows carry. Reads only: nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import Connection, Engine, Select, and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from crawler.core.organisations import FUZZY_CUTOFF, FUZZY_MIN_CHARS, fold_name, lookup, resolve
from storage.db import chunks
from storage.models import (
    ANALYST,
    RULES,
    Agreement,
    AgreementParty,
    AgreementRecord,
    Article,
    Organisation,
    OrganisationAlias,
    Source,
    appeared,
)
from storage.queries import _matches, iso, json_list_contains
from storage.records import organisation_names


@dataclass
class AgreementFilters:
    """What `veille agreements` narrows the agreements to."""

    since: datetime | None = None
    until: datetime | None = None
    parties: list[str] = field(default_factory=list)
    organisations: list[int] = field(default_factory=list)  # ids: each must have signed
    sectors: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    min_amount: float | None = None  # dirhams
    max_amount: float | None = None  # dirhams, exclusive
    min_score: float | None = None
    languages: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    search: str | None = None


def sector_named(value: str) -> str | None:
    """A sector as the vocabulary spells it, matched case- and accent-insensitively (None:
    not a sector)."""
    from crawler.core.detection.rules import sector_names
    from storage.search import fold

    return {fold(name): name for name in sector_names()}.get(fold(value))


def organisation_ids(conn: Connection, name: str) -> list[int]:
    """The organisations a name stands for, in any language: an alias's folded key, the
    curated file's names, the name cleaned, then the closest long alias (rapidfuzz)."""
    keys = [fold_name(name), *(k for m in resolve(name) for k in m.keys)]
    keys = [k for k in dict.fromkeys(keys) if k]
    found = list(
        conn.scalars(
            select(OrganisationAlias.organisation_id).where(OrganisationAlias.key.in_(keys))
        ).unique()
    )
    curated = lookup(name)
    if curated is not None:
        found += conn.scalars(select(Organisation.id).where(Organisation.name == curated.name))
    if found or len(keys[0] if keys else "") < FUZZY_MIN_CHARS:
        return list(dict.fromkeys(found))
    aliases = dict(
        conn.execute(select(OrganisationAlias.key, OrganisationAlias.organisation_id)).all()
    )
    best = process.extractOne(keys[0], list(aliases), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    return [aliases[best[0]]] if best else []


def _reported_by(*clauses: Any) -> Any:
    """Agreements with a record from an article that meets the clauses."""
    return Agreement.id.in_(
        select(AgreementRecord.agreement_id)
        .join(Article, Article.id == AgreementRecord.article_id)
        .join(Source, Source.id == Article.source_id)
        .where(*clauses)
    )


def _reported_in(languages: list[str]) -> Any:
    """Agreements with a record from an article in one of these languages, checked per
    agreement (ix_agreement_records_agreement_id): a language is common, so walking the newest
    agreements finds a page soon, where listing every record of it would read them all."""
    return exists(
        select(1)
        .select_from(AgreementRecord)
        .join(Article, Article.id == AgreementRecord.article_id)
        .where(AgreementRecord.agreement_id == Agreement.id, Article.language.in_(languages))
    )


def _clauses(conn: Connection, f: AgreementFilters) -> list[Any]:
    clauses: list[Any] = []
    if f.since:
        clauses.append(Agreement.first_seen >= f.since)
    if f.until:
        clauses.append(Agreement.first_seen < f.until)
    signed = [organisation_ids(conn, party) for party in f.parties]  # each must have signed
    for signers in [*signed, *([i] for i in f.organisations)]:
        clauses.append(
            Agreement.id.in_(
                select(AgreementParty.agreement_id).where(
                    AgreementParty.organisation_id.in_(signers or [-1])
                )
            )
        )
    if f.sectors:
        clauses.append(or_(*(json_list_contains(conn, Agreement.sectors, s) for s in f.sectors)))
    if f.types:
        clauses.append(or_(*(json_list_contains(conn, Agreement.types, t) for t in f.types)))
    if f.min_amount is not None:
        clauses.append(Agreement.amount_mad >= f.min_amount)
    if f.max_amount is not None:
        clauses.append(Agreement.amount_mad < f.max_amount)
    if f.min_score is not None:
        clauses.append(Agreement.score >= f.min_score)
    if f.languages:
        clauses.append(_reported_in(f.languages))
    if f.sources:
        clauses.append(_reported_by(Source.name.in_(f.sources)))
    if f.search:
        _, ids = _matches(conn, f.search)
        # SQLite: walk the newest agreements (ix_agreements_first_seen) keeping those in the
        # list of matches, rather than look each match up by id and sort them all (`id + 0`);
        # PostgreSQL walks them by itself, testing each one's articles.
        agreement_id = Agreement.id + 0 if conn.dialect.name == "sqlite" else Agreement.id
        clauses.append(
            agreement_id.in_(
                select(AgreementRecord.agreement_id).where(AgreementRecord.article_id.in_(ids))
            )
        )
    return clauses


def agreements_statement(conn: Connection, f: AgreementFilters, limit: int | None) -> Select:
    """The matching agreements, newest first: ix_agreements_first_seen orders them, and a
    party is looked up through ix_agreement_parties_organisation."""
    return (
        select(Agreement)
        .where(and_(True, *_clauses(conn, f)))
        .order_by(Agreement.first_seen.desc(), Agreement.id.desc())
        .limit(limit)
    )


def find_agreements(
    engine: Engine, f: AgreementFilters, limit: int | None = None
) -> list[dict[str, Any]]:
    """Matching agreements, newest first, as contract rows."""
    with engine.connect() as conn:
        return agreement_rows(conn, conn.execute(agreements_statement(conn, f, limit)).all())


def agreement_rows(conn: Connection, agreements: Sequence[Any]) -> list[dict[str, Any]]:
    """Agreements as the `veille agreements` contract spells them, with their organisations
    (in the order the records name them) and articles (in order of appearance); `verdict_by`
    is `analyst` when an analyst decided the verdict of an article that reports it."""
    ids = [a.id for a in agreements]
    orgs: dict[int, list[int]] = {i: [] for i in ids}
    articles: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    marked: set[int] = set()  # reported by an article whose verdict an analyst decided
    when = appeared()
    for part in chunks(ids):
        rows = conn.execute(
            select(
                AgreementRecord.agreement_id,
                AgreementRecord.organisation_ids,
                Article.id,
                Article.url,
                Source.name,
                Article.title,
                Article.language,
                Article.published_at,
                Article.verdict_by,
            )
            .join(Article, Article.id == AgreementRecord.article_id)
            .join(Source, Source.id == Article.source_id)
            .where(AgreementRecord.agreement_id.in_(part))
            .order_by(when, Article.id, AgreementRecord.position)
        )
        article: list[Any]
        for agreement_id, org_ids, *article, by in rows:
            orgs[agreement_id] += [o for o in org_ids or [] if o not in orgs[agreement_id]]
            if by == ANALYST:
                marked.add(agreement_id)
            if all(a["id"] != article[0] for a in articles[agreement_id]):
                article_id, url, source, title, language, published = article
                articles[agreement_id].append(
                    {
                        "id": article_id,
                        "url": url,
                        "source": source,
                        "title": title,
                        "language": language,
                        "published_at": iso(published),
                    }
                )
    names = organisation_names(conn, [o for v in orgs.values() for o in v])
    return [
        {
            "id": a.id,
            "types": a.types or [],
            "parties": a.parties or [],
            "organisations": [{"id": o, "name": names[o]} for o in orgs[a.id] if o in names],
            "sectors": a.sectors or [],
            "amounts": a.amounts or [],
            "count": a.count,
            "signed_on": a.signed_on.isoformat() if a.signed_on else None,
            "first_seen": iso(a.first_seen),
            "score": a.score,
            "evidence": a.evidence,
            "verdict_by": ANALYST if a.id in marked else RULES,
            "articles": articles[a.id],
        }
        for a in agreements
    ]


def list_organisations(
    engine: Engine, search: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Organisations with their number of agreements, most agreements first; `search`
    keeps those with a name or alias containing it (folded)."""
    agreements = func.count(AgreementParty.agreement_id)
    statement = (
        select(
            Organisation.id,
            Organisation.name,
            Organisation.kind,
            Organisation.curated,
            agreements.label("agreements"),
        )
        .join(AgreementParty, AgreementParty.organisation_id == Organisation.id, isouter=True)
        .group_by(Organisation.id, Organisation.name, Organisation.kind, Organisation.curated)
        .order_by(agreements.desc(), Organisation.name)
        .limit(limit)
    )
    with engine.connect() as conn:
        if search:
            key = fold_name(search)
            matching = select(OrganisationAlias.organisation_id).where(
                OrganisationAlias.key.contains(key, autoescape=True)
            )
            ids = organisation_ids(conn, search)
            statement = statement.where(
                or_(Organisation.id.in_(matching), Organisation.id.in_(ids or [-1]))
            )
        return [
            {
                "id": r.id,
                "name": r.name,
                "kind": r.kind,
                "curated": r.curated,
                "agreements": r.agreements,
            }
            for r in conn.execute(statement)
        ]


def organisation_detail(engine: Engine, name: str) -> dict[str, Any] | None:
    """One organisation with its aliases and its agreements, oldest first; None if no
    organisation goes by that name."""
    with engine.connect() as conn:
        ids = organisation_ids(conn, name)
        if not ids:
            return None
        org = organisation_by_id(conn, ids[0])
        assert org is not None  # the alias points at it
        agreements = conn.execute(
            select(Agreement)
            .where(Agreement.id.in_(_signed_by(org["id"])))
            .order_by(Agreement.first_seen, Agreement.id)
        ).all()
        return {**org, "agreements": agreement_rows(conn, agreements)}


def _signed_by(organisation_id: int) -> Select:
    return select(AgreementParty.agreement_id).where(
        AgreementParty.organisation_id == organisation_id
    )


def organisation_by_id(conn: Connection, organisation_id: int) -> dict[str, Any] | None:
    """One organisation with its aliases (by language, then name), or None."""
    org = conn.execute(
        select(Organisation.__table__).where(Organisation.id == organisation_id)
    ).first()
    if org is None:
        return None
    aliases = conn.execute(
        select(OrganisationAlias.alias, OrganisationAlias.language)
        .where(OrganisationAlias.organisation_id == org.id)
        .order_by(OrganisationAlias.language, OrganisationAlias.alias)
    ).all()
    return {
        "id": org.id,
        "name": org.name,
        "kind": org.kind,
        "curated": org.curated,
        "aliases": [{"alias": a, "language": lang} for a, lang in aliases],
    }


def counterparties(conn: Connection, organisation_id: int, limit: int = 30) -> list[dict[str, Any]]:
    """The organisations that signed with this one, most agreements together first: counted
    over the signatures alone (both sides read by index), names joined to the counts."""
    ours, theirs = aliased(AgreementParty), aliased(AgreementParty)
    together = (
        select(theirs.organisation_id.label("id"), func.count().label("agreements"))
        .join(ours, ours.agreement_id == theirs.agreement_id)
        .where(ours.organisation_id == organisation_id, theirs.organisation_id != organisation_id)
        .group_by(theirs.organisation_id)
        .subquery()
    )
    rows = conn.execute(
        select(Organisation.id, Organisation.name, together.c.agreements)
        .join(together, together.c.id == Organisation.id)
        .order_by(together.c.agreements.desc(), Organisation.name)
        .limit(limit)
    )
    return [{"id": r.id, "name": r.name, "agreements": r.agreements} for r in rows]


def agreement_by_id(engine: Engine, agreement_id: int) -> dict[str, Any] | None:
    """One agreement as a `veille agreements` row, or None."""
    with engine.connect() as conn:
        found = conn.execute(select(Agreement).where(Agreement.id == agreement_id)).all()
        return agreement_rows(conn, found)[0] if found else None


def agreements_of_article(conn: Connection, article_id: int) -> list[int]:
    """The agreements an article reported, in the order of its text."""
    return list(
        conn.scalars(
            select(AgreementRecord.agreement_id)
            .where(AgreementRecord.article_id == article_id)
            .order_by(AgreementRecord.position)
        ).unique()
    )
