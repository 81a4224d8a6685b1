"""The Flask application: one engine read-only for the pages, the page families' routes,
error pages that say what went wrong without a traceback."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, current_app, render_template
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from crawler.core.filter_values import FilterValueError
from storage.db import error_reason, open_database
from storage.search import QueryError
from web import agreements, articles, feedback, organisations
from web import sources as source_pages
from web.state import WebState
from web.templating import install_filters


def create_app(db_url: str, *, password: str | None = None, sources: str | None = None) -> Flask:
    """The web view of the database at `db_url` (it must exist: DatabaseError otherwise);
    with a `password`, feedback needs it (HTTP Basic auth). `sources`: the sources file."""
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)  # signs the CSRF cookie; new each start
    app.extensions["veille"] = WebState(
        open_database(db_url, readonly=True, parallel=False), db_url, sources, password
    )
    install_filters(app)
    for blueprint in (
        agreements.blueprint,
        organisations.blueprint,
        articles.blueprint,
        source_pages.blueprint,
        feedback.blueprint,
    ):
        app.register_blueprint(blueprint)
    app.register_error_handler(FilterValueError, _bad_request)
    app.register_error_handler(QueryError, _bad_request)
    app.register_error_handler(SQLAlchemyError, _database_error)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _page(code: int, title: str, message: str) -> Any:
    return render_template("error.html", code=code, title=title, message=message), code


def _bad_request(exc: Exception) -> Any:
    return _page(400, "Bad request", str(exc))


def _database_error(exc: SQLAlchemyError) -> Any:
    current_app.logger.error("database error: %s", exc)
    reason = error_reason(exc)
    return _page(503, "Database unavailable", f"the database did not answer: {reason}")


def _http_error(exc: HTTPException) -> Any:
    body, code = _page(exc.code or 500, exc.name, exc.description or "")
    if code == 401:  # the browser asks for the password
        return body, code, {"WWW-Authenticate": 'Basic realm="veille feedback"'}
    return body, code
