"""End to end: `veille crawl` against the loopback world, then `veille query` field by field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FAST, veille
from tests.server import FixtureServer, Route

NOUVELLISTE = "/lenouvelliste/economie/made-in-morocco-accords"
HESPRESS = "/hespress/economie/tawqi-ittifaqiyat-istithmar-sinaat-sayarat-1456789.html"
MWN = "/moroccoworldnews/2024/09/367120/morocco-signs-350-million-investment-agreement-for-tire-plant-in-tangier-tech-city"
LEMATIN_AMP = "/lematin/entreprises/industrie-ferroviaire-coentreprise-bogies-kenitra"
LEMATIN = "/lematin/economie/equipementiers-automobiles-investissements-conventionnes"
LESECO = "/leseco/business/tanger-med-trafic-conteneurs-10-millions-evp.html"


def crawl(db: str, sources: Path, *extra: str) -> str:
    result = veille("crawl", "--db", db, "--sources", str(sources), *FAST, *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def query(db: str, *args: str) -> list[dict]:
    result = veille("query", "--db", db, "--format", "jsonl", *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


def article_hits(server: FixtureServer) -> list[str]:
    listings = (
        "/robots.txt",
        "/lenouvelliste/feed",
        "/hespress/feed",
        "/moroccoworldnews/feed",
        "/lematin/sitemap",
        "/leseco/feed",
        "/dead/",
    )
    return [h.path for h in server.hits if not h.path.startswith(listings)]


def test_crawl_then_query(server: FixtureServer, sources: Path, db_url: str) -> None:
    out = crawl(db_url, sources)
    assert "lenouvelliste" in out and "dead" in out

    rows = {row["url"].removeprefix(server.base): row for row in query(db_url, "--with-text")}
    assert set(rows) == {NOUVELLISTE, HESPRESS, MWN, LEMATIN_AMP, LEMATIN, LESECO}

    wp = rows[NOUVELLISTE]
    assert wp["source"] == "lenouvelliste"
    assert (
        wp["title"]
        == "Made in Morocco : une série d’accords pour doper l’industrie nationale (Vidéos)"
    )
    assert wp["language"] == "fr"
    assert wp["published_at"].startswith("2025-11-04")
    assert wp["published_at"].endswith("Z")
    assert wp["is_agreement"] is True
    assert 0.5 <= wp["score"] <= 1
    assert wp["evidence"]
    assert "IMANOR" in wp["text"]
    for chrome in ("spot_img", "Advertisement", "Casablanca\n", "Les plus lus"):
        assert chrome not in wp["text"]
    assert isinstance(wp["story_id"], int)
    assert wp["fetched_at"].endswith("Z")

    ar = rows[HESPRESS]
    assert ar["language"] == "ar"
    assert "اتفاقيات" in ar["title"]  # windows-1256, declared only in a meta tag
    assert "\ufffd" not in ar["text"]
    assert ar["is_agreement"] is True

    en = rows[MWN]
    assert en["language"] == "en"
    assert en["published_at"].startswith("2024-09-1")  # the page's own date wins over the feed's
    assert en["amounts"] and en["amounts"][0]["currency"] == "USD"

    assert rows[LESECO]["is_agreement"] is False
    assert {r["source"] for r in rows.values()} == {
        "lenouvelliste",
        "hespress-ar",
        "mwn",
        "lematin",
        "leseco",
    }

    hits = article_hits(server)
    assert hits.count(NOUVELLISTE) == 1  # the utm and ?amp=1 links are one article
    assert f"{LEMATIN_AMP}/amp" not in hits  # the AMP link resolved to the article
    assert "/lematin/economie/vieil-article-hors-fenetre" not in hits  # outside the window
    assert all("utm_" not in h and "gclid" not in h for h in hits)


def test_second_crawl_is_one_conditional_request_per_feed(
    server: FixtureServer, sources: Path, db_url: str
) -> None:
    crawl(db_url, sources)
    first = len(query(db_url))
    server.hits.clear()
    crawl(db_url, sources)
    assert article_hits(server) == []
    feeds = [
        h
        for h in server.hits
        if h.path.startswith(("/lenouvelliste/feed", "/hespress/feed", "/moroccoworldnews/feed"))
    ]
    assert feeds and all(h.status == 304 for h in feeds)
    assert all("if-none-match" in h.headers for h in feeds)
    assert len(query(db_url)) == first

    # one new item appears: the next crawl asks for exactly that page
    feed = server.routes["/lenouvelliste/feed"]
    item = (
        "<item><title>Nouvelle convention</title>"
        f"<link>{server.base}/lenouvelliste/economie/nouvelle-convention/?utm_source=rss</link>"
        "<pubDate>Wed, 05 Nov 2025 08:00:00 +0000</pubDate></item>"
    )
    server.add(
        "/lenouvelliste/feed",
        Route(feed.body.replace(b"<item>", item.encode() + b"<item>", 1), feed.content_type),
    )
    server.add(
        "/lenouvelliste/economie/nouvelle-convention",
        server.routes["/lenouvelliste/economie/made-in-morocco-accords"],
    )
    server.hits.clear()
    crawl(db_url, sources)
    assert article_hits(server) == ["/lenouvelliste/economie/nouvelle-convention"]
    # same text under another URL: an alias, not a second article
    assert len(query(db_url)) == first


def test_query_filters_and_search(server: FixtureServer, sources: Path, db_url: str) -> None:
    crawl(db_url, sources)
    everything = query(db_url)
    assert [r["published_at"] for r in everything] == sorted(
        (r["published_at"] for r in everything), reverse=True
    )
    agreements = query(db_url, "--agreements")
    assert agreements and all(r["is_agreement"] for r in agreements)
    assert len(agreements) < len(everything)
    assert {r["source"] for r in query(db_url, "--source", "mwn")} == {"mwn"}
    assert {r["language"] for r in query(db_url, "--lang", "ar")} == {"ar"}
    found = query(db_url, "--search", "IMANOR")
    assert [r["url"].removeprefix(server.base) for r in found] == [NOUVELLISTE]
    assert query(db_url, "--search", "zzzunknownword") == []
    assert len(query(db_url, "--since", "2025-01-01", "--until", "2025-12-31")) >= 1
    assert all(r["published_at"] < "2025" for r in query(db_url, "--until", "2024-12-31"))
    assert len(query(db_url, "--limit", "2")) == 2
    sector = agreements[0]["sectors"][0]
    assert all(sector in r["sectors"] for r in query(db_url, "--sector", sector))

    table = veille("query", "--db", db_url)
    assert table.returncode == 0 and "Made in Morocco" in table.stdout
    csv_out = veille("query", "--db", db_url, "--format", "csv").stdout.splitlines()
    assert csv_out[0].startswith("id,url,source,title,published_at")
    assert len(csv_out) == len(everything) + 1
    stories = veille("query", "--db", db_url, "--stories", "--format", "json")
    assert len(json.loads(stories.stdout)) == len({r["story_id"] for r in everything})


def test_stats_and_sources_check(server: FixtureServer, sources: Path, db_url: str) -> None:
    crawl(db_url, sources)
    stats = veille("stats", "--db", db_url)
    assert stats.returncode == 0
    assert "articles: 6" in stats.stdout
    assert "/dead/rss" in stats.stdout  # a failing feed is shown
    check = veille("sources", "--check", "--db", db_url, "--sources", str(sources))
    assert check.returncode == 0
    lines = {
        line.split()[0] + " " + line.split()[1]: line for line in check.stdout.splitlines()[1:]
    }
    assert "failing (1)" in lines["dead feed"] or "failing (1)" in check.stdout
    assert "ok" in lines["mwn feed"]


def test_one_source_only(server: FixtureServer, sources: Path, db_url: str) -> None:
    crawl(db_url, sources, "--source", "mwn")
    assert {r["source"] for r in query(db_url)} == {"mwn"}
    assert not server.requests_to("/lenouvelliste")


def test_unreachable_sources_are_reported_plainly(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "nowhere"\nfeeds = ["http://127.0.0.1:9/feed"]\n', encoding="utf-8"
    )
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    out = crawl(db, sources)
    assert "No source could be reached" in out


@pytest.mark.parametrize("bad", ["[[source]]\nname = 'x'\nfeeds = ['nope']\n", "garbage ["])
def test_bad_sources_file_is_a_clear_error(tmp_path: Path, bad: str) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(bad, encoding="utf-8")
    result = veille(
        "crawl", "--db", f"sqlite:///{tmp_path / 'v.sqlite3'}", "--sources", str(sources)
    )
    assert result.returncode == 2
    assert result.stderr.startswith("veille: ")
    assert "Traceback" not in result.stderr


def test_http_proxy_from_the_environment_is_used(server: FixtureServer, tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "mwn"\nfeeds = ["http://outlet.invalid/moroccoworldnews/feed/atom"]\n',
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    result = veille(
        "crawl",
        "--db",
        db,
        "--sources",
        str(sources),
        *FAST,
        env={"http_proxy": server.base, "NO_PROXY": "127.0.0.1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # the proxy (our server) was asked for the outlet's absolute URLs: no DNS lookup of its own
    assert "http://outlet.invalid/moroccoworldnews/feed/atom" in [h.path for h in server.hits]
    assert len(query(db)) == 1
