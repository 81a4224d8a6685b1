"""A crawl's per-article memory off the heap: the backlog of article requests waiting their
turn and the URLs claimed (spiders/backlog.py, crawler/db/scratch.py), and a crawl through
them that still fetches every article once and settles its feed."""

from __future__ import annotations

from pathlib import Path

from crawler.db.scratch import Claims
from spiders.backlog import Backlog
from tests.server import FixtureServer, Route
from tests.test_crawl import article_route, crawl, query
from tests.test_faults import rss


def test_backlog_gives_each_source_its_rows_in_order() -> None:
    backlog = Backlog()
    backlog.add("a", [("a1", 1), ("a2", None)])
    backlog.add("b", [("b1", {"x": 1})])
    backlog.add("a", [("a3", 3)])
    assert len(backlog) == 4
    assert backlog.take("a", 2) == [("a1", 1), ("a2", None)]
    assert backlog.take("b", 0) == []
    assert sorted(backlog.sources()) == ["a", "b"]
    assert backlog.take("a", 5) == [("a3", 3)]
    assert backlog.take("a", 5) == []
    assert backlog.sources() == ["b"]
    assert backlog.take("b", 1) == [("b1", {"x": 1})]
    assert len(backlog) == 0
    backlog.close()


def test_claims_keep_order_and_answer_once() -> None:
    claims = Claims()
    urls = [f"https://x.test/{i}" for i in range(1200)]  # more than one IN list
    assert claims.unclaimed(urls + urls[:3]) == urls
    claims.add(urls[::2])
    assert claims.unclaimed(reversed(urls[:6])) == [urls[5], urls[3], urls[1]]
    claims.add(urls)
    assert claims.unclaimed(urls) == []


def test_a_long_feed_on_one_slow_site_is_fetched_once_and_settled(
    server: FixtureServer, tmp_path: Path, db_url: str
) -> None:
    paths = [f"/long/article-{i}" for i in range(60)]
    server.add("/long/feed", Route(rss(server.base, paths), "application/rss+xml"))
    for i, path in enumerate(paths):
        server.add(path, article_route(f"Article numéro {i} du fil long"))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "long"\nfeeds = ["{server.base}/long/feed"]\n')

    # one request at a time on the site: two article requests in Scrapy's hands, the rest wait
    crawl(db_url, sources, "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=1")
    assert sorted(r["url"].removeprefix(server.base) for r in query(db_url)) == sorted(paths)
    fetched = [h.path for h in server.hits if h.path.startswith("/long/article")]
    assert sorted(fetched) == sorted(paths)  # each once
    server.hits.clear()
    crawl(db_url, sources)
    assert [(h.path, h.status) for h in server.hits if h.path.startswith("/long")] == [
        ("/long/feed", 304)
    ]
