"""Property-based tests: random and mutated feeds, sitemaps, pages and texts go through
parsing, decoding, extraction and detection, and no exception escapes.

Mutations start from the real fixtures (tests/fixtures/world, tests/fixtures/pages) and
delete, insert, flip, duplicate or truncate bytes: the kind of damage a flaky network, a
broken CMS or a hostile site produces.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.detection import detect
from crawler.extract import Extracted, decode_html, extract
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
        logging.getLogger("crawler.extract").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("crawler.extract").removeHandler(self)
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
