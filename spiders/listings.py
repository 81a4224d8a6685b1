"""The `listings` spider: every feed and sitemap of the selected sources in one crawler, so
that each site has one download slot (one Crawl-delay, one robots.txt, one slow-down)."""

from __future__ import annotations

from typing import ClassVar

from spiders.base import ListingSpider, Reader
from spiders.feeds import read_feed
from spiders.sitemaps import read_sitemap


class ListingsSpider(ListingSpider):
    """Reads the sources' feeds and news sitemaps: what `veille crawl` runs."""

    name = "listings"
    readers: ClassVar[dict[str, Reader]] = {"feed": read_feed, "sitemap": read_sitemap}
