"""Analysts' verdicts: the CSRF token every form carries (a random value kept in Flask's
signed session cookie), HTTP Basic auth when the server has a password, and the POSTs."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Blueprint, abort, redirect, request, session, url_for
from sqlalchemy import Engine

from crawler.db.feedback import FeedbackError, feedback_for_article, record_feedback
from storage.db import make_engine
from web.state import state

blueprint = Blueprint("feedback", __name__)
CSRF_KEY = "csrf"


def csrf_token() -> str:
    """This browser's token, made on first use."""
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(32)
    token: str = session[CSRF_KEY]
    return token


def check_csrf() -> None:
    """403 unless the form's token is this browser's."""
    sent = request.form.get("csrf_token", "")
    kept = session.get(CSRF_KEY, "")
    if not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
        abort(403, "the form's CSRF token is missing or stale: reload the page and try again")


def analyst() -> str:
    """Who marks: with a password, 401 unless HTTP Basic auth gives it (the user name is
    the analyst's); without, the form's name."""
    password = state().password
    auth = request.authorization
    if password is not None:
        given = (auth.password or "") if auth else ""
        if not hmac.compare_digest(given.encode(), password.encode()):
            abort(401, "feedback needs the password (VEILLE_WEB_PASSWORD)")
    name = (request.form.get("by") or "").strip() or (auth.username if auth else "") or ""
    return name.strip() or "analyst"


def feedback_context(article_id: int | None, agreement_id: int | None) -> dict[str, Any]:
    """What the feedback form and the marks shown on a page need: the token, the article's
    marks (newest first: the first decides)."""
    marks = feedback_for_article(state().engine, article_id) if article_id is not None else []
    return {
        "token": csrf_token(),
        "article_id": article_id,
        "agreement_id": agreement_id,
        "marks": marks,
    }


def writer() -> Engine:
    """The engine feedback writes with (the pages read through the read-only one)."""
    found = state()
    if found.writer is None:
        found.writer = make_engine(found.db_url)
    return found.writer


def _record(article_id: int, agreement_id: int | None, back: str) -> Any:
    """Check who and the token, store the mark, go back to the page."""
    by = analyst()
    check_csrf()
    verdict = request.form.get("verdict")
    if verdict not in ("correct", "wrong"):
        abort(400, "say whether the verdict is correct or wrong")
    parties = [p.strip() for p in (request.form.get("parties") or "").split(";") if p.strip()]
    try:
        record_feedback(
            writer(),
            article_id,
            correct=verdict == "correct",
            by=by,
            note=(request.form.get("note") or "").strip() or None,
            parties=parties or None,
            sector=(request.form.get("sector") or "").strip() or None,
            agreement_id=agreement_id,
        )
    except FeedbackError as exc:
        abort(400, str(exc))
    return redirect(back + "#feedback", code=303)


@blueprint.post("/articles/<int:article_id>/feedback")
def article_feedback(article_id: int) -> Any:
    return _record(article_id, None, url_for("articles.article", article_id=article_id))


@blueprint.post("/agreements/<int:agreement_id>/feedback")
def agreement_feedback(agreement_id: int) -> Any:
    article_id = request.form.get("article_id", "")
    if not article_id.isdigit():
        abort(400, "the form names no article")
    back = url_for("agreements.agreement", agreement_id=agreement_id)
    return _record(int(article_id), agreement_id, back)
