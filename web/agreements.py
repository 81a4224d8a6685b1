"""`/`, `/agreements` (timeline, facets, search, paging; `.json`, `.csv`, `.atom`) and
`/agreements/ID` (the agreement, its evidence in its article, every article that reported
it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request

from crawler.db.agreement_pages import agreements_by_id, cursor_of, facets, page_statement
from crawler.db.agreement_queries import agreement_by_id, agreement_rows
from storage.queries import article_by_id
from web.facets import groups
from web.feedback import feedback_context
from web.filters import ListQuery, link, parse_list_query
from web.formats import rows_response
from web.state import state
from web.timeline import timeline

blueprint = Blueprint("agreements", __name__)


def agreements_page(
    q: ListQuery, newest: list[int] | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of matching agreements as `veille agreements` rows, and the next page's URL
    (None on the last page); `newest`: the ids of the newest matches, when the facets have
    them already (the first page is their head)."""
    with state().engine.connect() as conn:
        if newest is not None and q.before is None:
            found = agreements_by_id(conn, newest[: q.limit + 1])
        else:
            before = None
            if q.before is not None:
                before = cursor_of(conn, q.before)
                if before is None:
                    abort(400, f"before={q.before}: no such agreement")
            found = list(conn.execute(page_statement(conn, q.filters, q.limit + 1, before)))
        rows = agreement_rows(conn, found[: q.limit])
    more = len(found) > q.limit
    return rows, link(before=rows[-1]["id"]) if more and rows else None


@blueprint.get("/")
@blueprint.get("/agreements")
def agreements() -> Any:
    q = parse_list_query(request.args)
    with state().engine.connect() as conn:
        found = facets(conn, q.filters)
    rows, next_url = agreements_page(q, found.ids)
    return render_template(
        "agreements.html",
        rows=rows,
        next_url=next_url,
        facets=found,
        groups=groups(found),
        timeline=timeline(found.rows),
        q=q,
    )


@blueprint.get("/agreements.<fmt>")
def agreements_as(fmt: str) -> Any:
    rows, next_url = agreements_page(parse_list_query(request.args))
    return rows_response(
        rows, fmt, name="agreements", title="veille · agreements", next_url=next_url
    )


@blueprint.get("/agreements/<int:agreement_id>")
def agreement(agreement_id: int) -> Any:
    row = agreement_by_id(state().engine, agreement_id)
    if row is None:
        abort(404, f"no agreement with id {agreement_id}")
    first = row["articles"][0] if row["articles"] else None
    article = article_by_id(state().engine, first["id"]) if first else None
    return render_template(
        "agreement.html",
        a=row,
        article=article,
        feedback=feedback_context(article["id"] if article else None, agreement_id),
    )
