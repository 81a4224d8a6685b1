"""Faults and hostile input: network errors, hostile bodies, bad encodings, the database
under load, what users type. docs/RELIABILITY.md is the matrix that names these tests.

Most cases share one crawl of a "fault world" (module fixture `faults`): every feed of it
exhibits a fault; the world is crawled twice and each test checks one case in the database,
the server's log of requests and the crawl's output.
"""

from __future__ import annotations

import gzip
import itertools
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import brotli
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import FAST, veille
from tests.server import FixtureServer, Hit, Route
from tests.world import PAGES, fill

FAULTS = Path(__file__).parent / "fixtures" / "faults"
RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"
MB = 1024 * 1024
BOMB_SIZE = 64 * MB  # decompressed; DOWNLOAD_MAXSIZE is 10 MB
CRAWL = [*FAST, "--set", "DOWNLOAD_TIMEOUT=1"]

WORDS = [
    "usine",
    "convention",
    "accord",
    "investissement",
    "emploi",
    "port",
    "énergie",
    "câble",
    "batterie",
    "hydrogène",
    "zone",
    "franche",
    "équipementier",
    "ministère",
    "société",
    "groupe",
    "projet",
    "contrat",
    "dirhams",
    "million",
    "production",
    "export",
    "formation",
    "ingénieur",
    "filiale",
    "partenariat",
    "capacité",
    "ligne",
    "atelier",
    "phosphate",
    "textile",
    "aéronautique",
    "agroalimentaire",
    "logistique",
    "plateforme",
    "région",
    "ville",
]
CITIES = [
    "Tanger",
    "Kénitra",
    "Casablanca",
    "Rabat",
    "Agadir",
    "Oujda",
    "Fès",
    "Meknès",
    "Settat",
    "Berrechid",
]


# -- building blocks (also used by tests/test_kill.py) ----------------------------------------


def article_page(n: int, title: str | None = None) -> bytes:
    """An article page with a text of its own (distinct for every n), UTF-8."""
    rng = random.Random(n)
    title = title or f"Dépêche {n} : {rng.choice(CITIES)} accueille un projet industriel"
    paragraphs = []
    for p in range(5):
        words = " ".join(rng.choice(WORDS) for _ in range(35))
        paragraphs.append(
            f"<p>Dépêche {n}, paragraphe {p} : à {rng.choice(CITIES)}, {words}, "
            f"pour un montant de {rng.randint(10, 990)} millions de dirhams.</p>"
        )
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><nav><a href='/'>Accueil</a></nav>"
        f"<article><h1>{title}</h1>{''.join(paragraphs)}</article>"
        "<footer>Tous droits réservés</footer></body></html>"
    ).encode()


def rss(base: str, paths: list[str], title: str = "Fil") -> bytes:
    """An RSS 2.0 feed listing these article paths."""
    items = "".join(
        f"<item><title>{title} {i}</title><link>{base}{path}</link>"
        "<pubDate>Wed, 05 Nov 2025 08:00:00 +0000</pubDate></item>"
        for i, path in enumerate(paths)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}'
        f"</title><link>{base}</link>{items}</channel></rss>"
    ).encode()


def sources_toml(entries: dict[str, dict[str, list[str]]]) -> str:
    """A sources file: name -> {"feeds": [...], "sitemaps": [...]}."""
    out = []
    for name, lists in entries.items():
        out.append(f'[[source]]\nname = "{name}"\nlanguage = "fr"')
        for key, urls in lists.items():
            out.append(f"{key} = [{', '.join(repr(u) for u in urls)}]")
        out.append("")
    return "\n".join(out).replace("'", '"')


def crawl_feeds(
    tmp_path: Path, feeds: dict[str, str], hosts: str, *settings: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """`veille crawl` of one feed per source (name -> feed URL) on loopback `hosts` (a
    NO_PROXY list) into a new SQLite database, with extra `--set` NAME=VALUE settings: the
    result and the database URL."""
    sources = tmp_path / "sources.toml"
    sources.write_text(
        sources_toml({name: {"feeds": [url]} for name, url in feeds.items()}), encoding="utf-8"
    )
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    extra = [arg for value in settings for arg in ("--set", value)]
    result = veille(
        "crawl",
        "--db",
        db,
        "--sources",
        str(sources),
        *CRAWL,
        *extra,
        env={"NO_PROXY": f"{hosts},localhost"},
    )
    return result, db


def sql(db: str, statement: str, **params: Any) -> list[Any]:
    """Rows of one statement against a test database (any backend)."""
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(statement), params))
    finally:
        engine.dispose()


def paths(hits: list[Hit], prefix: str) -> list[str]:
    """Paths asked that start with prefix."""
    return [h.path for h in hits if h.path.startswith(prefix)]


def asked(hits: list[Hit], path: str) -> int:
    """How many times exactly this path was asked."""
    return sum(1 for h in hits if h.path == path)


# -- the fault world -----------------------------------------------------------------------


def bomb(encoding: str) -> bytes:
    """BOMB_SIZE bytes of HTML once decoded, a few hundred KB on the wire."""
    html = b"<html><body>" + b"<p>bombe</p>" * (BOMB_SIZE // 12)
    return gzip.compress(html, 9) if encoding == "gzip" else brotli.compress(html, quality=5)


def billion_laughs(root: bytes) -> bytes:
    """An XML document whose entity &lol9; expands to 10**9 'lol's, around `root`."""
    entities = [b'<!ENTITY lol "lol">'] + [
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    ]
    return b'<?xml version="1.0"?>\n<!DOCTYPE lolz [' + b"".join(entities) + b"]>\n" + root


def encoded_page(
    variant: str, lang: str, encoding: str, bom: bool = False, meta: str | None = None
) -> bytes:
    """An encodings fixture in `encoding`, optionally with a BOM and a <meta charset>; each
    variant gets a sentence of its own, so that no two are one text (and one article)."""
    template = (FAULTS / f"{lang}.html").read_text(encoding="utf-8")
    title = "اتفاقية شراكة صناعية بطنجة" if lang == "ar" else "Kénitra : une usine à 450 MDH"
    own = f"مرجع الخبر {variant}." if lang == "ar" else f"Référence de la dépêche : {variant}."
    html = template.replace("{TITLE}", title).replace("</article>", f"<p>{own}</p></article>")
    if meta:
        html = html.replace("<head>", f'<head>\n<meta charset="{meta}">', 1)
    return (b"\xef\xbb\xbf" if bom else b"") + html.encode(encoding)


# path -> (language, encoding of the bytes, BOM?, <meta charset>, Content-Type header)
ENCODED_PAGES = {
    # undeclared: detection
    "/enc/ar-cp1256-undeclared": ("ar", "cp1256", False, None, "text/html"),
    "/enc/fr-latin1-undeclared": ("fr", "latin-1", False, None, "text/html"),
    # a BOM beats a wrong declaration
    "/enc/fr-bom-declared-latin1": ("fr", "utf-8", True, None, "text/html; charset=iso-8859-1"),
    "/enc/ar-bom-meta-cp1256": ("ar", "utf-8", True, "windows-1256", "text/html"),
    # wrongly declared: the bytes cannot be what the declaration says
    "/enc/fr-latin1-declared-utf8": ("fr", "latin-1", False, None, HTML),
    "/enc/ar-cp1256-meta-utf8": ("ar", "cp1256", False, "utf-8", "text/html"),
    "/enc/fr-utf8-declared-latin1": ("fr", "utf-8", False, None, "text/html; charset=iso-8859-1"),
}


def encodings_routes() -> dict[str, tuple[Route, str | None]]:
    """path -> (route, what the stored text must contain, or None: nothing to store)."""
    expected = {"ar": "وحدة صناعية جديدة", "fr": "près de 800 emplois directs"}
    routes: dict[str, tuple[Route, str | None]] = {
        path: (Route(encoded_page(path, lang, enc, bom, meta), ctype), expected[lang])
        for path, (lang, enc, bom, meta, ctype) in ENCODED_PAGES.items()
    }
    truncated = fill((PAGES / "truncated.html").read_bytes(), "http://x.test")
    routes["/enc/truncated"] = (Route(truncated, HTML), "10 millions")  # text before the cut
    routes["/enc/empty"] = (Route(b"", HTML), None)
    routes["/enc/binary-as-html"] = (Route(random.Random(6).randbytes(50_000), HTML), None)
    return routes


ENCODINGS = encodings_routes()
NET_ARTICLES = {
    "/net/a500": Route(b"Internal error", "text/plain", status=500, conditional=False),
    "/net/a500-once": Route(article_page(1001), HTML, fail_first=1, fail_status=500),
    "/net/slow": Route(article_page(1002), HTML, delay=2.5),
    "/net/gone": Route(b"<html><body>Page introuvable</body></html>", HTML, status=404),
    "/net/moved": Route(b"", HTML, status=301, headers={"Location": "/net/target"}),
    "/net/target": Route(article_page(1003), HTML),
    "/net/loop-a": Route(b"", HTML, status=302, headers={"Location": "/net/loop-b"}),
    "/net/loop-b": Route(b"", HTML, status=302, headers={"Location": "/net/loop-a"}),
    # /net/self-loop and /net/self-loop/ (one route) both redirect to the slash form: a
    # same-page redirect is followed past the duplicate filter, and must still end
    "/net/self-loop": Route(b"", HTML, status=301, headers={"Location": "/net/self-loop/"}),
}


def hostile_articles() -> dict[str, Route]:
    huge = b"<html><body>" + b"<p>%s</p>" % (b"x" * 1000) * (30 * 1024)  # 30 MB
    return {
        "/hostile/huge": Route(huge, HTML),
        "/hostile/huge-no-length": Route(huge, HTML, send_length=False),
        "/hostile/gzip-bomb": Route(bomb("gzip"), HTML, headers={"Content-Encoding": "gzip"}),
        "/hostile/br-bomb": Route(bomb("br"), HTML, headers={"Content-Encoding": "br"}),
        "/hostile/report.pdf": Route(b"%PDF-1.4\n" + b"\0" * 1000, "application/pdf"),
        "/hostile/photo": Route(b"\xff\xd8\xff\xe0" + b"\0" * 1000, "image/jpeg"),
        "/hostile/fine": Route(article_page(1004), HTML),
    }


@dataclass
class FaultRun:
    server: FixtureServer
    db: str
    runs: list[subprocess.CompletedProcess]
    hits: list[list[Hit]]  # the server's log, per run
    seconds: list[float]


def build_fault_world(srv: FixtureServer) -> dict[str, dict[str, list[str]]]:
    base = srv.base
    srv.add("/robots.txt", Route(b"User-agent: *\nDisallow: /private/\n", "text/plain"))
    hostile = hostile_articles()
    for path, route in {**NET_ARTICLES, **hostile}.items():
        srv.add(path, route)
    for path, (route, _) in ENCODINGS.items():
        srv.add(path, route)
    net = [p for p in NET_ARTICLES if p not in ("/net/target", "/net/loop-b")]
    srv.add("/net/feed", Route(rss(base, net), RSS))
    srv.add("/hostile/feed", Route(rss(base, list(hostile)), RSS))
    srv.add("/enc/feed", Route(rss(base, list(ENCODINGS)), RSS))
    # hostile listings
    big = rss(base, [f"/private/item-{i}" for i in range(10_000)], "Dix mille")
    srv.add("/lists/ten-thousand", Route(big, RSS))
    srv.add(
        "/lists/gzip-bomb",
        Route(bomb("gzip"), RSS, headers={"Content-Encoding": "gzip"}),
    )
    lol_feed = billion_laughs(
        b'<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
        + f"<link>{base}/lists/lol-article</link></item></channel></rss>".encode()
    )
    srv.add("/lists/billion-laughs", Route(lol_feed, RSS))
    srv.add("/lists/lol-article", Route(article_page(1005), HTML))
    lol_map = billion_laughs(
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>'
        + f"{base}/lists/lol-map-article/&lol9;".encode()
        + b"</loc></url></urlset>"
    )
    srv.add("/lists/billion-laughs-sitemap.xml", Route(lol_map, "application/xml"))
    zero_map = gzip.compress(b"<urlset>" + b" " * BOMB_SIZE + b"</urlset>", 9)
    srv.add("/lists/sitemap-bomb.xml.gz", Route(zero_map, "application/x-gzip"))
    srv.add("/lists/garbage", Route(random.Random(7).randbytes(20_000), RSS))
    srv.add("/lists/empty", Route(b"", RSS))
    srv.add("/lists/html-not-feed", Route(b"<html><body><p>Maintenance</p></body></html>", HTML))
    srv.add("/lists/image", Route(b"\x89PNG\r\n\x1a\n" + b"\0" * 500, "image/png"))
    cut = rss(base, ["/lists/cut-article", "/lists/never"])
    srv.add("/lists/truncated-feed", Route(cut[: cut.index(b"/lists/never")], RSS))
    srv.add("/lists/cut-article", Route(article_page(1006), HTML))
    srv.add("/lists/a500", Route(b"oops", "text/plain", status=500, conditional=False))
    return {
        "net": {"feeds": [f"{base}/net/feed"]},
        "hostile": {"feeds": [f"{base}/hostile/feed"]},
        "enc": {"feeds": [f"{base}/enc/feed"]},
        "lists": {
            "feeds": [
                f"{base}/lists/{name}"
                for name in (
                    "ten-thousand",
                    "gzip-bomb",
                    "billion-laughs",
                    "garbage",
                    "empty",
                    "html-not-feed",
                    "image",
                    "truncated-feed",
                    "a500",
                )
            ],
            "sitemaps": [
                f"{base}/lists/billion-laughs-sitemap.xml",
                f"{base}/lists/sitemap-bomb.xml.gz",
            ],
        },
    }


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRun]:
    """The fault world, crawled twice into a fresh SQLite database."""
    tmp = tmp_path_factory.mktemp("faults")
    srv = FixtureServer().start()
    sources = tmp / "sources.toml"
    sources.write_text(sources_toml(build_fault_world(srv)), encoding="utf-8")
    db = f"sqlite:///{tmp / 'faults.sqlite3'}"
    run = FaultRun(srv, db, [], [], [])
    for _ in range(2):
        srv.hits.clear()
        started = time.monotonic()
        run.runs.append(veille("crawl", "--db", db, "--sources", str(sources), *CRAWL))
        run.seconds.append(time.monotonic() - started)
        run.hits.append(list(srv.hits))
    yield run
    srv.stop()


def failure(db: str, path_suffix: str) -> dict[str, Any] | None:
    rows = sql(
        db,
        "SELECT url, status, error, attempts, gone FROM url_failures WHERE url LIKE :u",
        u=f"%{path_suffix}",
    )
    return dict(rows[0]._mapping) if rows else None


def stored(db: str, path_suffix: str) -> list[dict[str, Any]]:
    """Articles stored under this URL or with it as an alias."""
    rows = sql(
        db,
        "SELECT id, url, text FROM articles WHERE url LIKE :u OR id IN "
        "(SELECT article_id FROM article_aliases WHERE url LIKE :u)",
        u=f"%{path_suffix}",
    )
    return [dict(r._mapping) for r in rows]


# -- 1. network faults -------------------------------------------------------------------


def test_fault_world_runs_without_crash(faults: FaultRun) -> None:
    for result in faults.runs:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert max(faults.seconds) < 90


def test_5xx_is_retried_then_recorded_and_tried_again_next_run(faults: FaultRun) -> None:
    first, second = faults.hits
    # RETRY_TIMES=1: two attempts per run, and the URL is asked again on the next run
    assert asked(first, "/net/a500") == 2
    assert asked(second, "/net/a500") == 2
    row = failure(faults.db, "/net/a500")
    assert row is not None and row["status"] == 500 and not row["gone"]
    assert row["attempts"] == 2
    assert not stored(faults.db, "/net/a500")
    # failing once, then fine: the retry inside the run stores it
    assert asked(first, "/net/a500-once") == 2
    assert len(stored(faults.db, "/net/a500-once")) == 1
    assert failure(faults.db, "/net/a500-once") is None
    assert asked(second, "/net/a500-once") == 0


def test_timeout_is_retried_then_recorded_and_tried_again_next_run(faults: FaultRun) -> None:
    first, second = faults.hits
    assert asked(first, "/net/slow") == 2
    assert asked(second, "/net/slow") == 2
    row = failure(faults.db, "/net/slow")
    assert row is not None and not row["gone"] and row["attempts"] == 2
    assert "Timeout" in row["error"]
    assert "/net/slow" in faults.runs[0].stderr  # the log line names the URL


def test_404_is_remembered_and_not_asked_again(faults: FaultRun) -> None:
    first, second = faults.hits
    assert asked(first, "/net/gone") == 1
    assert asked(second, "/net/gone") == 0
    row = failure(faults.db, "/net/gone")
    assert row is not None and row["status"] == 404 and row["gone"]


def test_redirect_is_followed_and_stored_once(faults: FaultRun) -> None:
    rows = stored(faults.db, "/net/target")
    assert len(rows) == 1
    aliases = sql(
        faults.db,
        "SELECT url FROM article_aliases WHERE article_id = :i",
        i=rows[0]["id"],
    )
    assert any(r.url.endswith("/net/moved") for r in aliases)  # known under both addresses


def test_same_page_redirect_loop_is_stopped_at_the_first_repeat(faults: FaultRun) -> None:
    for run in faults.hits:
        assert paths(run, "/net/self-loop") == ["/net/self-loop", "/net/self-loop/"]
    row = failure(faults.db, "/net/self-loop")
    assert row is not None and "redirect loop" in row["error"] and not row["gone"]


def test_redirect_loop_is_stopped(faults: FaultRun) -> None:
    first, second = faults.hits
    assert 2 <= len(paths(first, "/net/loop-")) <= 6  # REDIRECT_MAX_TIMES = 5
    assert len(paths(second, "/net/loop-")) <= 6
    row = failure(faults.db, "/net/loop-a")  # recorded under the URL the feed gave
    assert row is not None and "redirect" in row["error"].lower() and not row["gone"]
    assert "/net/loop-a" in faults.runs[0].stderr


# -- 2. hostile responses ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/hostile/huge", "/hostile/huge-no-length"])
def test_huge_page_is_cut_at_the_size_cap(faults: FaultRun, path: str) -> None:
    row = failure(faults.db, path)
    assert row is not None, "a 30 MB page must be refused and recorded"
    assert "maxsize" in row["error"].lower() or "cancel" in row["error"].lower(), row
    assert not stored(faults.db, path)


@pytest.mark.parametrize("path", ["/hostile/gzip-bomb", "/hostile/br-bomb"])
def test_decompression_bomb_is_stopped_at_the_cap(faults: FaultRun, path: str) -> None:
    row = failure(faults.db, path)
    assert row is not None, "a decompression bomb must be refused and recorded"
    assert "DOWNLOAD_MAXSIZE" in row["error"], row
    assert row["gone"]  # the same bomb next time: not asked again
    assert paths(faults.hits[1], path) == []
    assert not stored(faults.db, path)
    assert len(stored(faults.db, "/hostile/fine")) == 1  # the rest of the feed is fine


def test_size_capped_pages_are_not_fetched_every_run(faults: FaultRun) -> None:
    # a page over the cap will be over it next time too
    for path in ("/hostile/huge", "/hostile/huge-no-length"):
        row = failure(faults.db, path)
        assert row is not None and row["gone"], row
        assert paths(faults.hits[1], path) == []


@pytest.mark.parametrize("path", ["/hostile/report.pdf", "/hostile/photo"])
def test_content_that_is_not_html_is_skipped(faults: FaultRun, path: str) -> None:
    row = failure(faults.db, path)
    assert row is not None and row["gone"] and "not an HTML page" in row["error"]
    assert not stored(faults.db, path)


def test_feed_of_ten_thousand_items(faults: FaultRun) -> None:
    # every item is under a robots.txt Disallow: 10,000 requests settled without a fetch
    count = sql(
        faults.db, "SELECT count(*) FROM url_failures WHERE url LIKE :u", u="%/private/item-%"
    )[0][0]
    assert count == 10_000
    assert not paths(faults.hits[0], "/private/")
    feed = sql(
        faults.db, "SELECT body_hash, last_status FROM feeds WHERE url LIKE :u", u="%ten-thousand"
    )[0]
    assert feed.body_hash and feed.last_status in (200, 304)  # settled: its state was saved
    assert paths(faults.hits[1], "/lists/ten-thousand") == ["/lists/ten-thousand"]
    assert [h.status for h in faults.hits[1] if h.path == "/lists/ten-thousand"] == [304]


def feed_error(db: str, path: str) -> str | None:
    rows = sql(db, "SELECT last_error FROM feeds WHERE url LIKE :u", u=f"%{path}")
    return rows[0].last_error


@pytest.mark.parametrize(
    "path", ["/lists/billion-laughs", "/lists/billion-laughs-sitemap.xml"], ids=["feed", "sitemap"]
)
def test_entity_expansion_is_refused(faults: FaultRun, path: str) -> None:
    error = feed_error(faults.db, path)
    assert error and "entit" in error.lower(), error
    assert not paths(faults.hits[0], "/lists/lol-")


def test_entity_expansion_is_refused_in_bounded_time_and_memory() -> None:
    import tracemalloc

    from spiders.base import ListingError
    from spiders.feeds import parse_feed
    from spiders.sitemaps import parse_sitemap

    feed = billion_laughs(b'<rss version="2.0"><channel><title>&lol9;</title></channel></rss>')
    sitemap = billion_laughs(b"<urlset><url><loc>http://x.test/&lol9;</loc></url></urlset>")
    parse_feed(rss("http://x.test", ["/a"]), "http://x.test/feed", RSS)  # warm up
    tracemalloc.start()
    try:
        for parse in (
            lambda: parse_feed(feed, "http://x.test/feed", RSS),
            lambda: parse_sitemap(sitemap, timedelta(days=3)),
        ):
            started = time.monotonic()
            with pytest.raises(ListingError, match="entit"):
                parse()
            assert time.monotonic() - started < 1.0
        assert tracemalloc.get_traced_memory()[1] < 5 * MB
    finally:
        tracemalloc.stop()


def test_compressed_listing_bombs_are_stopped(faults: FaultRun) -> None:
    assert "DOWNLOAD_MAXSIZE" in (feed_error(faults.db, "/lists/gzip-bomb") or "")
    error = feed_error(faults.db, "/lists/sitemap-bomb.xml.gz") or ""
    assert "gzip" in error and "exceeded" in error, error


# -- 3. bad encodings and markup ---------------------------------------------------------


@pytest.mark.parametrize("path", list(ENCODINGS))
def test_encodings_and_markup(faults: FaultRun, path: str) -> None:
    _, expected = ENCODINGS[path]
    rows = stored(faults.db, path)
    if expected is None:
        assert not rows
        row = failure(faults.db, path)
        assert row is not None and "no article text" in row["error"]
        assert path in faults.runs[0].stderr  # the log line names the URL
        return
    assert len(rows) == 1, f"{path} not stored"
    assert expected in rows[0]["text"], rows[0]["text"][:300]
    assert "\ufffd" not in rows[0]["text"]
    assert "Ã©" not in rows[0]["text"]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/lists/garbage", "not a readable feed"),
        ("/lists/empty", "not"),
        ("/lists/html-not-feed", "not"),
        ("/lists/image", "not"),
        ("/lists/a500", "HTTP 500"),
    ],
)
def test_broken_listings_are_logged_with_their_url(faults: FaultRun, path: str, why: str) -> None:
    error = feed_error(faults.db, path)
    assert error and why in error, error
    assert f"{faults.server.base}{path}: " in faults.runs[0].stderr
    if path == "/lists/a500":  # retried in the run, asked again next run
        assert asked(faults.hits[0], path) == 2 and asked(faults.hits[1], path) == 2


def test_an_empty_malformed_feed_is_empty_not_broken() -> None:
    """A section feed with no items yet and an unescaped `&` in its title is read (no items),
    so its validators are kept and the next poll is a 304, not a full download."""
    from spiders.base import ListingError
    from spiders.feeds import parse_feed

    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Eco & Co</title></channel></rss>'
    )
    assert parse_feed(body, "http://x.test/feed", RSS).entries == []
    with pytest.raises(ListingError, match="not a readable feed"):
        parse_feed(b"<html><body>Eco & Co</body></html>", "http://x.test/feed", RSS)


def test_truncated_feed_is_used(faults: FaultRun) -> None:
    assert len(stored(faults.db, "/lists/cut-article")) == 1
    assert feed_error(faults.db, "/lists/truncated-feed") is None


# -- 1 (cont.). 403 and 429 slow the site down ---------------------------------------------


def test_403_and_429_slow_that_site_down(tmp_path: Path) -> None:
    """Three sites, each on its own loopback address (so its own download slot): one answers
    429 with Retry-After: 1, one 403 (no Retry-After: the delay doubles, at least 2 s), one
    is healthy. After the refusal each is asked once per its new delay, counted from the end
    of the previous answer; the third keeps its pace. Article pages take 0.3 s, so that
    requests are still queued when the refusal lands."""
    sites = {
        name: FixtureServer(host).start()
        for name, host in (("busy", "127.0.0.2"), ("strict", "127.0.0.3"), ("calm", "127.0.0.1"))
    }
    try:
        for k, (name, srv) in enumerate(sites.items()):
            srv.add("/robots.txt", Route(b"User-agent: *\nAllow: /\n", "text/plain"))
            pages = [f"/{name}/a{i}" for i in range(5)]
            srv.add(f"/{name}/feed", Route(rss(srv.base, pages), RSS))
            for i, path in enumerate(pages):
                srv.add(path, Route(article_page(2000 + 10 * k + i), HTML, delay=0.3))
        # articles are asked in the order listed: a0 first
        sites["busy"].routes["/busy/a0"] = Route(
            article_page(3000),
            HTML,
            fail_first=1,
            fail_status=429,
            fail_headers={"Retry-After": "1"},
        )
        sites["strict"].routes["/strict/a0"] = Route(b"Forbidden", "text/plain", status=403)
        result, db = crawl_feeds(
            tmp_path,
            {n: f"{s.base}/{n}/feed" for n, s in sites.items()},
            "127.0.0.1,127.0.0.2,127.0.0.3",
            "AUTOTHROTTLE_MAX_DELAY=5",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        # the delay asked (1 s; 2 s doubled), not less, and not doubled again
        for name, low, high in (("busy", 0.9, 1.9), ("strict", 1.8, 3.5)):
            hits = sorted(sites[name].hits, key=lambda h: h.at)
            refused = next(h for h in hits if h.status in (403, 429))
            after = [h for h in hits if h.at > refused.at]
            # the request already in flight may land at once; every later one waits
            waits = [b.at - a.answered for a, b in itertools.pairwise(after)]
            assert len(waits) >= 2 and all(low <= w <= high for w in waits), (
                name,
                waits,
                [(h.path, h.status, round(h.at - hits[0].at, 2)) for h in hits],
            )
        calm = sorted(h.at for h in sites["calm"].hits)
        assert max(b - a for a, b in itertools.pairwise(calm)) < 0.9  # not slowed
        assert len(stored(db, "/busy/a0")) == 1  # asked again after Retry-After, and stored
        row = failure(db, "/strict/a0")
        assert row is not None and row["status"] == 403 and not row["gone"]
    finally:
        for srv in sites.values():
            srv.stop()


def test_crawl_delay_is_counted_from_the_previous_answer(tmp_path: Path) -> None:
    """robots.txt asks one request a second; pages take 0.5 s to answer. Each request must
    reach the site a Crawl-delay after the previous answer ended, one at a time: counted from
    when the previous request was sent, a request held up on a busy machine lands early."""
    srv = FixtureServer("127.0.0.4").start()
    try:
        srv.add("/robots.txt", Route(b"User-agent: *\nCrawl-delay: 1\n", "text/plain"))
        pages = [f"/slow/a{i}" for i in range(4)]
        srv.add("/slow/feed", Route(rss(srv.base, pages), RSS))
        for i, path in enumerate(pages):
            srv.add(path, Route(article_page(4000 + i), HTML, delay=0.5))
        result, db = crawl_feeds(
            tmp_path, {"slow": f"{srv.base}/slow/feed"}, "127.0.0.4", "DOWNLOAD_TIMEOUT=5"
        )
        assert result.returncode == 0, result.stderr[-3000:]
        hits = sorted(srv.hits, key=lambda h: h.at)
        assert sorted(h.path for h in hits[2:]) == pages  # robots.txt, the feed, each page once
        # after robots.txt: the feed, then each page a second after the previous answer
        waits = [b.at - a.answered for a, b in itertools.pairwise(hits[1:])]
        assert all(w >= 0.95 for w in waits), [
            (h.path, round(h.at - hits[0].at, 2), round(h.answered - hits[0].at, 2)) for h in hits
        ]
        assert len(stored(db, pages[0])) == 1
    finally:
        srv.stop()


def test_retry_after_of_a_feed_is_kept(tmp_path: Path, server: FixtureServer) -> None:
    server.add(
        "/throttled/feed",
        Route(
            b"slow down",
            "text/plain",
            status=429,
            conditional=False,
            headers={"Retry-After": "3600"},
        ),
    )
    sources = tmp_path / "sources.toml"
    sources.write_text(
        sources_toml({"throttled": {"feeds": [f"{server.base}/throttled/feed"]}}),
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    result = veille(
        "crawl", "--db", db, "--sources", str(sources), *CRAWL, "--set", "RETRY_TIMES=0"
    )
    assert result.returncode == 2, result.stderr[-2000:]  # its only source was not read
    row = sql(db, "SELECT last_status, retry_after_at FROM feeds")[0]
    assert row.last_status == 429
    when = datetime.fromisoformat(str(row.retry_after_at)).replace(tzinfo=UTC)
    assert timedelta(minutes=55) < when - datetime.now(UTC) < timedelta(minutes=61)


def test_retry_after_header_forms() -> None:
    from crawler.throttle import retry_after_seconds

    now = datetime(2025, 11, 5, 8, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120", now) == 120
    assert retry_after_seconds(b"Wed, 05 Nov 2025 08:01:00 GMT", now) == 60
    assert retry_after_seconds(b"Wed, 05 Nov 2025 07:00:00 GMT", now) == 0
    for junk in (None, b"", b"soon", b"-5", b"\xff\xfe"):
        assert retry_after_seconds(junk, now) is None


# -- 6. what users type ------------------------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "x'); DROP TABLE articles; --",
    '" OR 1=1 --',
    "1 UNION SELECT url, text FROM articles",
    "%",
    "_",
    "\\",
    "lenouvelliste' --",
]
FTS_SYNTAX = [
    "NEAR(",
    '"unbalanced',
    "IMANOR AND",
    "*",
    "^IMANOR",
    "title:IMANOR",
    "articles_fts:IMANOR",
    "(",
    ") OR (",
    "AND OR NOT",
    '""',
    "-",
    "IMANOR NOT",
    "a" * 5000,
]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`veille ARGS` in this process (fast): exit code, stdout, stderr."""
    import logging

    from crawler.cli import main, output

    root = logging.getLogger()
    handlers = list(root.handlers)
    # write_rows binds sys.stdout as a default when first imported (under another test's
    # capture): point it at this test's stdout (reported: output.write_rows out=None)
    output.write_rows.__defaults__ = (sys.stdout,)
    try:
        code = main(list(args))
    finally:  # main() sets up logging on the captured stderr: leave no handler behind
        for handler in set(root.handlers) - set(handlers):
            root.removeHandler(handler)
    out, err = capsys.readouterr()
    return code, out, err


def test_query_filters_are_bound_parameters(
    server: FixtureServer, sources: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    crawl = veille(
        "crawl", "--db", db_url, "--sources", str(sources), *FAST, "--source", "lenouvelliste"
    )
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    code, out, _ = run_cli(capsys, "query", "--db", db_url, "--format", "jsonl")
    total = len(out.splitlines())
    assert code == 0 and total >= 1
    for payload in INJECTIONS + FTS_SYNTAX:
        for flag in ("--search", "--source", "--sector"):
            code, out, err = run_cli(
                capsys, "query", "--db", db_url, "--format", "jsonl", flag, payload
            )
            assert code in (0, 2), (flag, payload, err)
            assert "Traceback" not in err
            if code == 2:
                assert err.startswith("veille: "), (flag, payload, err)
            else:
                rows = [json.loads(line) for line in out.splitlines()]
                if flag != "--search":  # no source or sector has such a name
                    assert rows == [], (flag, payload)
    # the table and its rows are still there
    code, out, _ = run_cli(capsys, "query", "--db", db_url, "--format", "jsonl")
    assert code == 0 and len(out.splitlines()) == total
    code, out, _ = run_cli(
        capsys, "query", "--db", db_url, "--format", "jsonl", "--search", "IMANOR"
    )
    assert code == 0 and len(out.splitlines()) == 1


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ('name = "lematin"\nlanguage = "xx"\nfeeds = ["https://a.ma/f"]', "'lematin'"),
        ('name = "lematin"\nfeeds = ["https://a.ma/f"]\ninterval = "fast"', "'lematin'"),
        ('name = "lematin"\nfeeds = "https://a.ma/f"', "'lematin'"),
        ('name = "lematin"\nfeeds = ["ftp://a.ma/f"]', "'lematin'"),
        ('name = "lematin"\nfeeds = ["https:///f"]', "'lematin'"),
        ('name = "lematin"\nfeeds = ["https://a.ma/f"]\nenabled = "yes"', "'lematin'"),
        ('name = "lematin"\nfeeds = ["https://a.ma/f"]\nfeed = ["x"]', "'lematin'"),
        ('name = "lematin"\nfeeds = ["https://a.ma/f"]\nschedule = "99 * * * *"', "'lematin'"),
        ('name = "lematin"\nlanguage = 3\nfeeds = ["https://a.ma/f"]', "'lematin'"),
        ('name = "le matin; DROP"\nfeeds = ["https://a.ma/f"]', "#2"),
        ('name = "ok"\nfeeds = ["https://b.ma/f"]', "duplicate"),
    ],
)
def test_bad_sources_value_names_the_entry(tmp_path: Path, toml: str, named: str) -> None:
    from crawler.core.sources import SourcesError, load_sources

    path = tmp_path / "sources.toml"
    path.write_text(f'[[source]]\nname = "ok"\nfeeds = ["https://a.ma/f"]\n\n[[source]]\n{toml}\n')
    with pytest.raises(SourcesError) as caught:
        load_sources(path)
    assert named in str(caught.value)


def test_bad_sources_value_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nname = "lematin"\nlanguage = "xx"\nfeeds = ["https://a.ma/f"]\n')
    for command in (["sources"], ["crawl", "--db", str(tmp_path / "v.sqlite3")]):
        result = veille(*command, "--sources", str(path))
        assert result.returncode == 2
        assert result.stderr.startswith("veille: ") and "'lematin'" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_database_password_never_shown(server: FixtureServer, sources: Path, db_url: str) -> None:
    secret = "Sup3rS3cretPw"
    assert "postgres@" in db_url
    good = db_url.replace("postgres@", f"postgres:{secret}@", 1)  # trust auth ignores it
    bad = good.replace("127.0.0.1:5432", "127.0.0.1:1", 1)
    runs = [
        (good, ["crawl", "-v", "--sources", str(sources), *FAST, "--source", "mwn"]),
        (good, ["query", "-v", "--search", "tire"]),
        (good, ["stats", "-v"]),
        (good, ["sources", "--check", "--sources", str(sources)]),
        (bad, ["crawl", "-v", "--sources", str(sources), *FAST, "--source", "mwn"]),
        (bad, ["query", "-v"]),
        (bad, ["db", "upgrade", "-v"]),
    ]
    outputs = []
    for db, command in runs:
        result = veille(*command, "--db", db, env={"VEILLE_DB": db})
        outputs.append((command[0], db is good, result))
    for name, ok, result in outputs:
        assert secret not in result.stdout + result.stderr, (name, ok)
        if ok:
            assert result.returncode == 0, (name, result.stderr[-2000:])
        else:
            assert result.returncode != 0 and "Traceback" not in result.stderr, (
                name,
                result.stderr[-2000:],
            )
    stored_text = sql(db_url, "SELECT errors, counts FROM crawl_runs")
    assert secret not in repr(stored_text)
