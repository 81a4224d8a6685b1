"""`/organisations` (signatories and their number of agreements; `.json`, `.csv`, `.atom`) and
`/organisations/ID` (aliases per language, agreements over time, counterparties; its
agreements also as `.json`, `.csv`, `.atom`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for

from alerts.atom import TAG, Entry
from crawler.db.agreement_pages import matches
from crawler.db.agreement_queries import counterparties, list_organisations, organisation_by_id
from storage.queries import iso
from web.agreements import agreements_page
from web.filters import MAX_LIMIT, parse_list_query
from web.formats import rows_response
from web.state import state
from web.timeline import timeline

blueprint = Blueprint("organisations", __name__)
SHOWN = 200


def _organisations() -> list[dict[str, Any]]:
    search = (request.args.get("q") or "").strip() or None
    return list_organisations(state().engine, search, SHOWN)


@blueprint.get("/organisations")
def organisations() -> Any:
    return render_template("organisations.html", rows=_organisations(), shown=SHOWN)


@blueprint.get("/organisations.<fmt>")
def organisations_as(fmt: str) -> Any:
    now = iso(datetime.now(UTC)) or ""
    return rows_response(
        _organisations(),
        fmt,
        name="organisations",
        title="veille · organisations",
        entry=lambda o: Entry(
            id=f"{TAG}organisation/{o['id']}",
            title=o["name"],
            updated=now,
            links=[{"href": url_for(".organisation", organisation_id=o["id"], _external=True)}],
            summary=f"{o['agreements']} agreement(s); {o['kind']}",
        ),
    )


def _organisation(organisation_id: int) -> tuple[dict[str, Any], Any]:
    """The organisation and the list query of its agreements (the page's own filters too)."""
    with state().engine.connect() as conn:
        org = organisation_by_id(conn, organisation_id)
    if org is None:
        abort(404, f"no organisation with id {organisation_id}")
    q = parse_list_query(request.args)
    q.filters.organisations.append(organisation_id)
    return org, q


@blueprint.get("/organisations/<int:organisation_id>")
def organisation(organisation_id: int) -> Any:
    org, q = _organisation(organisation_id)
    with state().engine.connect() as conn:
        found = matches(conn, q.filters)
        partners = counterparties(conn, organisation_id)
    rows, next_url = agreements_page(q, found.ids)
    return render_template(
        "organisation.html",
        org=org,
        rows=rows,
        next_url=next_url,
        found=found,
        timeline=timeline(found.rows),
        partners=partners,
        max_limit=MAX_LIMIT,
    )


@blueprint.get("/organisations/<int:organisation_id>.<fmt>")
def organisation_as(organisation_id: int, fmt: str) -> Any:
    org, q = _organisation(organisation_id)
    rows, next_url = agreements_page(q)
    return rows_response(
        rows,
        fmt,
        name=f"organisation-{organisation_id}",
        title=f"veille · {org['name']}",
        next_url=next_url,
    )
