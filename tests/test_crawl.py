"""End to end: `veille crawl` against the loopback world, then `veille query` field by field."""

from __future__ import annotations

import json
import subprocess
import sys
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


def article_route(title: str, slash: bool = False) -> Route:
    """A plain article page without a canonical link, redirecting to a slash if `slash`."""
    body = " ".join(
        f"{title} : le paragraphe {i} de l'article, assez long pour être lu." for i in range(8)
    )
    html = f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    html += "".join(f"<p>{body} ({i})</p>" for i in range(4)) + "</article></body></html>"
    return Route(html.encode(), slash=slash)


def crawl(
    db: str, sources: Path, *extra: str, code: int | None = None, env: dict | None = None
) -> str:
    """A crawl, its exit status checked: by default 1 when the world's `dead` source is in
    the sources file (none of its feeds can be read), else 0."""
    if code is None:
        code = 1 if "/dead/" in sources.read_text(encoding="utf-8") else 0
    result = veille("crawl", "--db", db, "--sources", str(sources), *FAST, *extra, env=env)
    assert result.returncode == code, result.stdout + result.stderr[-3000:]
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
    # the utm and ?amp=1 links are one article, asked at the address the feed gave
    assert [h for h in hits if h.startswith(NOUVELLISTE)] == [NOUVELLISTE + "/"]
    # the sitemap's AMP link is asked as listed, once, and stored under its canonical URL
    assert [h for h in hits if h.startswith(LEMATIN_AMP)] == [f"{LEMATIN_AMP}/amp"]
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
    assert article_hits(server) == ["/lenouvelliste/economie/nouvelle-convention/"]
    # same text under another URL: an alias, not a second article
    assert len(query(db_url)) == first


def test_a_site_that_redirects_to_another_form_of_the_page_is_followed(
    server: FixtureServer, tmp_path: Path, db_url: str
) -> None:
    """A WordPress site answers `/slug` with a 301 to `/slug/`, and an AMP address with a
    301 to the page: both are followed, the article stored once under its canonical URL."""
    server.add("/wp/2025/11/04/accords", article_route("Accords industriels", slash=True))
    server.add(
        "/wp/2025/11/05/bogies/amp",
        Route(
            b"",
            status=301,
            conditional=False,
            headers={"Location": f"{server.base}/wp/2025/11/05/bogies/"},
        ),
    )
    server.add("/wp/2025/11/05/bogies", article_route("Bogies à Kénitra", slash=True))
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>wp</title>'
        f"<item><title>Accords</title><link>{server.base}/wp/2025/11/04/accords</link></item>"
        f"<item><title>Bogies</title><link>{server.base}/wp/2025/11/05/bogies/amp/</link></item>"
        "</channel></rss>"
    )
    server.add("/wp/feed", Route(feed.encode(), "application/rss+xml"))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "wp"\nfeeds = ["{server.base}/wp/feed"]\n')

    crawl(db_url, sources)
    rows = query(db_url)
    assert sorted(r["url"].removeprefix(server.base) for r in rows) == [
        "/wp/2025/11/04/accords",
        "/wp/2025/11/05/bogies",
    ]
    asked = [(h.path, h.status) for h in server.hits if h.path.startswith("/wp/2025")]
    assert sorted(asked) == [
        ("/wp/2025/11/04/accords", 301),
        ("/wp/2025/11/04/accords/", 200),
        ("/wp/2025/11/05/bogies/", 200),
        ("/wp/2025/11/05/bogies/amp/", 301),
    ]
    server.hits.clear()
    server.routes["/wp/feed"] = Route(feed.encode() + b" ", "application/rss+xml")
    crawl(db_url, sources)  # the feed changed, its items did not: nothing is asked again
    assert not [h for h in server.hits if h.path.startswith("/wp/2025")]


def test_json_feed_is_read_like_rss(server: FixtureServer, tmp_path: Path, db_url: str) -> None:
    items = [
        {
            "id": "1",
            "url": f"{server.base}/jf/convention?utm_source=json",
            "title": "Convention industrielle",
            "date_published": "2025-11-04T10:00:00+01:00",
        },
        {
            "id": f"{server.base}/jf/accord",
            "title": "Accord",
            "date_modified": "2025-11-03T08:00:00Z",
        },
        {"id": "no-url-here", "title": "skipped"},
    ]
    body = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "jf", "items": items}
    )
    server.add("/jf/feed.json", Route(body.encode(), "application/feed+json"))
    server.add("/jf/convention", article_route("Convention industrielle"))
    server.add("/jf/accord", article_route("Accord"))
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\nname = "jf"\nfeeds = ["{server.base}/jf/feed.json"]\n')

    crawl(db_url, sources)
    rows = {r["url"].removeprefix(server.base): r for r in query(db_url)}
    assert set(rows) == {"/jf/convention", "/jf/accord"}
    assert rows["/jf/convention"]["published_at"].startswith("2025-11-04T09:00:00")
    server.hits.clear()
    crawl(db_url, sources)
    assert [(h.path, h.status) for h in server.hits if h.path.startswith("/jf")] == [
        ("/jf/feed.json", 304)
    ]


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
    crawl(db_url, sources, "--source", "mwn", code=0)
    assert {r["source"] for r in query(db_url)} == {"mwn"}
    assert not server.requests_to("/lenouvelliste")


def test_a_crawl_opens_no_remote_control(
    server: FixtureServer, sources: Path, db_url: str, tmp_path: Path
) -> None:
    """Scrapy 2.19 starts a code-execution server on loopback in every crawl and writes its
    address and token under the user's state directory: a crawl of veille does neither."""
    state = tmp_path / "state"
    crawl(db_url, sources, "--source", "mwn", code=0, env={"XDG_STATE_HOME": str(state)})
    assert query(db_url)  # it crawled
    assert not state.exists() or not any(state.rglob("*")), sorted(state.rglob("*"))


def test_the_crawl_settings_do_not_even_import_the_remote_control() -> None:
    """Its module pulls in aiohttp, 0.15 s of CPU at every crawl's start."""
    script = (
        "import sys; from crawler.scrapy_setup import scrapy_settings; "
        "names = scrapy_settings({}).get_component_priority_dict_with_base('EXTENSIONS'); "
        "print('crawler.throttle.PoliteThrottle' in names, "
        "'scrapy.extensions.remote_control' in sys.modules, 'aiohttp' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.split() == ["True", "False", "False"], result.stderr[-2000:]


def test_unreachable_sources_are_reported_plainly(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[[source]]\nname = "nowhere"\nfeeds = ["http://127.0.0.1:9/feed"]\n', encoding="utf-8"
    )
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    out = crawl(db, sources, code=2)
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
