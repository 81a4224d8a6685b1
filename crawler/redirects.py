"""Redirects: a site's move to another form of the same page is followed, a loop is stopped.

Request fingerprints are taken on canonical URLs (crawler/fingerprint.py), so Scrapy's
duplicate filter would drop a WordPress ``/slug`` → ``/slug/`` redirect as "already seen".
A redirect to another form of the same page (trailing slash, AMP page to its canonical,
http to https, ``www.``) is the site choosing its address: it is followed whatever the
filter says. A redirect loop is one URL twice in one chain (or more than
``REDIRECT_MAX_TIMES`` hops, which Scrapy stops itself).
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.core.urls import same_page


class RedirectLoop(IgnoreRequest):
    """A redirect chain that came back to a URL it had already visited."""


class SamePageRedirectMiddleware(RedirectMiddleware):
    """Scrapy's RedirectMiddleware, with same-page redirects exempt from the duplicate
    filter and loops refused."""

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        result = super().process_response(request, response)
        if not isinstance(result, Request):
            return result
        chain = result.meta.get("redirect_urls", [])
        if result.url in chain:
            raise RedirectLoop(f"redirect loop: {' -> '.join([*chain, result.url])}")
        if same_page(result.url, request.url):
            result.dont_filter = True
        return result
