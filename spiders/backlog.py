"""Article requests waiting for room, on disk: a backfill lists 100,000 articles at once, and
holding them all as Scrapy requests made a crawl's memory grow with its size.

Each source's waiting articles are kept in the order they were listed, in the crawl's scratch
database (crawler.db.scratch), and taken a few at a time as that source's requests finish.
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterable
from typing import Any

from crawler.db.scratch import scratch_database


class Backlog:
    """Waiting rows (any picklable tuple) per source, first in, first out."""

    def __init__(self) -> None:
        self._db = scratch_database()
        self._db.execute(
            "CREATE TABLE waiting (id INTEGER PRIMARY KEY, source TEXT NOT NULL, row BLOB)"
        )
        self._db.execute("CREATE INDEX waiting_by_source ON waiting (source, id)")
        self.waiting: Counter[str] = Counter()

    def __len__(self) -> int:
        return sum(self.waiting.values())

    def add(self, source: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """Queue rows of one source after those already waiting."""
        blobs = [(source, pickle.dumps(row, pickle.HIGHEST_PROTOCOL)) for row in rows]
        if blobs:
            self._db.executemany("INSERT INTO waiting (source, row) VALUES (?, ?)", blobs)
            self.waiting[source] += len(blobs)

    def take(self, source: str, n: int) -> list[tuple[Any, ...]]:
        """The (up to) n oldest rows of a source, removed from the backlog."""
        if n <= 0 or not self.waiting[source]:
            return []
        found = self._db.execute(
            "SELECT id, row FROM waiting WHERE source = ? ORDER BY id LIMIT ?", (source, n)
        ).fetchall()
        if found:
            self._db.execute(
                "DELETE FROM waiting WHERE source = ? AND id <= ?", (source, found[-1][0])
            )
            self.waiting[source] -= len(found)
        return [pickle.loads(blob) for _, blob in found]

    def sources(self) -> list[str]:
        """The sources with rows waiting."""
        return [s for s, n in self.waiting.items() if n > 0]

    def close(self) -> None:
        """Drop the backlog (its file goes with it)."""
        self._db.close()
        self.waiting.clear()
