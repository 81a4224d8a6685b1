"""Scratch space for one crawl, off the heap: a private temporary SQLite database (stdlib
sqlite3, deleted when closed), of which SQLite keeps only a small page cache in memory. What a
crawl remembers per listed article (the URLs it claimed, the requests waiting their turn)
lives there, so that a backfill of 100,000 articles needs no more memory than a daily crawl.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from storage.db import chunks

CACHE_KIB = 2048  # SQLite's page cache for the file; the rest stays on disk
CACHED_STATEMENTS = 8  # each length of an IN list is one more (sqlite3 keeps 128 by default)


def scratch_database() -> sqlite3.Connection:
    """A new private temporary database: autocommit, no journal, no fsync (nothing in it
    outlives the crawl)."""
    db = sqlite3.connect(
        "", isolation_level=None, check_same_thread=False, cached_statements=CACHED_STATEMENTS
    )
    for pragma in (f"cache_size = -{CACHE_KIB}", "journal_mode = OFF", "synchronous = OFF"):
        db.execute(f"PRAGMA {pragma}")
    return db


class Claims:
    """The canonical URLs claimed in this crawl: each is requested once."""

    def __init__(self) -> None:
        self._db = scratch_database()
        self._db.execute("CREATE TABLE claimed (url TEXT PRIMARY KEY) WITHOUT ROWID")

    def unclaimed(self, urls: Iterable[str]) -> list[str]:
        """The URLs not claimed yet, in their order."""
        wanted = list(dict.fromkeys(urls))
        taken: set[str] = set()
        for part in chunks(wanted):
            marks = ",".join("?" * len(part))
            query = f"SELECT url FROM claimed WHERE url IN ({marks})"
            taken.update(url for (url,) in self._db.execute(query, part))
        return [u for u in wanted if u not in taken]

    def add(self, urls: Iterable[str]) -> None:
        """Claim the URLs."""
        self._db.executemany("INSERT OR IGNORE INTO claimed VALUES (?)", ((u,) for u in urls))

    def __contains__(self, url: object) -> bool:
        found = self._db.execute("SELECT 1 FROM claimed WHERE url = ?", (url,)).fetchone()
        return found is not None
