"""Agreement records and organisation names read back as plain rows (what `veille query`
rows carry); no decision here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from storage.db import chunks
from storage.models import AgreementRecord, Organisation


def organisation_names(conn: Connection, ids: list[int]) -> dict[int, str]:
    """Organisation names by id."""
    names: dict[int, str] = {}
    for part in chunks(list(set(ids))):
        names.update(
            conn.execute(
                select(Organisation.id, Organisation.name).where(Organisation.id.in_(part))
            ).all()
        )
    return names


def records_by_article(conn: Connection, article_ids: list[int]) -> dict[int, list[dict]]:
    """The records stored for each article, in order, as `veille query` rows carry them."""
    found: dict[int, list[Row[Any]]] = {}
    for part in chunks(article_ids):
        for r in conn.execute(
            select(AgreementRecord.__table__)
            .where(AgreementRecord.article_id.in_(part))
            .order_by(AgreementRecord.article_id, AgreementRecord.position)
        ):
            found.setdefault(r.article_id, []).append(r)
    names = organisation_names(
        conn, [o for rs in found.values() for r in rs for o in r.organisation_ids or []]
    )
    return {
        article_id: [
            {
                "types": r.types or [],
                "parties": r.parties or [],
                "organisations": [
                    {"id": o, "name": names[o]} for o in r.organisation_ids or [] if o in names
                ],
                "sectors": r.sectors or [],
                "amounts": r.amounts or [],
                "count": r.count,
                "evidence": r.evidence,
            }
            for r in rs
        ]
        for article_id, rs in found.items()
    }
