"""Property-based tests: random and mutated feeds, sitemaps, pages and texts go through
parsing, decoding, extraction and detection, and no exception escapes.

Mutations start from the real fixtures (tests/fixtures/world, tests/fixtures/pages) and
delete, insert, flip, duplicate or truncate bytes: the kind of damage a flaky network, a
broken CMS or a hostile site produces.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from crawler.core.detection import detect
from crawler.core.extract import Extracted, decode_html, extract
from spiders.base import Listing, ListingError
from spiders.feeds import parse_feed
from spiders.sitemaps import parse_sitemap
from tests.world import PAGES, WORLD, fill

BASE = "https://example.test"
FEEDS = [fill(p.read_bytes(), BASE) for p in sorted(WORLD.glob("*.xml")) if "sitemap" not in p.name]
SITEMAPS = [fill(p.read_bytes(), BASE) for p in sorted(WORLD.glob("*sitemap*.xml"))]
PAGE_BODIES = [fill(p.read_bytes(), BASE) for p in sorted(PAGES.glob("*.html"))]
NOW = datetime(2025, 11, 5, 12, 0, tzinfo=UTC)

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CONTENT_TYPES = st.sampled_from(
    [
        None,
        "text/html",
        "text/html; charset=utf-8",
        "text/html; charset=windows-1256",
        "text/html; charset=iso-8859-1",
        "text/html; charset=utf-16",
        "text/html; charset=bogus-charset",
        "text/html; charset=",
        "application/rss+xml",
        "application/xml; charset=utf-8",
        "text/plain; charset=ascii",
        "image/png",
        ";;;=",
    ]
)

SNIPPETS = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#xFFFFFF;",
    b"&undefined;",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"-->",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3",
    b'"',
    b"<item>",
    b"</item>",
    b"<entry>",
    b"<link>",
    b"<url><loc>",
    b"</loc>",
    b"<pubDate>",
    b"<script>",
    b"</html>",
    b"<meta charset=windows-1256>",
    b'<?xml version="1.0" encoding="utf-16"?>',
    b'<!DOCTYPE x [<!ENTITY a "aaaa">]>',
    "اتفاقية".encode(),
    "é".encode("latin-1"),
]


@st.composite
def mutated(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    """One fixture, damaged by a few random edits."""
    body = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(0, 6))):
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        op = draw(st.sampled_from(["delete", "insert", "snippet", "flip", "dup", "cut"]))
        if op == "delete":
            del body[at : at + draw(st.integers(1, 200))]
        elif op == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif op == "snippet":
            body[at:at] = draw(st.sampled_from(SNIPPETS))
        elif op == "flip":
            body[at] = draw(st.integers(0, 255))
        elif op == "dup":
            body[at:at] = body[at : at + draw(st.integers(1, 500))]
        else:
            del body[at:]
    return bytes(body)


def listing_or_refused(parse) -> None:
    """A parser either gives a Listing of http(s) entries or refuses with ListingError."""
    try:
        listing = parse()
    except ListingError as exc:
        assert str(exc)
        return
    assert isinstance(listing, Listing)
    for entry in listing.entries:
        assert entry.url.startswith(("http://", "https://"))
        assert entry.published is None or entry.published.tzinfo is not None


# -- feeds and sitemaps ------------------------------------------------------------------


@FAST
@given(body=mutated(FEEDS), content_type=CONTENT_TYPES)
def test_parse_feed_survives_mutated_feeds(body: bytes, content_type: str | None) -> None:
    listing_or_refused(lambda: parse_feed(body, f"{BASE}/feed", content_type))


@FAST
@given(body=st.binary(max_size=3000))
def test_parse_feed_survives_random_bytes(body: bytes) -> None:
    listing_or_refused(lambda: parse_feed(body, f"{BASE}/feed"))


@FAST
@given(
    titles=st.lists(st.text(max_size=80), max_size=8),
    links=st.lists(st.text(max_size=60), max_size=8),
    dates=st.lists(st.text(max_size=40), max_size=8),
)
def test_parse_feed_survives_odd_item_values(
    titles: list[str], links: list[str], dates: list[str]
) -> None:
    from xml.sax.saxutils import escape

    items = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link>"
        f"<pubDate>{escape(d)}</pubDate></item>"
        for t, link, d in zip(titles, links, dates, strict=False)
    )
    body = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'
    listing_or_refused(
        lambda: parse_feed(body.encode("utf-8", "surrogatepass"), f"{BASE}/feed", None)
    )


@FAST
@given(body=mutated(SITEMAPS))
def test_parse_sitemap_survives_mutated_sitemaps(body: bytes) -> None:
    listing_or_refused(lambda: parse_sitemap(body, timedelta(days=3), NOW))


@FAST
@given(
    body=st.binary(max_size=3000),
    days=st.floats(min_value=0, max_value=10_000, allow_nan=False),
)
def test_parse_sitemap_survives_random_bytes(body: bytes, days: float) -> None:
    listing_or_refused(lambda: parse_sitemap(body, timedelta(days=days), NOW))


@FAST
@given(
    locs=st.lists(st.text(max_size=60), max_size=6),
    dates=st.lists(st.text(max_size=40), max_size=6),
)
def test_parse_sitemap_survives_odd_values(locs: list[str], dates: list[str]) -> None:
    from xml.sax.saxutils import escape

    urls = "".join(
        f"<url><loc>{escape(loc)}</loc><lastmod>{escape(d)}</lastmod></url>"
        for loc, d in zip(locs, dates, strict=False)
    )
    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    listing_or_refused(
        lambda: parse_sitemap(body.encode("utf-8", "surrogatepass"), timedelta(days=3), NOW)
    )


# -- decoding, extraction, detection -----------------------------------------------------


@FAST
@given(body=st.one_of(st.binary(max_size=4000), mutated(PAGE_BODIES)), content_type=CONTENT_TYPES)
def test_decode_html_always_gives_text(body: bytes, content_type: str | None) -> None:
    assert isinstance(decode_html(body, content_type), str)


class Failures(logging.Handler):
    """Collects the 'extraction failed' warnings that extract() logs when it swallows one of
    its own exceptions: the property is that there are none, not just that none escaped."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "extraction failed" in record.getMessage():
            self.records.append(record)

    def __enter__(self) -> Failures:
        logging.getLogger("crawler.core.extract").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("crawler.core.extract").removeHandler(self)
        if self.records and not exc[0]:
            record = self.records[0]
            raise AssertionError(f"extract() failed inside: {record.exc_text or record.msg}")


def check_extracted(page: Extracted) -> None:
    assert isinstance(page, Extracted)
    assert isinstance(page.text, str)
    assert page.language in (None, "fr", "ar", "en")
    assert page.published_at is None or page.published_at.tzinfo is not None
    assert page.canonical_url is None or page.canonical_url.startswith(("http://", "https://"))


@SLOW
@given(body=mutated(PAGE_BODIES), content_type=CONTENT_TYPES)
def test_extract_survives_mutated_pages(body: bytes, content_type: str | None) -> None:
    with Failures():
        check_extracted(extract(decode_html(body, content_type), f"{BASE}/economie/article"))


TAGS = ["p", "div", "article", "h1", "title", "meta", "script", "time", "a", "span", "table"]


@st.composite
def random_html(draw: st.DrawFn) -> str:
    """Tag soup: random nesting of common tags, attributes and text in three scripts."""
    parts = []
    for _ in range(draw(st.integers(0, 40))):
        tag = draw(st.sampled_from(TAGS))
        attr = draw(
            st.sampled_from(
                [
                    "",
                    ' property="og:url" content="//x"',
                    ' rel="canonical" href="javascript:alert(1)"',
                    ' datetime="9999-99-99"',
                    ' name="description" content="',
                    ' type="application/ld+json"',
                    ' lang="zz"',
                ]
            )
        )
        body = draw(
            st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
        )
        parts.append(
            draw(st.sampled_from([f"<{tag}{attr}>{body}</{tag}>", f"<{tag}{attr}>{body}"]))
        )
    return "<html><body>" + "".join(parts)


@SLOW
@given(html=random_html(), feed_date=st.none() | st.datetimes(timezones=st.just(UTC)))
def test_extract_survives_tag_soup(html: str, feed_date: datetime | None) -> None:
    with Failures():
        check_extracted(extract(html, f"{BASE}/a", feed_title="x", feed_date=feed_date))


WORDS = st.sampled_from(
    [
        "convention",
        "accord",
        "signé",
        "MDH",
        "milliards",
        "de",
        "dirhams",
        "$",
        "€",
        "350",
        "1,8",
        "اتفاقية",
        "مليار",
        "درهم",
        "agreement",
        "signed",
        "million",
        "joint-venture",
        "Renault",
        "OCP",
        "et",
        "and",
        "\n",
        ".",
        "«",
        "»",
        "١٢٣",
    ]
)


@FAST
@given(
    title=st.text(max_size=200),
    lead=st.text(max_size=200),
    words=st.lists(WORDS | st.text(max_size=20), max_size=300),
    language=st.sampled_from([None, "fr", "ar", "en", "xx", ""]),
)
def test_detect_always_gives_a_verdict(
    title: str, lead: str, words: list[str], language: str | None
) -> None:
    verdict = detect(title, lead, " ".join(words), language)
    assert isinstance(verdict.is_agreement, bool)
    assert 0.0 <= verdict.score <= 1.0
    json.dumps(verdict.as_dict())  # storable as JSON


# -- random feeds through the listing parser and the store (issue #11) --------------------

HOSTILE_TEXT = st.sampled_from(
    ["&#0;", "&#1;", "&#8;", "&#27;[2J", "&#65535;", "\ufffe", "\u202e", "=1+1", "%00", "x" * 3000]
)
FIELD_TEXT = st.one_of(
    st.text(max_size=40), HOSTILE_TEXT, st.tuples(st.text(max_size=10), HOSTILE_TEXT).map("".join)
)
BAD_LINKS = st.sampled_from(
    [
        "http://h:99999/x",
        "http://[::1/x",
        "http://h:-1/x",
        "http://h:80:80/x",
        "javascript:alert(1)",
        "/relative/path",
        "http://" + "a" * 2100 + ".test/x",
        "http://h.test/&#1;x",
        "",
    ]
)
DATES = st.one_of(
    st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2250, 1, 1)).map(
        lambda d: d.strftime("%a, %d %b %Y %H:%M:%S +0000")
    ),
    FIELD_TEXT,
)
FEED_ITEMS = st.lists(
    st.tuples(FIELD_TEXT, st.one_of(st.none(), BAD_LINKS), DATES), min_size=1, max_size=12
)
EXAMPLES = iter(range(1_000_000))


def xml_text(value: str) -> str:
    """A value for an XML element: escaped, except the character references it carries."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;")
    return re.sub(r"&amp;(#\d+;)", r"&\1", escaped)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(items=FEED_ITEMS, ttl=st.one_of(st.none(), FIELD_TEXT, st.just("9" * 30)))
def test_random_feeds_store_every_well_formed_item_once(
    db_url: str, items: list[tuple[str, str | None, str]], ttl: str | None
) -> None:
    """A feed of random items (good links; malformed ones; hostile titles, dates and <ttl>)
    goes through the listing parser and the store: every item with a good link is stored
    exactly once, no exception escapes."""
    from crawler.core import stories
    from crawler.core.sources import parse_sources
    from crawler.core.urls import canonicalize
    from crawler.db.store import CrawlStore
    from crawler.items import ArticleItem
    from crawler.pipelines import not_after
    from spiders.base import fetchable
    from storage.db import open_database

    n = next(EXAMPLES)
    feed_url = f"https://feeds.test/{n}"
    good = {
        i: f"https://site-{n}.test/article/{i}"
        for i, (_, link, _) in enumerate(items)
        if link is None
    }
    rows = "".join(
        f"<item><title>{xml_text(title)}</title><link>{xml_text(good.get(i) or link)}</link>"
        f"<pubDate>{xml_text(date)}</pubDate></item>"
        for i, (title, link, date) in enumerate(items)
    )
    channel = f"<ttl>{xml_text(ttl)}</ttl>" if ttl is not None else ""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>P</title>'
        f"{channel}{rows}</channel></rss>"
    ).encode()
    engine = open_database(db_url)
    try:
        sources = parse_sources(f'[[source]]\nname = "p{n}"\nfeeds = ["{feed_url}"]\n')
        store = CrawlStore(engine, sources, batch_size=5)
        try:
            listing = fetchable(parse_feed(body, feed_url, "application/rss+xml"), feed_url)
        except ListingError:
            assert not good, body[:500]
            return
        by_url = {}
        for entry in listing.entries:
            by_url.setdefault(canonicalize(entry.url), entry)
        now = datetime.now(UTC)
        for k, url in enumerate(store.claim(f"p{n}", by_url)):
            entry = by_url[url]
            words = f"Article {n}-{k}: " + " ".join(f"mot{n}x{k}y{j}" for j in range(40))
            item = ArticleItem(f"p{n}", None, url, url, None, now, entry.title, entry.published)
            item.url, item.text, item.title = url, words, entry.title
            item.published_at, item.published_claimed = not_after(entry.published, now)
            item.content_hash = stories.content_hash(words)
            item.signature = stories.signature(entry.title or "", words)
            store.add_article(item)
        store.flush()
        assert store.write_errors == []
        with engine.connect() as conn:
            stored = [
                r.url
                for r in conn.execute(
                    text("SELECT url FROM articles WHERE url LIKE :u"),
                    {"u": f"https://site-{n}.test/%"},
                )
            ]
        assert sorted(stored) == sorted(canonicalize(u) for u in good.values())
    finally:
        engine.dispose()
