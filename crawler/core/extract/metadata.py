"""Page metadata from the parsed tree: JSON-LD, meta tags, title, canonical URL, byline, lead."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml.etree import XPath

from crawler.core.common import LANGUAGES
from crawler.core.page_dates import NOT_IN_CHROME
from crawler.core.urls import canonicalize

LOGGER = logging.getLogger(__name__)


def _html_lang(value: str | None) -> str | None:
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else None


_WS_RE = re.compile(r"\s+")
# the headline's elements reached from the attributes (one pass over them), where testing
# every element for one cost 2.5 times as much
_XP_H1 = XPath("//article//h1 | //@itemprop[.='headline']/parent::*[not(self::meta)]")
_XP_H1_ANY = XPath("//h1")


_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "blogposting",
        "reportagenews",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "reviewnewsarticle",
        "livebloposting",
        "liveblogposting",
        "report",
        "techarticle",
        "socialmediaposting",
    }
)


_PAGE_TYPES = frozenset({"webpage", "itempage", "collectionpage"})


_SITE_TYPES = frozenset({"website", "organization", "newsmediaorganization"})


_XP_META = XPath("//meta")


_XP_JSONLD = XPath("//script[contains(translate(@type,'LDJSON','ldjson'),'ld+json')]")


_XP_LINK_CANONICAL = XPath("//link[@rel and @href]")


_XP_TITLE = XPath("//title")


_BYLINE_XPATHS = [
    XPath(f"//*[@itemprop='author']//*[@itemprop='name'][{NOT_IN_CHROME}]"),
    XPath(f"//*[@itemprop='author'][{NOT_IN_CHROME}]"),
    XPath(f"//a[contains(concat(' ', @rel, ' '), ' author ')][{NOT_IN_CHROME}]"),
    XPath(
        "//*[contains(@class,'byline') or contains(@class,'author-name')"
        " or contains(@class,'post-author') or contains(@class,'meta_author')"
        " or contains(@class,'meta-author') or contains(@class,'auteur')]"
        f"[not(contains(@class,'comment'))][{NOT_IN_CHROME}]"
    ),
    XPath(
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' author ')]"
        f"[not(contains(@class,'comment'))][{NOT_IN_CHROME}]"
    ),
]


_XP_STANDFIRST = XPath(
    "following::*[contains(@class,'chapo') or contains(@class,'chapeau') or contains(@class,'standfirst')"
    " or contains(@class,'sub-title') or contains(@class,'subtitle') or contains(@class,'article-lead')"
    " or contains(@class,'post-lead') or contains(@class,'entry-excerpt') or contains(@class,'intro')]"
    f"[{NOT_IN_CHROME}][1]"
)


_TITLE_SEPARATORS = (" - ", " | ", " – ", " — ", " :: ", " » ", " · ", " ｜ ")


_BYLINE_PREFIX_RE = re.compile(
    r"^(?:par|by|written by|posted by|auteur|author|بقلم|كتبه|من طرف|إعداد|اعداد)\s*:?\s+",
    re.IGNORECASE,
)


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = _WS_RE.sub(" ", value.replace("\u00a0", " ")).strip()
    return text or None


def _meta_map(tree) -> dict[str, str]:
    metas: dict[str, str] = {}
    for el in _XP_META(tree):
        key = el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv")
        content = el.get("content")
        if not key or content is None:
            continue
        key = key.strip().lower()
        value = _clean(content)
        if value and key not in metas:
            metas[key] = value
    return metas


def _load_json(raw: str) -> Any:
    raw = raw.strip()
    raw = re.sub(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$", "", raw)
    raw = raw.strip().removeprefix("<!--").removesuffix("-->").strip()
    if not raw:
        return None
    try:
        return json.loads(raw, strict=False)
    except ValueError:
        pass
    try:  # trailing commas, a frequent hand-written JSON-LD error
        return json.loads(re.sub(r",\s*([}\]])", r"\1", raw), strict=False)
    except ValueError:
        return None


def _flatten_jsonld(data: Any, depth: int = 0) -> Iterator[dict]:
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            yield from _flatten_jsonld(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        graph = data.get("@graph")
        if graph is not None:
            yield from _flatten_jsonld(graph, depth + 1)


def _types(obj: dict) -> set[str]:
    value = obj.get("@type")
    if isinstance(value, str):
        return {value.lower()}
    if isinstance(value, list):
        return {v.lower() for v in value if isinstance(v, str)}
    return set()


class _JsonLd:
    def __init__(self, tree) -> None:
        self.objects: list[dict] = []
        for script in _XP_JSONLD(tree):
            data = _load_json(script.text or "")
            self.objects.extend(_flatten_jsonld(data))
        self.by_id = {o["@id"]: o for o in self.objects if isinstance(o.get("@id"), str)}
        self.articles = [o for o in self.objects if _types(o) & _ARTICLE_TYPES]
        self.pages = [o for o in self.objects if _types(o) & _PAGE_TYPES]

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and "@id" in value and len(value) <= 2 and "name" not in value:
            return self.by_id.get(value["@id"], value)
        return value

    def _first(self, key: str, pools: Iterable[list[dict]]) -> Any:
        for pool in pools:
            for obj in pool:
                value = obj.get(key)
                if value:
                    return value
        return None

    def headline(self) -> str | None:
        value = self._first("headline", [self.articles])
        if isinstance(value, list):
            value = value[0] if value else None
        return _clean(value)

    def dates_published(self) -> list[str]:
        """The datePublished values of the page's articles, then of the page itself."""
        found = []
        for pool in (self.articles, self.pages):
            for obj in pool:
                value = obj.get("datePublished")
                if isinstance(value, list):
                    value = value[0] if value else None
                if isinstance(value, str):
                    found.append(value)
        return found

    def author(self) -> str | None:
        value = self._first("author", [self.articles]) or self._first("creator", [self.articles])
        items = value if isinstance(value, list) else [value]
        names: list[str] = []
        for item in items:
            item = self._resolve(item)
            name = item.get("name") if isinstance(item, dict) else item
            if isinstance(name, list):
                name = name[0] if name else None
            name = _clean_author(name)
            if name and name not in names:
                names.append(name)
        return ", ".join(names) if names else None

    def site_names(self) -> list[str]:
        names = []
        for obj in self.objects:
            if _types(obj) & _SITE_TYPES:
                name = _clean(obj.get("name"))
                if name:
                    names.append(name)
        for obj in self.articles:
            publisher = self._resolve(obj.get("publisher"))
            if isinstance(publisher, dict):
                name = _clean(publisher.get("name"))
                if name:
                    names.append(name)
        return names


def _clean_author(value: Any) -> str | None:
    text = _clean(value)
    if not text:
        return None
    text = _BYLINE_PREFIX_RE.sub("", text).strip(" -–—|,:·")
    text = _BYLINE_PREFIX_RE.sub("", text).strip(" -–—|,:·")
    if not text or len(text) < 2 or len(text) > 80 or len(text.split()) > 8:
        return None
    if "http://" in text or "https://" in text or "@" in text or "{" in text:
        return None
    if sum(ch.isdigit() for ch in text) > 2:  # a date or a count, not a name
        return None
    return text


def _strip_site_suffix(title: str, site_names: list[str], heuristic: bool) -> str:
    for name in site_names:
        for sep in _TITLE_SEPARATORS:
            if title.endswith(sep + name) and len(title) > len(sep + name):
                return title[: -len(sep + name)].strip()
            if title.startswith(name + sep) and len(title) > len(name + sep):
                return title[len(name + sep) :].strip()
    if heuristic:
        best = None
        for sep in _TITLE_SEPARATORS:
            idx = title.rfind(sep)
            if idx > 0 and (best is None or idx > best[0]):
                best = (idx, sep)
        if best is not None:
            head, tail = title[: best[0]].strip(), title[best[0] + len(best[1]) :].strip()
            if tail and len(tail) <= 40 and len(tail.split()) <= 5 and len(head) > 2 * len(tail):
                return head
    return title


def _title(tree, metas: dict[str, str], jsonld: _JsonLd, site_names: list[str]) -> str | None:
    lowered = {n.lower() for n in site_names}

    def usable(value: str | None) -> str | None:
        if value and value.lower() not in lowered and len(value) >= 3:
            return value
        return None

    og = metas.get("og:title") or metas.get("twitter:title")
    if og:
        cleaned = usable(_strip_site_suffix(og, site_names, heuristic=False))
        if cleaned:
            return cleaned
    headline = usable(jsonld.headline())
    if headline:
        return headline
    for xp in (_XP_H1, _XP_H1_ANY):
        for el in xp(tree):
            text = usable(_clean(el.get("content") or el.text_content()))
            if text:
                return text
    for el in _XP_TITLE(tree):
        text = _clean(el.text_content())
        if text:
            cleaned = usable(_strip_site_suffix(text, site_names, heuristic=True))
            if cleaned:
                return cleaned
    return None


def _main_h1(tree):
    for xp in (_XP_H1, _XP_H1_ANY):
        for el in xp(tree):
            if el.tag not in ("meta", "link") and _clean(el.text_content()):
                return el
    return None


def _canonical(tree, metas: dict[str, str], url: str) -> str | None:
    href = None
    for el in _XP_LINK_CANONICAL(tree):
        if "canonical" in (el.get("rel") or "").lower().split():
            href = _clean(el.get("href"))
            if href:
                break
    if not href:
        href = metas.get("og:url")
    if not href:
        return None
    try:
        absolute = urljoin(url or "", href)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    # a canonical pointing at the site root from an article URL is a CMS misconfiguration
    if parts.path in ("", "/") and not parts.query:
        try:
            page_path = urlsplit(url or "").path
        except ValueError:
            page_path = ""
        if page_path not in ("", "/"):
            return None
    return canonicalize(absolute)


def _author(tree, metas: dict[str, str], jsonld: _JsonLd) -> str | None:
    author = jsonld.author()
    if author:
        return author
    for key in (
        "author",
        "article:author",
        "parsely-author",
        "sailthru.author",
        "dc.creator",
        "byl",
    ):
        value = metas.get(key)
        if value and not value.startswith(("http://", "https://")):
            cleaned = _clean_author(value)
            if cleaned:
                return cleaned
    for xp in _BYLINE_XPATHS:
        for el in xp(tree)[:5]:
            cleaned = _clean_author(el.get("content") or el.text_content())
            if cleaned:
                return cleaned
    return None


def _lead(tree, metas: dict[str, str], h1) -> str | None:
    for key in ("og:description", "description", "twitter:description"):
        value = metas.get(key)
        if value and len(value) >= 15:
            return value
    if h1 is not None:
        for el in _XP_STANDFIRST(h1):
            text = _clean(el.text_content())
            if text and len(text) >= 15:
                return text
    return None
