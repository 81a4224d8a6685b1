"""Downloader middlewares: private addresses refused, long Retry-After honoured, robots.txt
applied to every request.

Both see every request Scrapy downloads, redirects and robots.txt requests included.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import time
from urllib.request import getproxies, proxy_bypass

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.throttle import SLOW_DOWN_STATUSES, retry_after_seconds

logger = logging.getLogger(__name__)

ALLOW_ENV = "VEILLE_ALLOW_PRIVATE_ADDRESSES"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def literal_address(host: str) -> Address | None:
    """The IP address a host names literally, in any form the C library accepts: dotted,
    `[::1]`, and the decimal, octal, hex and short IPv4 forms (`2130706433`, `0x7f.1`, `127.1`)."""
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(part.isalnum() for part in host.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_public(address: Address) -> bool:
    """Whether an address is on the public internet: not loopback, private, link-local (cloud
    metadata at 169.254.169.254), unspecified (0.0.0.0), shared, reserved or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def allowed_networks(value: str | None) -> list[Network] | None:
    """What `VEILLE_ALLOW_PRIVATE_ADDRESSES` allows: None (nothing private), every address
    ("1"), or the addresses and networks of a comma-separated list (`127.0.0.2,10.0.0.0/8`)."""
    value = (value or "").strip()
    if not value or value == "0":
        return None
    if value.lower() in ("1", "true", "yes"):
        return [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
    return [ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",")]


class PrivateAddressMiddleware:
    """Refuses requests to internal and link-local addresses (SSRF): literal IPs in every
    form, and names once resolved when no proxy is in use (a proxy resolves names itself),
    unless `VEILLE_ALLOW_PRIVATE_ADDRESSES` allows them (tests, the mirror, an intranet)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.allowed = allowed_networks(os.environ.get(ALLOW_ENV))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateAddressMiddleware:
        return cls(crawler)

    def _refused(self, address: Address) -> bool:
        if is_public(address):
            return False
        return not any(address in net for net in self.allowed or ())

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        parts = urlparse_cached(request)
        host = parts.hostname or ""
        address = literal_address(host)
        if address is None and not self._proxied(request, parts.scheme, host):
            address = await self._resolve(host)
        if address is not None and self._refused(address):
            self.crawler.stats.inc_value("veille/private_address_refused")
            raise IgnoreRequest(
                f"refused: {host} is a private or internal address ({address}); "
                f"set {ALLOW_ENV}=1 to crawl it"
            )

    @staticmethod
    def _proxied(request: Request, scheme: str, host: str) -> bool:
        """Whether the request goes through a proxy (which then resolves the name)."""
        if request.meta.get("proxy"):
            return True
        return scheme in getproxies() and not proxy_bypass(host)

    async def _resolve(self, host: str) -> Address | None:
        """The address the host resolves to (Scrapy's caching resolver); None if it does not."""
        from twisted.internet import reactor

        try:
            resolved = await maybe_deferred_to_future(reactor.resolve(host))
        except Exception:  # the download reports the DNS failure itself
            return None
        return literal_address(resolved)


class SiteAsksToWait(IgnoreRequest):
    """A request not sent: its site asked (Retry-After) not to be asked again before then."""


class RetryAfterMiddleware:
    """A Retry-After longer than a crawl's longest delay (`AUTOTHROTTLE_MAX_DELAY`) closes
    that site until it expires: the response is not retried, and the site's other requests
    fail at once (recorded, asked again next run) instead of slowing the crawl, and its stop,
    to one request a minute. Shorter ones slow the site down (`crawler.throttle`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.longest = crawler.settings.getfloat("AUTOTHROTTLE_MAX_DELAY")
        self.closed: dict[str, float] = {}  # download slot -> time.monotonic() it reopens

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def _slot(self, request: Request) -> str:
        return request.meta.get("download_slot") or self.crawler.engine.downloader.get_slot_key(
            request
        )

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        reopens = self.closed.get(self._slot(request))
        if reopens is not None and time.monotonic() < reopens:
            raise SiteAsksToWait(
                f"not asked: the site asked to wait {reopens - time.monotonic():.0f}s more (Retry-After)"
            )

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if response.status in SLOW_DOWN_STATUSES:
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
            if asked and asked > self.longest:
                key = self._slot(request)
                self.closed[key] = time.monotonic() + asked
                request.meta["dont_retry"] = True  # RetryMiddleware comes after this one
                logger.info("%s asks to wait %.0f s (Retry-After): not asked again", key, asked)
        return response


class ConcurrentRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's RobotsTxtMiddleware, with robots.txt applied to *every* request that waited
    for it. In Scrapy 2.19 each waiter awaits the same Deferred through `Deferred.asFuture`,
    which consumes its result: the first waiter gets the parser, every later one None and
    goes through unchecked. The middleware stores the parser before firing the Deferred, so
    a waiter reads it from there."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parser = await super().robot_parser(request)
        settled = self._parsers.get(urlparse_cached(request).netloc)
        return parser if isinstance(settled, Deferred) else settled
