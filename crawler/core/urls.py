"""URL canonicalization for article URLs.

``canonicalize`` gives the one form under which an article is stored and deduplicated:
the same article reached through a feed link with ``utm_source=rss``, its AMP variant
(``/amp/``, ``?amp=1``, ``amp.`` host) or a ``?noamp=mobile`` link all map to one URL.

w3lib does the percent-encoding normalisation, IDNA, dot-segment removal and query sorting;
the rules specific to news sites (tracking parameters, AMP forms, default ports, trailing
slashes) are applied on top. The function never raises: input that is not an absolute
http(s) URL is returned stripped and otherwise unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

if TYPE_CHECKING:
    import tldextract

__all__ = [
    "canonicalize",
    "host_of",
    "is_amp",
    "request_form",
    "same_page",
    "site_of",
    "url_problem",
]

MAX_URL_LENGTH = 2048  # the URL columns of storage.models; under Scrapy's URLLENGTH_LIMIT

# Exact parameter names (compared lowercase) that only ever carry tracking information.
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        # ad click identifiers
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        # mailing tools
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        # analytics
        "_ga",
        "_gl",
        "xtor",
        "ocid",
        "cmpid",
        "fb_action_ids",
        "fb_action_types",
        "fb_source",
        "fb_ref",
        "__twitter_impression",
    }
)

# Parameter name prefixes (compared lowercase): Google (utm_), AT Internet (at_),
# comScore (ns_), Matomo (pk_, mtm_), HubSpot ads (hsa_).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "at_", "ns_", "pk_", "mtm_", "hsa_")

# Parameters that select the AMP / non-AMP rendering of the same article.
AMP_PARAMS: frozenset[str] = frozenset({"amp", "noamp"})

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _param_name(part: str) -> str:
    return unquote(part.split("=", 1)[0]).strip().lower()


def _param_value(part: str) -> str:
    return unquote(part.split("=", 1)[1]).strip().lower() if "=" in part else ""


def _is_tracking_param(part: str) -> bool:
    name = _param_name(part)
    return not name or name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _is_dropped_param(part: str) -> bool:
    if _is_tracking_param(part):
        return True
    name = _param_name(part)
    if name in AMP_PARAMS:
        return True
    # Arc XP (Le360) serves AMP as ?outputType=amp; other outputType values are real pages/feeds
    return name == "outputtype" and _param_value(part) == "amp"


def _clean_host(netloc: str, scheme: str) -> str:
    userinfo, sep, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        host, _, rest = hostport.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    host = host.lower().rstrip(".")
    labels = host.split(".")
    while len(labels) > 2 and labels[0] == "amp":
        labels = labels[1:]
    host = ".".join(labels)
    hostport = host if port in ("", _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{userinfo}{sep}{hostport}"


def _clean_path(path: str) -> str:
    segments = path.split("/")
    # drop trailing empty segments (trailing slashes) and trailing AMP segments
    while len(segments) > 1 and segments[-1].lower() in ("", "amp"):
        segments.pop()
    cleaned = "/".join(segments)
    return cleaned or "/"


def _canonicalize_once(url: str) -> str:
    base = canonicalize_url(url, keep_blank_values=True, keep_fragments=False)
    parts = urlsplit(base)
    scheme = parts.scheme.lower()
    netloc = _clean_host(parts.netloc, scheme)
    path = _clean_path(parts.path)
    query = "&".join(p for p in parts.query.split("&") if p and not _is_dropped_param(p))
    rebuilt = urlunsplit((scheme, netloc, path, query, ""))
    # a second w3lib pass sorts what is left and keeps the output in w3lib's normal form
    out = canonicalize_url(rebuilt, keep_blank_values=True, keep_fragments=False)
    # w3lib re-adds "/" to an empty path only; strip a trailing slash again if it came back
    out_parts = urlsplit(out)
    if out_parts.path != _clean_path(out_parts.path):
        out = urlunsplit(out_parts._replace(path=_clean_path(out_parts.path)))
    return out


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)
    except ValueError:
        return False


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def url_problem(url: object) -> str | None:
    """Why a URL from the network or a file cannot be fetched and stored, or None if it can.

    Parsed as Scrapy parses it (``urllib.parse``, then w3lib's ``safe_url_string``): an
    absolute http(s) URL with a host and a valid port, without control characters, whose
    canonical form fits the URL columns.
    """
    if not isinstance(url, str):
        return "not a string"
    text = url.strip()
    if _CONTROL_CHARS.search(text):
        return "control character in the URL"
    if len(text) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (raises on a port out of range or not a number)
        safe_url_string(text)
    except ValueError as exc:
        return str(exc) or "unparseable"
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return "not an absolute http(s) URL"
    if len(canonicalize(text)) > MAX_URL_LENGTH:
        return f"longer than {MAX_URL_LENGTH} characters once canonicalized"
    return None


@lru_cache(maxsize=4096)  # 1 MB; a crawl asks again soon after (244 B an entry)
def canonicalize(url: str) -> str:
    """Canonical form of an article URL (memoised: a crawl asks for each URL several times).

    Lowercase scheme and host, no default port, no fragment, tracking parameters removed,
    remaining query parameters sorted, AMP forms resolved (trailing ``/amp`` segment,
    ``?amp``, ``?amp=1``, ``?amp=true``, ``?noamp=mobile``, ``?outputType=amp``, ``amp.``
    host label), trailing slash removed from non-root paths, percent-encoding normalised.
    ``www.`` is kept (see :func:`host_of` for a host key without it).

    Never raises; a string that is not an absolute http(s) URL comes back stripped.
    """
    if not isinstance(url, str):
        return ""
    text = url.strip()
    if not _is_http_url(text):
        return text
    try:
        out = _canonicalize_once(text)
        # Backstop for idempotence on pathological input (e.g. percent-encoding that w3lib
        # only fully normalises on a second pass): iterate to a fixed point, bounded.
        for _ in range(3):
            again = _canonicalize_once(out)
            if again == out:
                break
            out = again
        return out
    except Exception:  # canonicalization must never break the crawl
        return text


def is_amp(url: str) -> bool:
    """True if the URL looks like the AMP rendering of an article."""
    try:
        parts = urlsplit(url.strip())
    except (ValueError, AttributeError):
        return False
    host = (parts.hostname or "").lower()
    if host.startswith("amp.") and host.count(".") >= 2:
        return True
    segments = [s for s in parts.path.split("/") if s]
    if segments and unquote(segments[-1]).lower() == "amp":
        return True
    for part in parts.query.split("&"):
        name, value = _param_name(part), _param_value(part)
        if name == "amp" and value in ("", "1", "true"):
            return True
        if name == "outputtype" and value == "amp":
            return True
    return False


@lru_cache(maxsize=1)
def _domain_extractor() -> tldextract.TLDExtract:
    """tldextract with its bundled Public Suffix List: no download (every byte through Scrapy)."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def site_of(url: str) -> str:
    """The registrable domain of a URL's host (`fr.le360.ma` -> `le360.ma`), or the host
    itself when it has none (an IP address, `localhost`); "" if the URL has no host."""
    return _site_of_host(host_of(url))


@lru_cache(maxsize=1024)  # by host: a crawl has a few hosts and one URL per article
def _site_of_host(host: str) -> str:
    if not host:
        return ""
    parts = _domain_extractor()(host)
    return parts.top_domain_under_public_suffix or host


def host_of(url: str) -> str:
    """Lowercase host of a URL without a leading ``www.`` and without port; "" if none."""
    try:
        text = url.strip()
        if "//" not in text:
            text = "//" + text
        host = urlsplit(text).hostname or ""
    except (ValueError, AttributeError):
        return ""
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host


def request_form(url: str) -> str:
    """The address to request for a listed URL: as the publisher gave it, with only its
    tracking parameters and fragment removed (path, host and scheme untouched: a site may
    answer another form with a redirect)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking_param(p))
    return urlunsplit(parts._replace(query=query, fragment=""))


def _page_key(url: str) -> str:
    canonical = canonicalize(url)
    _, sep, rest = canonical.partition("://")
    rest = rest if sep else canonical
    return rest[4:] if rest.startswith("www.") else rest


def same_page(a: str, b: str) -> bool:
    """True if two URLs are forms of one page: the same canonical URL but for the scheme and
    a leading ``www.`` (a redirect between them is the site choosing its address)."""
    return _page_key(a) == _page_key(b)
