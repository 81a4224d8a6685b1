"""The `sitemaps` spider: Google News sitemaps, with their publication dates and titles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import ClassVar

from lxml import etree
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.utils.gz import gunzip

from crawler.core.dates import parse_date
from spiders.base import Entry, Listing, ListingError, ListingSpider, Reader, refuse_entities

PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True
)


def _local(tag: object) -> str:
    """Local name of a tag: '{ns}name', or 'prefix:name' as recovered from broken markup."""
    return tag.rpartition("}")[2].rpartition(":")[2] if isinstance(tag, str) else ""


def _child_text(node: etree._Element, *path: str) -> str | None:
    """Text of the first descendant along local names `path`, whatever the namespaces."""
    current = [node]
    for name in path:
        current = [c for n in current for c in n if _local(c.tag) == name]
        if not current:
            return None
    text = (current[0].text or "").strip()
    return text or None


def parse_sitemap(body: bytes, max_age: timedelta, now: datetime | None = None) -> Listing:
    """Recent article entries of a (news) sitemap, and child sitemaps of a sitemap index."""
    refuse_entities(body)
    try:
        root = etree.fromstring(body, PARSER)
    except etree.XMLSyntaxError as exc:
        raise ListingError(f"not a readable sitemap ({exc})") from exc
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        raise ListingError("not a sitemap (no <urlset> or <sitemapindex>)")
    oldest = (now or datetime.now(UTC)) - max_age
    entries: list[Entry] = []
    children: list[str] = []
    for node in root:
        loc = _child_text(node, "loc")
        if not loc or not loc.startswith(("http://", "https://")):
            continue
        date_text = _child_text(node, "news", "publication_date") or _child_text(node, "lastmod")
        published = parse_date(date_text) if date_text else None
        if published is not None and published < oldest:
            continue
        if _local(node.tag) == "sitemap":
            children.append(loc)
        elif _local(node.tag) == "url":
            entries.append(Entry(loc, _child_text(node, "news", "title"), published))
    return Listing(entries, children)


def read_sitemap(response: Response, settings: Settings) -> Listing:
    """The recent entries (and child sitemaps) of a downloaded sitemap, gzipped or not."""
    body = response.body
    if body[:2] == b"\x1f\x8b":  # a .xml.gz file, not a Content-Encoding
        try:
            body = gunzip(body, max_size=settings.getint("DOWNLOAD_MAXSIZE"))
        except (OSError, ValueError) as exc:
            raise ListingError(f"bad gzip sitemap ({exc})") from exc
    return parse_sitemap(body, timedelta(days=settings.getfloat("VEILLE_SITEMAP_MAX_AGE_DAYS")))


class SitemapsSpider(ListingSpider):
    """Reads the sources' Google News sitemaps (and sitemap indexes)."""

    name = "sitemaps"
    readers: ClassVar[dict[str, Reader]] = {"sitemap": read_sitemap}
