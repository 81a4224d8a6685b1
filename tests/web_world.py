"""A database filled by a real crawl of the loopback world, for the web view's tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests import world
from tests.conftest import FAST, fresh_database, veille
from tests.server import FixtureServer


@contextmanager
def crawled(kind: str, folder: Path, pg_ok: bool) -> Iterator[tuple[str, Path]]:
    """A database of this kind after one crawl of the world, and the sources file."""
    with fresh_database(kind, folder, pg_ok) as url:
        server = FixtureServer().start()
        world.build(server)
        try:
            sources = world.sources_file(folder, server.base)
            result = veille("crawl", "--db", url, "--sources", str(sources), *FAST)
            assert result.returncode == 1, result.stderr[-3000:]  # the world's `dead` source
        finally:
            server.stop()
        yield url, sources
