"""What every request of the web view needs: the read-only engine and how it was started."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import Engine


@dataclass
class WebState:
    """The database, read-only, its URL (feedback opens it for writing), the sources file
    and the password feedback needs (None: none)."""

    engine: Engine
    db_url: str
    sources: str | None
    password: str | None
    writer: Engine | None = None  # opened by the first feedback


def state() -> WebState:
    """The running application's state."""
    found: WebState = current_app.extensions["veille"]
    return found
