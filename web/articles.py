"""`/articles/ID`: the extracted text, the verdict with its score and evidence (highlighted),
who decided it, the agreements it reported, its story's other copies."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template

from crawler.db.agreement_queries import agreements_of_article
from storage.queries import article_by_id, story_articles
from storage.records import records_by_article
from web.feedback import feedback_context
from web.state import state

blueprint = Blueprint("articles", __name__)


@blueprint.get("/articles/<int:article_id>")
def article(article_id: int) -> Any:
    engine = state().engine
    row = article_by_id(engine, article_id)
    if row is None:
        abort(404, f"no article with id {article_id}")
    with engine.connect() as conn:
        records = records_by_article(conn, [article_id]).get(article_id, [])
        agreement_ids = agreements_of_article(conn, article_id)
    copies = story_articles(engine, row["story_id"]) if row["story_id"] is not None else []
    return render_template(
        "article.html",
        a=row,
        records=records,
        agreement_ids=agreement_ids,
        copies=[c for c in copies if c["id"] != article_id],
        feedback=feedback_context(article_id, None),
    )
