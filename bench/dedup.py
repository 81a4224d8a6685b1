"""Deduplication benchmark: the dev corpus served with URL variants, crawled for real.

    python -m bench.dedup ../shared/corpus/dev [--prefill 100000]

Serves every labelled article on a loopback server, listed in two feeds of its outlet
under different URL variants (tracking parameters, AMP forms, an old URL that redirects),
then measures: duplicate rows, story pairwise precision and recall, article requests of a
repeated crawl, article requests after k new articles appear, and the store's dedup work
per article with a large database already in place.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from crawler.core import stories
from crawler.core.sources import Source
from crawler.db.store import CrawlStore
from crawler.items import ArticleItem
from storage.db import open_database, writing
from storage.models import Article, StoryBand
from tests.server import FixtureServer, Route

ROOT = Path(__file__).resolve().parent.parent
FAST = [
    "--set",
    "DOWNLOAD_DELAY=0",
    "--set",
    "AUTOTHROTTLE_START_DELAY=0",
    "--set",
    "AUTOTHROTTLE_MAX_DELAY=0.2",
    "--set",
    "CONCURRENT_REQUESTS_PER_DOMAIN=4",
]
VARIANTS = ("?amp=1", "amp/", "?noamp=mobile", "")
HELD_BACK = 5


def page(doc: dict, base: str, path: str) -> bytes:
    """An outlet-like article page: chrome around the text, JSON-LD and a canonical link."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in doc["body"])
    ld = json.dumps(
        {
            "@type": "NewsArticle",
            "headline": doc["title"],
            "datePublished": doc["published"],
            "author": {"name": doc["author"] or "Rédaction"},
        }
    )
    menu = "".join(f'<li><a href="/{doc["site"]}/c{i}">Rubrique {i}</a></li>' for i in range(12))
    return f"""<!DOCTYPE html><html lang="{doc["lang"]}"><head><meta charset="utf-8">
<title>{html.escape(doc["title"])} - {doc["site"]}</title>
<link rel="canonical" href="{base}{path}/">
<meta property="og:title" content="{html.escape(doc["title"])}">
<meta name="description" content="{html.escape(doc["lead"])}">
<script type="application/ld+json">{ld}</script></head><body>
<header><nav><ul>{menu}</ul></nav><div class="weather">21.9 C Casablanca</div></header>
<main><article><h1>{html.escape(doc["title"])}</h1><p class="lead">{html.escape(doc["lead"])}</p>
{body}</article></main>
<aside><h3>Les plus lus</h3><ul><li><a href="/x">Un autre article</a></li></ul></aside>
<footer>© {doc["site"]}</footer></body></html>""".encode()


def feed(items: list[tuple[dict, str]]) -> bytes:
    """An RSS 2.0 feed of (doc, link) items."""
    entries = "".join(
        f"<item><title>{html.escape(d['title'])}</title><link>{html.escape(link)}</link>"
        f"<pubDate>{datetime.fromisoformat(d['published']).strftime('%a, %d %b %Y %H:%M:%S %z')}"
        "</pubDate></item>"
        for d, link in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title>{entries}</channel></rss>'.encode()


class World:
    """The corpus on a loopback server, with two feeds per outlet."""

    def __init__(self, docs: list[dict]) -> None:
        self.docs = docs
        self.server = FixtureServer().start()
        self.paths: dict[str, str] = {}
        self.first: dict[str, bool] = {}  # the first articles, and whether one has an old URL
        base = self.server.base
        for d in docs:
            path = f"/{d['site']}/{d['section']}/{d['id']}-article"
            self.paths[d["id"]] = path
            self.server.add(path, Route(page(d, base, path)))
            self.server.add(f"{path}/amp", Route(page(d, base, path)))
            self.server.add(
                f"/{d['site']}/old/{d['id']}",
                Route(b"", status=301, headers={"Location": f"{base}{path}/"}, conditional=False),
            )
        self.server.add("/robots.txt", Route(b"User-agent: *\nAllow: /\n", "text/plain"))

    def publish(self, visible: list[dict]) -> None:
        """(Re)write every outlet's two feeds with the visible articles.

        The main feed links with tracking parameters; the section feed with AMP forms, and one
        in five of the first articles under an old URL that redirects to the article.
        """
        base = self.server.base
        if not self.first:
            self.first = {d["id"]: int(d["id"][1:]) % 5 == 4 for d in visible}
        for site in {d["site"] for d in self.docs}:
            mine = [d for d in visible if d["site"] == site]
            main = [
                (d, f"{base}{self.paths[d['id']]}/?utm_source=rss&utm_medium=rss") for d in mine
            ]
            section = [
                (
                    d,
                    f"{base}/{site}/old/{d['id']}"
                    if self.first.get(d["id"])
                    else f"{base}{self.paths[d['id']]}/{VARIANTS[i % 4]}",
                )
                for i, d in enumerate(mine)
            ]
            self.server.add(f"/{site}/feed", Route(feed(main), "application/rss+xml"))
            self.server.add(f"/{site}/section/feed", Route(feed(section), "application/rss+xml"))

    def sources(self, directory: Path) -> Path:
        path = directory / "sources.toml"
        base = self.server.base
        path.write_text(
            "".join(
                f'[[source]]\nname = "{site}"\nfeeds = ["{base}/{site}/feed", "{base}/{site}/section/feed"]\n\n'
                for site in sorted({d["site"] for d in self.docs})
            ),
            encoding="utf-8",
        )
        return path

    def article_requests(self) -> int:
        return sum(
            1 for h in self.server.hits if not h.path.endswith("/feed") and h.path != "/robots.txt"
        )


def crawl(db: str, sources: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--db",
            db,
            "--sources",
            str(sources),
            *FAST,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_PROXY": "127.0.0.1"},
    )
    if result.returncode:
        raise SystemExit(f"crawl failed: {result.stderr[-2000:]}")


def pairwise(story_of: dict[str, int], label: dict[str, str]) -> tuple[float, float]:
    ids = sorted(story_of)
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    predicted = {p for p in pairs if story_of[p[0]] == story_of[p[1]]}
    truth = {p for p in pairs if label[p[0]] == label[p[1]]}
    hit = len(predicted & truth)
    return (hit / len(predicted) if predicted else 1.0), (hit / len(truth) if truth else 1.0)


def crawl_benchmark(docs: list[dict], db: str, tmp: Path) -> dict:
    """Crawl the corpus world three times and count rows, stories and requests."""
    world = World(docs)
    ordered = sorted(docs, key=lambda d: d["published"])
    world.publish(ordered[:-HELD_BACK])
    sources = world.sources(tmp)
    crawl(db, sources)
    first_requests = world.article_requests()
    world.server.hits.clear()
    crawl(db, sources)
    repeat_requests = world.article_requests()
    repeat_feeds = [h.status for h in world.server.hits if h.path.endswith("/feed")]
    world.publish(ordered)
    world.server.hits.clear()
    crawl(db, sources)
    new_requests = world.article_requests()
    engine = open_database(db)
    with engine.connect() as conn:
        rows = conn.execute(select(Article.url, Article.story_id)).all()
    by_path = {p: i for i, p in world.paths.items()}
    doc_of = [by_path[u.removeprefix(world.server.base)] for u, _ in rows]
    story_of = {by_path[u.removeprefix(world.server.base)]: s for u, s in rows}
    precision, recall = pairwise(story_of, {d["id"]: d["story"] for d in docs})
    world.server.stop()
    return {
        "articles": len(docs),
        "rows": len(rows),
        "duplicate_rows": len(doc_of) - len(set(doc_of)),
        "missing": len(docs) - len(set(doc_of)),
        "first_crawl_article_requests": first_requests,
        "repeat_article_requests": repeat_requests,
        "repeat_feeds_304": f"{repeat_feeds.count(304)}/{len(repeat_feeds)}",
        "k_new": HELD_BACK,
        "requests_after_k_new": new_requests,
        "story_precision": round(precision, 3),
        "story_recall": round(recall, 3),
    }


def prefill(db: str, count: int, docs: list[dict]) -> CrawlStore:
    """A database already holding `count` articles with signatures and story bands."""
    engine = open_database(db)
    store = CrawlStore(engine, [Source("bench", "fr", feeds=("https://bench.ma/feed",))])
    source_id = store.source_ids["bench"]
    with engine.connect() as conn:
        have = conn.scalar(select(Article.id).order_by(Article.id.desc()).limit(1)) or 0
    start = datetime(2024, 1, 1, tzinfo=UTC)
    vocabulary = sorted({w for d in docs for p in d["body"] for w in p.split()})
    rng = random.Random(7)
    for lo in range(have, count, 5000):
        rows, bands = [], []
        for n in range(lo, min(lo + 5000, count)):
            # distinct articles in the corpus' words: unrelated text, as most stored news is
            text = " ".join(rng.choices(vocabulary, k=rng.randint(150, 400)))
            sig = stories.signature("", text)
            rows.append(
                {
                    "id": n + 1,
                    "url": f"https://bench.ma/a/{n}",
                    "source_id": source_id,
                    "text": text,
                    "published_at": start + timedelta(minutes=5 * n),
                    "fetched_at": start,
                    "content_hash": stories.content_hash(text),
                    "agreement_types": [],
                    "sectors": [],
                    "parties": [],
                    "amounts": [],
                    "evidence": [],
                    "story_id": n + 1,
                    "signature": sig,
                }
            )
            bands += [{"key": k, "article_id": n + 1} for k in stories.band_keys(sig)]
        with writing(engine) as conn:
            conn.execute(insert(Article), rows)
            conn.execute(insert(StoryBand), bands)
    return store


def dedup_cost(store: CrawlStore, docs: list[dict], count: int) -> dict:
    """Milliseconds per article of the store's dedup work (lookups and story matching)."""
    at = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=5 * count)
    per_article = []
    for batch_start in range(0, len(docs), 10):
        items = []
        for d in docs[batch_start : batch_start + 10]:
            text = "\n".join(d["body"])
            it = ArticleItem(
                source="bench",
                feed_id=None,
                request_url=f"https://n.ma/{d['id']}",
                response_url=f"https://n.ma/{d['id']}",
                html=None,
                fetched_at=at,
                url=f"https://n.ma/{d['id']}",
                title=d["title"],
                text=text,
                published_at=at,
            )
            it.content_hash = stories.content_hash(text)
            it.signature = stories.signature(d["title"], text)
            items.append(it)
        with store.engine.connect() as conn:
            began = time.perf_counter()
            store.existing(conn, items)
            store.match_stories(conn, [(it, 10_000_000 + i) for i, it in enumerate(items)])
            per_article.append((time.perf_counter() - began) * 1000 / len(items))
    return {
        "median_ms": round(statistics.median(per_article), 3),
        "p95_ms": round(sorted(per_article)[int(0.95 * (len(per_article) - 1))], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--prefill", type=int, default=100_000)
    args = parser.parse_args()
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(args.corpus.glob("d*.json"))]
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/dedup.sqlite3"
        print(json.dumps(crawl_benchmark(docs, db, Path(tmp)), indent=2))
        big = f"sqlite:///{ROOT / 'bench' / 'out' / 'dedup-prefill.sqlite3'}"
        (ROOT / "bench" / "out").mkdir(exist_ok=True)
        began = time.perf_counter()
        store = prefill(big, args.prefill, docs)
        print(f"prefill to {args.prefill} articles: {time.perf_counter() - began:.0f} s")
        print(
            json.dumps({"stored": args.prefill, **dedup_cost(store, docs, args.prefill)}, indent=2)
        )


if __name__ == "__main__":
    main()
