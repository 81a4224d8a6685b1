"""Hostile and odd input never costs another article (issue #11): each case crawls a real
loopback server, on SQLite and PostgreSQL; docs/RELIABILITY.md (section 8) names these tests.

Most cases share one "hostile world" (module fixture `hostile`): a server whose every source
carries one odd value, crawled twice into a fresh database of each kind.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.db import open_database
from tests.conftest import fresh_database, veille
from tests.server import FixtureServer, Hit, Route
from tests.test_faults import CRAWL, HTML, RSS, article_page, rss, sources_toml, sql, stored

XML = "application/xml; charset=utf-8"
LONG_URL_PATH = "/long/" + "x" * 2030  # with the base, 2,065 characters or so: under Scrapy's limit
BAD_LINKS = ["http://h:99999/x", "http://[::1/x", "http://h:-1/x", "http://h:80:80/x"]
CONTROL_REFS = ["&#1;", "&#8;", "&#27;", "&#65535;", "\ufffe"]
FEED_2200 = "Wed, 01 Jan 2200 00:00:00 +0000"
HUGE = "9" * 30  # a <ttl> or max-age that overflows every integer column
FUTURE = {"/future/2099": "2099-06-01T08:00:00+00:00", "/future/2200": "2200-01-01T00:00:00+00:00"}


def untitled_page(n: int) -> bytes:
    """An article page without <title> or <h1>: its title is the feed's."""
    return re.sub(rb"<title>.*?</title>|<h1>.*?</h1>", b"", article_page(n))


def items_feed(items: list[tuple[str, str, str]], extra: str = "") -> bytes:
    """An RSS feed of (title, link, pubDate) items, with `extra` channel elements."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><pubDate>{d}</pubDate></item>"
        for t, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Fil</title>'
        f"<link>http://x.test</link>{extra}{body}</channel></rss>"
    ).encode()


def sitemap_index(base: str, children: list[str]) -> bytes:
    locs = "".join(f"<sitemap><loc>{base}{c}</loc></sitemap>" for c in children)
    return (
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>'
    ).encode()


def urlset(base: str, paths: list[str]) -> bytes:
    locs = "".join(f"<url><loc>{base}{p}</loc></url>" for p in paths)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode()


def build_hostile_world(srv: FixtureServer) -> dict[str, dict[str, list[str]]]:
    """Sources, each with one odd value, and the pages they list."""
    base = srv.base
    date = "Wed, 05 Nov 2025 08:00:00 +0000"
    srv.add("/robots.txt", Route(b"User-agent: *\nAllow: /\n", "text/plain"))
    n = iter(range(5000, 6000))

    def page(path: str, body: bytes | None = None) -> str:
        srv.add(path, Route(body or article_page(next(n)), HTML))
        return path

    # 1. validators over their columns; a NUL from &#0; in a title; a 2,065-character link
    validators = [page(f"/validators/a{i}") for i in range(2)]
    srv.add(
        "/validators/feed",
        Route(
            rss(base, validators),
            RSS,
            conditional=False,
            headers={"ETag": '"' + "e" * 600 + '"', "Last-Modified": "L" * 100},
        ),
    )
    page("/nul/a", untitled_page(next(n)))
    page("/nul/b")
    srv.add(
        "/nul/feed",
        Route(
            items_feed([("Titre &#0; nul", f"{base}/nul/a", date), ("B", f"{base}/nul/b", date)]),
            RSS,
        ),
    )
    long_ok = [page(f"/long/ok{i}") for i in range(2)]
    srv.add("/long/feed", Route(rss(base, [LONG_URL_PATH, *long_ok]), RSS))
    # 2. a huge <ttl> and a huge max-age
    ttl = [page(f"/ttl/a{i}") for i in range(8)]
    feed = rss(base, ttl).replace(b"<channel>", f"<channel><ttl>{HUGE}</ttl>".encode())
    srv.add("/ttl/feed", Route(feed, RSS, headers={"Cache-Control": f"max-age={HUGE}"}))
    # 3. a sitemap index listing itself, two listing each other, and a chain six deep
    srv.add(
        "/maps/self.xml", Route(sitemap_index(base, ["/maps/self.xml", "/maps/child.xml"]), XML)
    )
    srv.add("/maps/child.xml", Route(urlset(base, [page("/maps/child-article")]), XML))
    srv.add("/maps/ping.xml", Route(sitemap_index(base, ["/maps/pong.xml"]), XML))
    srv.add(
        "/maps/pong.xml", Route(sitemap_index(base, ["/maps/ping.xml", "/maps/pong-map.xml"]), XML)
    )
    srv.add("/maps/pong-map.xml", Route(urlset(base, [page("/maps/pong-article")]), XML))
    for depth in range(1, 7):
        children = [f"/maps/deep-{depth + 1}.xml"] if depth < 6 else []
        index = sitemap_index(base, children).replace(
            b"</sitemapindex>",
            f"<sitemap><loc>{base}/maps/deep-{depth}-urls.xml</loc></sitemap></sitemapindex>".encode(),
        )
        srv.add(f"/maps/deep-{depth}.xml", Route(index, XML))
        srv.add(
            f"/maps/deep-{depth}-urls.xml",
            Route(urlset(base, [page(f"/maps/deep-{depth}-article")]), XML),
        )
    # 4. malformed links before good ones
    links = [page(f"/links/ok{i}") for i in range(3)]
    items = [(f"Bad {i}", url, date) for i, url in enumerate(BAD_LINKS)]
    items += [(f"Good {i}", f"{base}{p}", date) for i, p in enumerate(links)]
    srv.add("/links/feed", Route(items_feed(items), RSS))
    good = page("/links/map-ok")
    locs = "".join(f"<url><loc>{u}</loc></url>" for u in [*BAD_LINKS, f"{base}{good}"])
    srv.add("/links/map.xml", Route(f"<urlset>{locs}</urlset>".encode(), XML))
    # 5. a control-character reference in the title and the body
    controls = []
    for i, ref in enumerate(CONTROL_REFS):
        html = article_page(next(n)).decode().replace("paragraphe 2", f"paragraphe {ref} 2")
        controls.append(page(f"/controls/c{i}", html.replace("<title>", f"<title>{ref}").encode()))
    srv.add("/controls/feed", Route(rss(base, controls), RSS))
    # 9. one title and date, three texts; and one title and date, one text under two URLs
    revue = [page(f"/revue/jour-{i}") for i in range(3)]
    same_text = article_page(next(n))
    reprise = [page(f"/reprise/{i}", same_text) for i in range(2)]
    items = [("Revue de presse du jour", f"{base}{p}", date) for p in revue]
    items += [("Dépêche reprise", f"{base}{p}", date) for p in reprise]
    srv.add("/revue/feed", Route(items_feed(items), RSS))
    # 12. publication dates far in the future
    # (2099 in the page's metadata; 2200 in the feed only: beyond what page dates may be)
    meta = f'<head><meta property="article:published_time" content="{FUTURE["/future/2099"]}">'
    page("/future/2099", article_page(next(n)).replace(b"<head>", meta.encode()))
    page("/future/2200")
    future = [("F", f"{base}/future/2099", date), ("F", f"{base}/future/2200", FEED_2200)]
    srv.add("/future/feed", Route(items_feed(future), RSS))
    return {
        "validators": {"feeds": [f"{base}/validators/feed"]},
        "nul": {"feeds": [f"{base}/nul/feed"]},
        "long": {"feeds": [f"{base}/long/feed"]},
        "ttl": {"feeds": [f"{base}/ttl/feed"]},
        "maps": {
            "sitemaps": [f"{base}/maps/{m}.xml" for m in ("self", "ping", "deep-1")],
        },
        "links": {"feeds": [f"{base}/links/feed"], "sitemaps": [f"{base}/links/map.xml"]},
        "controls": {"feeds": [f"{base}/controls/feed"]},
        "revue": {"feeds": [f"{base}/revue/feed"]},
        "future": {"feeds": [f"{base}/future/feed"]},
    }


@dataclass
class HostileRun:
    server: FixtureServer
    db: str
    outputs: list[str]  # stdout + stderr of each crawl
    hits: list[list[Hit]]  # the server's log, per crawl
    seconds: list[float]
    first_stored: set[str]  # article URLs stored after the first crawl


def article_urls(db: str) -> set[str]:
    return {r.url for r in sql(db, "SELECT url FROM articles")}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hostile(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[HostileRun]:
    """The hostile world, crawled twice into a fresh database of each kind."""
    tmp = tmp_path_factory.mktemp("hostile")
    with fresh_database(request.param, tmp, pg_ok) as db:
        srv = FixtureServer().start()
        sources = tmp / "sources.toml"
        sources.write_text(sources_toml(build_hostile_world(srv)), encoding="utf-8")
        run = HostileRun(srv, db, [], [], [], set())
        for i in range(2):
            srv.hits.clear()
            started = time.monotonic()
            result = veille("crawl", "--db", db, "--sources", str(sources), *CRAWL, timeout=90)
            run.seconds.append(time.monotonic() - started)
            run.outputs.append(result.stdout + result.stderr)
            run.hits.append(list(srv.hits))
            if i == 0:
                run.first_stored = article_urls(db)
        yield run
        srv.stop()


def stored_once(run: HostileRun, path: str, *, first_run: bool = True) -> None:
    """The article at this path is stored exactly once (after the first crawl already)."""
    rows = stored(run.db, path)
    assert len(rows) == 1, (path, rows, run.outputs[-1][-2000:])
    if first_run:
        assert any(u.endswith(path) for u in run.first_stored), (path, run.outputs[0][-2000:])


# -- 1. one oversized value poisons a batch --------------------------------------------


def test_oversized_validators_do_not_lose_the_batch(hostile: HostileRun) -> None:
    for i in range(2):
        stored_once(hostile, f"/validators/a{i}")
    row = sql(
        hostile.db, "SELECT etag, last_modified FROM feeds WHERE url LIKE '%/validators/feed'"
    )
    assert len(row[0].etag) == 512 and len(row[0].last_modified) == 64  # the one rule: cut to fit
    assert "could not store" not in "".join(hostile.outputs)


def test_nul_in_a_title_is_removed_and_the_article_stored(hostile: HostileRun) -> None:
    stored_once(hostile, "/nul/a")
    stored_once(hostile, "/nul/b")
    (title,) = sql(hostile.db, "SELECT title FROM articles WHERE url LIKE '%/nul/a'")[0]
    assert title == "Titre  nul"


def test_an_overlong_link_costs_only_itself(hostile: HostileRun) -> None:
    for i in range(2):
        stored_once(hostile, f"/long/ok{i}")
    assert not [h for h in hostile.hits[0] if h.path.startswith("/long/x")]
    assert "longer than 2048 characters" in hostile.outputs[0]


def test_a_source_name_over_its_column_is_refused() -> None:
    from crawler.core.sources import SourcesError, parse_sources

    with pytest.raises(SourcesError, match="1 to 100"):
        parse_sources(f'[[source]]\nname = "{"n" * 101}"\nfeeds = ["http://h/f"]\n')


def poison_trigger(db: str) -> None:
    """Make the database itself refuse one article (a real write error, not a mock)."""
    if db.startswith("sqlite"):
        statements = [
            "CREATE TRIGGER poison BEFORE INSERT ON articles WHEN NEW.url LIKE '%poison%' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
        ]
    else:
        statements = [
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.url LIKE '%poison%' "
            "THEN RAISE EXCEPTION 'poisoned row'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON articles FOR EACH ROW EXECUTE FUNCTION poison()",
        ]
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_a_row_the_database_refuses_costs_only_itself(
    tmp_path: Path, server: FixtureServer, db_url: str
) -> None:
    """One row the database refuses: the rest of its batch is written item by item, and the
    feed stays unread (no validators) so that the next crawl tries the refused one again."""
    paths = [f"/batch/a{i}" for i in range(9)] + ["/batch/poison"]
    for i, path in enumerate(paths):
        server.add(path, Route(article_page(7000 + i), HTML))
    server.add("/batch/feed", Route(rss(server.base, paths), RSS))
    sources = tmp_path / "sources.toml"
    sources.write_text(sources_toml({"batch": {"feeds": [f"{server.base}/batch/feed"]}}))
    open_database(db_url).dispose()  # the schema, for the trigger
    poison_trigger(db_url)
    result = veille("crawl", "--db", db_url, "--sources", str(sources), *CRAWL)
    output = result.stdout + result.stderr
    assert len(article_urls(db_url)) == 9, output[-3000:]
    assert "poisoned row" in output and "Traceback" not in output
    (etag,) = sql(db_url, "SELECT etag FROM feeds")[0]
    assert etag is None  # the feed is read again next time


# -- 2. a huge <ttl> or max-age ----------------------------------------------------------


def test_huge_poll_hints_are_clamped_and_nothing_is_lost(hostile: HostileRun) -> None:
    from crawler.throttle import MAX_POLL_HINT

    for i in range(8):
        stored_once(hostile, f"/ttl/a{i}")
    (hint,) = sql(hostile.db, "SELECT poll_hint_seconds FROM feeds WHERE url LIKE '%/ttl/feed'")[0]
    assert hint == MAX_POLL_HINT
    assert "could not store" not in "".join(hostile.outputs)


# -- 3. sitemap indexes that never end -----------------------------------------------------


def test_sitemap_cycles_end_and_depth_is_capped(hostile: HostileRun) -> None:
    from spiders.base import MAX_SITEMAP_DEPTH

    first = hostile.hits[0]
    for name in ("self", "child", "ping", "pong", "pong-map"):
        assert sum(1 for h in first if h.path == f"/maps/{name}.xml") == 1, name
    for article in ("child-article", "pong-article"):
        stored_once(hostile, f"/maps/{article}")
    for depth in range(1, 7):
        asked = [h for h in first if h.path == f"/maps/deep-{depth}.xml"]
        assert len(asked) == (1 if depth <= MAX_SITEMAP_DEPTH + 1 else 0), depth
    stored_once(hostile, f"/maps/deep-{MAX_SITEMAP_DEPTH}-article")
    assert not stored(hostile.db, f"/maps/deep-{MAX_SITEMAP_DEPTH + 2}-article")
    assert hostile.seconds[0] < 60


# -- 4. one malformed link --------------------------------------------------------------


def test_malformed_links_cost_only_themselves(hostile: HostileRun) -> None:
    for path in [f"/links/ok{i}" for i in range(3)] + ["/links/map-ok"]:
        stored_once(hostile, path)
    for link in BAD_LINKS:
        assert f"link {link!r} skipped" in hostile.outputs[0], link


@pytest.mark.parametrize("url", BAD_LINKS)
def test_malformed_urls_are_refused_in_the_sources_file(url: str) -> None:
    from crawler.core.sources import SourcesError, parse_sources

    with pytest.raises(SourcesError, match="not an http"):
        parse_sources(f'[[source]]\nname = "s"\nfeeds = ["{url}"]\n')


# -- 5. control-character references --------------------------------------------------------


def test_control_character_references_do_not_empty_an_article(hostile: HostileRun) -> None:
    rows = sql(hostile.db, "SELECT url, title, text FROM articles WHERE url LIKE '%/controls/%'")
    assert len(rows) == len(CONTROL_REFS), [r.url for r in rows]
    for row in rows:
        assert row.text.count("paragraphe") == 5, row.text  # the whole text, not one line
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", row.title + row.text)
    assert not sql(hostile.db, "SELECT url FROM url_failures WHERE url LIKE '%/controls/%'")


# -- 9. same title and date, different articles -------------------------------------------


def test_same_title_and_date_are_one_article_only_when_the_text_agrees(
    hostile: HostileRun,
) -> None:
    for i in range(3):
        stored_once(hostile, f"/revue/jour-{i}")
    texts = sql(hostile.db, "SELECT text FROM articles WHERE url LIKE '%/revue/jour-%'")
    assert len({r.text for r in texts}) == 3
    rows = stored(hostile.db, "/reprise/%")
    assert len({r["id"] for r in rows}) == 1  # one text under two URLs: one article, one alias


# -- 12. dates in the future ----------------------------------------------------------------


def test_future_dates_are_clamped_to_the_fetch_with_the_original_kept(
    hostile: HostileRun,
) -> None:
    for path, claimed in FUTURE.items():
        (row,) = sql(
            hostile.db,
            "SELECT published_at, fetched_at, published_claimed FROM articles WHERE url LIKE :u",
            u=f"%{path}",
        )
        as_dt = [
            datetime.fromisoformat(str(v)).replace(tzinfo=UTC) if isinstance(v, str) else v
            for v in row
        ]
        published, fetched, kept = (d.astimezone(UTC) for d in as_dt)
        assert published == fetched
        assert kept == datetime.fromisoformat(claimed)
        assert datetime.now(UTC) - published < timedelta(minutes=10)


# -- the whole world ----------------------------------------------------------------------


def test_hostile_world_runs_without_crash(hostile: HostileRun) -> None:
    for output in hostile.outputs:
        assert "Traceback" not in output and "could not store" not in output, output[-3000:]
        assert output.startswith("crawl #") and ": ok" in output.splitlines()[0], output[-3000:]


def test_the_second_crawl_stores_nothing_twice(hostile: HostileRun) -> None:
    urls = [r.url for r in sql(hostile.db, "SELECT url FROM articles")]
    assert len(urls) == len(set(urls))
    hashes = [r.content_hash for r in sql(hostile.db, "SELECT content_hash FROM articles")]
    assert len(hashes) == len(set(hashes))
    assert article_urls(hostile.db) == hostile.first_stored


# -- sites of their own: each on its own loopback address -------------------------------


@pytest.fixture
def sites() -> Iterator[dict[str, FixtureServer]]:
    """Three sites, on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (other hosts, other domains)."""
    servers = {f"s{i}": FixtureServer(f"127.0.0.{i}").start() for i in (1, 2, 3)}
    yield servers
    for srv in servers.values():
        srv.stop()


def crawl_sites(
    tmp_path: Path, entries: dict[str, dict[str, list[str]]], *args: str, env: dict | None = None
) -> str:
    """One crawl of these sources into tmp_path's database; its output."""
    sources = tmp_path / "sources.toml"
    sources.write_text(sources_toml(entries), encoding="utf-8")
    result = veille(
        "crawl",
        "--db",
        f"sqlite:///{tmp_path / 'v.sqlite3'}",
        "--sources",
        str(sources),
        *CRAWL,
        *args,
        env={"NO_PROXY": "127.0.0.1,127.0.0.2,127.0.0.3,localhost", **(env or {})},
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.stdout + result.stderr


# -- 6. another site's rel=canonical ------------------------------------------------------


def test_a_foreign_canonical_is_only_a_hint(
    tmp_path: Path, sites: dict[str, FixtureServer]
) -> None:
    """Site B copies site A's article and names A's URL as canonical; B is read first. B's
    page is stored under B's URL (A's URL kept as a hint) and A's article is still fetched."""
    a, b = sites["s2"], sites["s3"]
    story = f"{a.base}/a/story"
    a.add("/a/story", Route(article_page(8001), HTML))
    a.add("/a/feed", Route(rss(a.base, ["/a/story"]), RSS))
    copy = article_page(8002).replace(
        b"<head>", f'<head><link rel="canonical" href="{story}">'.encode()
    )
    b.add("/b/copy", Route(copy, HTML))
    b.add("/b/feed", Route(rss(b.base, ["/b/copy"]), RSS))
    entries = {"a": {"feeds": [f"{a.base}/a/feed"]}, "b": {"feeds": [f"{b.base}/b/feed"]}}
    crawl_sites(tmp_path, entries, "--source", "b")
    crawl_sites(tmp_path, entries)
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    rows = {r.url: r for r in sql(db, "SELECT url, text, canonical_hint FROM articles")}
    assert set(rows) == {story, f"{b.base}/b/copy"}
    assert rows[f"{b.base}/b/copy"].canonical_hint == story
    assert "Dépêche 8001" in rows[story].text and rows[story].canonical_hint is None
    assert [h.path for h in a.hits if h.path == "/a/story"] == ["/a/story"]


# -- 7. internal addresses (SSRF) -----------------------------------------------------------


def test_internal_addresses_are_refused(tmp_path: Path, sites: dict[str, FixtureServer]) -> None:
    """A feed on 127.0.0.2 (allowed for the test) lists, and redirects to, internal addresses
    in every form; the internal server on 127.0.0.1 is never asked, and the good page is stored."""
    inside, site = sites["s1"], sites["s2"]
    port = inside.base.rsplit(":", 1)[1]
    inside.add("/robots.txt", Route(b"User-agent: *\nAllow: /\n", "text/plain"))
    internal = [
        f"http://127.0.0.1:{port}/s1",
        f"http://2130706433:{port}/s2",
        f"http://localhost:{port}/s3",
        f"http://0.0.0.0:{port}/s4",
        f"http://[::1]:{port}/s5",
        f"http://127.1:{port}/s6",
        f"http://0x7f000001:{port}/s7",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/x",
    ]
    for i in range(1, 8):
        inside.add(f"/s{i}", Route(article_page(8100 + i), HTML))
    inside.add("/by-redirect", Route(article_page(8110), HTML))
    site.add("/good", Route(article_page(8111), HTML))
    site.add(
        "/jump", Route(b"", HTML, status=302, headers={"Location": f"{inside.base}/by-redirect"})
    )
    items = [(f"I{i}", url, "Wed, 05 Nov 2025 08:00:00 +0000") for i, url in enumerate(internal)]
    items += [("Jump", f"{site.base}/jump", "Wed, 05 Nov 2025 08:00:00 +0000")]
    items += [("Good", f"{site.base}/good", "Wed, 05 Nov 2025 08:00:00 +0000")]
    site.add("/feed", Route(items_feed(items), RSS))
    entries = {"site": {"feeds": [f"{site.base}/feed"]}}
    output = crawl_sites(tmp_path, entries, env={"VEILLE_ALLOW_PRIVATE_ADDRESSES": "127.0.0.2"})
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    assert inside.hits == [], [h.path for h in inside.hits]
    assert [r.url for r in sql(db, "SELECT url FROM articles")] == [f"{site.base}/good"], output
    errors = {r.url: r.error for r in sql(db, "SELECT url, error FROM url_failures")}
    assert len(errors) == len(internal) + 1, errors
    assert all("private or internal address" in e for e in errors.values()), errors


def test_private_addresses_are_refused_unless_allowed(
    tmp_path: Path, sites: dict[str, FixtureServer]
) -> None:
    site = sites["s2"]
    site.add("/good", Route(article_page(8120), HTML))
    site.add("/feed", Route(rss(site.base, ["/good"]), RSS))
    crawl_sites(
        tmp_path,
        {"site": {"feeds": [f"{site.base}/feed"]}},
        env={"VEILLE_ALLOW_PRIVATE_ADDRESSES": ""},
    )
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    assert site.hits == []
    (error,) = sql(db, "SELECT last_error FROM feeds")[0]
    assert "private or internal address" in error


# -- 8. robots.txt before any request to a host -------------------------------------------


def test_robots_txt_applies_to_the_first_concurrent_requests(
    tmp_path: Path, sites: dict[str, FixtureServer]
) -> None:
    """Five feeds of a site whose robots.txt (slow to come) says Disallow: /, and thirty
    articles of another such site listed by an allowed one: none of them is fetched."""
    shy, lister, private = sites["s1"], sites["s2"], sites["s3"]
    for srv in (shy, private):
        srv.add("/robots.txt", Route(b"User-agent: *\nDisallow: /\n", "text/plain", delay=0.5))
    lister.add("/robots.txt", Route(b"User-agent: *\nAllow: /\n", "text/plain"))
    for i in range(5):
        shy.add(f"/feed-{i}", Route(rss(shy.base, [f"/a{i}"]), RSS))
    for i in range(30):
        private.add(f"/p{i}", Route(article_page(8200 + i), HTML))
    lister.add("/feed", Route(rss(private.base, [f"/p{i}" for i in range(30)]), RSS))
    entries = {
        "shy": {"feeds": [f"{shy.base}/feed-{i}" for i in range(5)]},
        "lister": {"feeds": [f"{lister.base}/feed"]},
    }
    crawl_sites(tmp_path, entries, "--set", "CONCURRENT_REQUESTS_PER_DOMAIN=8")
    assert [h.path for h in shy.hits] == ["/robots.txt"]
    assert [h.path for h in private.hits] == ["/robots.txt"]


# -- 11. the service --------------------------------------------------------------------


def test_a_long_retry_after_closes_the_site_instead_of_slowing_the_crawl(
    tmp_path: Path, server: FixtureServer
) -> None:
    """One 503 with Retry-After: 3600 among ten pages: the crawl does not slow to a request
    a minute; the site is not asked again in this crawl, its pages are recorded (not gone)
    and stored by the next crawl."""
    paths = [f"/wait/a{i}" for i in range(10)]
    for i, path in enumerate(paths):
        server.add(path, Route(article_page(8300 + i), HTML, delay=0.2))
    # articles are asked in the order listed: the first listed first
    server.add(
        paths[0],
        Route(
            article_page(8399),
            HTML,
            fail_first=1,
            fail_status=503,
            fail_headers={"Retry-After": "3600"},
        ),
    )
    server.add("/wait/feed", Route(rss(server.base, paths), RSS))
    entries = {"wait": {"feeds": [f"{server.base}/wait/feed"]}}
    started = time.monotonic()
    crawl_sites(tmp_path, entries, "--set", "AUTOTHROTTLE_MAX_DELAY=60", "--set", "RETRY_TIMES=2")
    took = time.monotonic() - started
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    assert took < 30, took
    assert sum(1 for h in server.hits if h.path == paths[0]) == 1  # not retried in the crawl
    failures = sql(db, "SELECT url, gone FROM url_failures")
    assert failures and not any(r.gone for r in failures)
    crawl_sites(tmp_path, entries)
    assert len(article_urls(db)) == 10


def test_a_sigkilled_crawl_does_not_hold_its_sources(
    tmp_path: Path, server: FixtureServer, db_url: str
) -> None:
    """A manual crawl killed with SIGKILL (PostgreSQL too, where pids say nothing): the service
    sees its run as dead at once, not as a crawl at work for the next hour."""
    import os
    import signal
    import subprocess
    import sys

    from scheduler import Service, ServiceOptions
    from storage.runs import run_alive
    from tests.conftest import ROOT

    server.add("/slow/a", Route(article_page(8400), HTML, delay=20))
    server.add("/slow/feed", Route(rss(server.base, ["/slow/a"]), RSS))
    sources = tmp_path / "sources.toml"
    sources.write_text(sources_toml({"slow": {"feeds": [f"{server.base}/slow/feed"]}}))
    engine = open_database(db_url)
    crawl = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "crawl", "--db", db_url, "--sources", str(sources)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
    )
    try:
        deadline = time.monotonic() + 30
        while not server.requests_to("/slow/a") and time.monotonic() < deadline:
            time.sleep(0.2)
        (run_id, pid) = sql(db_url, "SELECT id, pid FROM crawl_runs WHERE status = 'running'")[0]
        with engine.connect() as conn:
            assert run_alive(conn, run_id, pid)  # at work: held
        service = Service(ServiceOptions(db_url=db_url, sources_path=str(sources)))
        assert service._running_elsewhere("slow") == (run_id, pid)
        crawl.send_signal(signal.SIGKILL)
        crawl.wait(timeout=10)
        deadline = time.monotonic() + 10  # PostgreSQL notices the closed connection
        while service._running_elsewhere("slow") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert service._running_elsewhere("slow") is None
        service.recover_orphans()
        (status,) = sql(db_url, "SELECT status FROM crawl_runs WHERE id = :i", i=run_id)[0]
        assert status == "failed"
        service.engine.dispose()
    finally:
        if crawl.poll() is None:
            crawl.kill()
        engine.dispose()


def test_serve_keeps_the_database_url_off_the_command_line(tmp_path: Path, sources: Path) -> None:
    from scheduler import Service, ServiceOptions

    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    service = Service(ServiceOptions(db_url=db, sources_path=str(sources)))
    cmd, env = service._command("lematin")
    service.engine.dispose()
    assert not [part for part in cmd if "sqlite" in part] and "--db" not in cmd
    assert env["VEILLE_DB"] == db


def test_an_emptied_sources_file_on_sighup_keeps_the_schedule(
    tmp_path: Path, server: FixtureServer
) -> None:
    import signal

    from tests.test_service import Service as Serve
    from tests.test_service import jobs, wait_for

    server.add("/svc/feed", Route(rss(server.base, []), RSS))
    sources = tmp_path / "sources.toml"
    sources.write_text(sources_toml({"svc": {"feeds": [f"{server.base}/svc/feed"]}}))
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    service = Serve(db, sources, tmp_path / "service.log")
    try:
        wait_for("the service", lambda: "serving 1 source" in service.text(), service)
        engine = open_database(db)
        sources.write_text("")
        service.proc.send_signal(signal.SIGHUP)
        wait_for("the refusal", lambda: "lists no source" in service.text(), service)
        assert [j[0] for j in jobs(engine)] == ["crawl:svc"], service.text()[-2000:]
        engine.dispose()
    finally:
        assert service.stop() == 0


def test_a_second_serve_through_a_symlink_is_refused(tmp_path: Path, sources: Path) -> None:
    from tests.test_service import Service as Serve
    from tests.test_service import wait_for

    (tmp_path / "link.sqlite3").symlink_to(tmp_path / "v.sqlite3")  # another name, one file
    service = Serve(f"sqlite:///{tmp_path / 'v.sqlite3'}", sources, tmp_path / "s.log")
    try:
        wait_for("the service", lambda: "serving" in service.text(), service)
        second = veille(
            "serve",
            "--db",
            f"sqlite:///{tmp_path / 'link.sqlite3'}",
            "--sources",
            str(sources),
        )
        assert second.returncode == 1 and "already running" in second.stderr, second.stderr
    finally:
        assert service.stop() == 0


def test_a_feed_listed_by_two_sources_is_refused() -> None:
    from crawler.core.sources import SourcesError, parse_sources

    text = '[[source]]\nname = "a"\nfeeds = ["http://h/f"]\n[[source]]\nname = "b"\nfeeds = ["http://h/f"]\n'
    with pytest.raises(SourcesError, match="already a feed of source 'a'"):
        parse_sources(text)
