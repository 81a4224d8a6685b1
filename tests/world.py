"""The fixture world: three outlets' feeds, a news sitemap, pages, and broken listings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.server import FixtureServer, Route

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"
WORLD = FIXTURES / "world"

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"

# path -> page fixture
ARTICLES = {
    "/lenouvelliste/economie/made-in-morocco-accords": "wp_fr_tagdiv.html",
    "/hespress/economie/tawqi-ittifaqiyat-istithmar-sinaat-sayarat-1456789.html": "ar_cp1256.html",
    "/moroccoworldnews/2024/09/367120/morocco-signs-350-million-investment-agreement-for-tire-plant-in-tangier-tech-city": "en_article.html",
    "/lematin/entreprises/industrie-ferroviaire-coentreprise-bogies-kenitra": "amp_fr.html",
    "/lematin/entreprises/industrie-ferroviaire-coentreprise-bogies-kenitra/amp": "amp_fr.html",
    "/lematin/economie/equipementiers-automobiles-investissements-conventionnes": "fr_no_meta.html",
    "/lematin/economie/vieil-article-hors-fenetre": "fr_no_meta.html",
    "/leseco/business/tanger-med-trafic-conteneurs-10-millions-evp.html": "truncated.html",
}
# page fixtures whose charset is only in a <meta> tag
META_CHARSET_ONLY = {"ar_cp1256.html"}

LISTINGS = {
    "/lenouvelliste/feed": ("lenouvelliste_feed.xml", RSS),
    "/hespress/feed": ("hespress_ar_feed.xml", RSS),
    "/moroccoworldnews/feed/atom": ("mwn_atom.xml", ATOM),
    "/lematin/sitemap-news.xml": ("lematin_sitemap.xml", XML),
    "/leseco/feed": ("leseco_broken_feed.xml", RSS),
}

SOURCES_TOML = """
[[source]]
name = "lenouvelliste"
language = "fr"
feeds = ["{BASE}/lenouvelliste/feed/"]

[[source]]
name = "hespress-ar"
language = "ar"
feeds = ["{BASE}/hespress/feed"]

[[source]]
name = "mwn"
language = "en"
feeds = ["{BASE}/moroccoworldnews/feed/atom"]

[[source]]
name = "lematin"
language = "fr"
sitemaps = ["{BASE}/lematin/sitemap-news.xml"]

[[source]]
name = "leseco"
language = "fr"
feeds = ["{BASE}/leseco/feed"]

[[source]]
name = "dead"
language = "fr"
feeds = ["{BASE}/dead/feed", "{BASE}/dead/rss"]
"""


def fill(template: bytes, base: str) -> bytes:
    """Put the server's address and recent/old dates into a fixture."""
    now = datetime.now(UTC)
    return (
        template.replace(b"{BASE}", base.encode())
        .replace(b"{RECENT}", (now - timedelta(hours=2)).isoformat(timespec="seconds").encode())
        .replace(b"{OLD}", (now - timedelta(days=700)).isoformat(timespec="seconds").encode())
    )


def page(name: str, base: str) -> Route:
    """A page fixture as its site would serve it (WordPress pages redirect to a slash)."""
    content_type = "text/html" if name in META_CHARSET_ONLY else "text/html; charset=utf-8"
    body = fill((PAGES / name).read_bytes(), base)
    return Route(body, content_type, slash=name.startswith("wp_"))


def build(server: FixtureServer) -> None:
    """Register the whole world on the server."""
    base = server.base
    server.add("/robots.txt", Route(b"User-agent: *\nDisallow: /private/\n", "text/plain"))
    for path, name in ARTICLES.items():
        server.add(path, page(name, base))
    for path, (name, content_type) in LISTINGS.items():
        server.add(path, Route(fill((WORLD / name).read_bytes(), base), content_type))
    server.add("/dead/feed", Route(b"<html><body><h1>Maintenance</h1></body></html>"))
    server.add("/dead/rss", Route(b"Internal error", "text/plain", status=500, conditional=False))


def sources_file(directory: Path, base: str, text: str = SOURCES_TOML) -> Path:
    """A sources file pointing at the server."""
    path = directory / "sources.toml"
    path.write_text(text.replace("{BASE}", base), encoding="utf-8")
    return path
