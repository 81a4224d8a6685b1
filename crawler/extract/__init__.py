"""Article extraction from news pages.

One lxml parse per page: the metadata (JSON-LD, meta tags, <time>, bylines, page-text dates)
is read from that tree, and the same tree goes to trafilatura for the main text (trafilatura
works on its own copy). Nothing here raises on bad input: empty, truncated, binary or huge
pages give an ``Extracted`` with empty text.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import html as lxml_html
from lxml.etree import ParserError, XPath
from w3lib.encoding import html_to_unicode, read_bom, resolve_encoding, to_unicode

from crawler.dates import to_utc
from crawler.language import detect_language, language_scores
from crawler.page_dates import NOT_IN_CHROME, page_date
from crawler.urls import canonicalize

__all__ = ["Extracted", "decode_html", "detect_language", "extract"]

LOGGER = logging.getLogger(__name__)

# Bounds on pathological pages (a news article page is far below all three). Time is roughly
# linear in the number of elements: ~20 us/element in trafilatura's fast mode, twice that with
# its fallback extractors.
MAX_HTML_CHARS = 2_000_000  # characters kept before parsing
MAX_ELEMENTS = 60_000  # above this the page is cut (at the same proportion) and re-parsed
FAST_ABOVE_ELEMENTS = 15_000  # above this trafilatura runs without its fallback extractors
# Bytes sampled for charset detection.
DETECT_SAMPLE_BYTES = 65_536
# A declared UTF-8 is not believed when more than this share of the non-ASCII characters
# it gives are U+FFFD (a stray bad byte in a UTF-8 page is not enough).
MAX_BAD_UTF8_SHARE = 0.3
# A "page" whose first characters hold more than this share of control characters or
# U+FFFD is binary content (an image or archive served as text/html), not HTML.
MAX_BINARY_SHARE = 0.05
BINARY_SAMPLE_CHARS = 4096

# trafilatura: precision over recall, no comments/tables/links/images. Its main extractor
# runs alone ("fast"); the fallback extractors (readability, jusText) cost as much again on
# every page, so they only run where the main one found less than RESCUE_BELOW_CHARS.
RESCUE_BELOW_CHARS = 400
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "fast": True,
    "favor_precision": True,
    "include_comments": False,
    "include_tables": False,
    "include_links": False,
    "include_images": False,
    "include_formatting": False,
    "with_metadata": False,
    "deduplicate": False,  # trafilatura's dedup cache is process-wide: it would drop reprints
}


@dataclass(frozen=True)
class Extracted:
    title: str | None
    author: str | None
    published_at: datetime | None  # UTC aware
    published_local: datetime | None  # the same moment with the offset the page gave, if any
    language: str | None  # 'fr' | 'ar' | 'en' | None
    canonical_url: str | None  # rel=canonical, else og:url; absolute and canonicalized
    lead: str | None  # og:description / meta description / standfirst
    text: str  # main text, paragraphs separated by "\n", no boilerplate; "" if none


# --------------------------------------------------------------------------- decoding

_META_CHARSET_RE = re.compile(
    r"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)


def _detect_encoding(body: bytes) -> str | None:
    sample = body[:DETECT_SAMPLE_BYTES]
    # a declaration further down than the 4 KB w3lib scans (long <head> full of scripts)
    match = _META_CHARSET_RE.search(sample.decode("latin-1"))
    if match:
        enc = resolve_encoding(match.group(1))
        if enc:
            return enc
    return _guess_encoding(sample)


def _is_utf8(sample: bytes) -> bool:
    """Strictly valid UTF-8 (an incomplete last character is fine: samples are cut)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _guess_encoding(sample: bytes) -> str:
    """The encoding of bytes whatever they declare: UTF-8, else charset_normalizer, else cp1252."""
    if _is_utf8(sample):  # most undeclared pages are UTF-8
        return "utf-8"
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding:
            return resolve_encoding(best.encoding) or best.encoding
    except Exception:  # detection is best effort
        LOGGER.debug("charset detection failed", exc_info=True)
    return "cp1252"


def _declaration_is_wrong(body: bytes, encoding: str, text: str) -> bool:
    """Whether declared bytes cannot be in the declared encoding: "UTF-8" that is mostly
    invalid UTF-8, or a legacy charset on bytes that are valid, non-ASCII UTF-8."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    if name.startswith(("utf-16", "utf-32")):
        return False
    if name == "utf-8":
        head = text[:DETECT_SAMPLE_BYTES]
        bad = head.count("\ufffd")
        return bad > 0 and bad > MAX_BAD_UTF8_SHARE * sum(1 for c in head if ord(c) > 127)
    sample = body[:DETECT_SAMPLE_BYTES]
    return not sample.isascii() and _is_utf8(sample)


def _looks_binary(text: str) -> bool:
    """Whether decoded "HTML" is really binary content (control characters, U+FFFD)."""
    sample = text[:BINARY_SAMPLE_CHARS]
    bad = sum(1 for c in sample if c == "\ufffd" or (c < " " and c not in "\t\n\r\f"))
    return bad > MAX_BINARY_SHARE * len(sample)


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Bytes to str.

    Order (w3lib.encoding.html_to_unicode, i.e. the WHATWG order): a BOM, then the charset of
    the HTTP Content-Type header, then <meta charset> / <meta http-equiv>, then detection
    (a meta declaration beyond the first 4 KB, strict UTF-8, charset_normalizer, cp1252).
    A declaration the bytes contradict (see _declaration_is_wrong) gives way to detection.
    Undecodable bytes become U+FFFD. Never raises.
    """
    if isinstance(body, str):
        return body
    if not body:
        return ""
    try:
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        body = bytes(body)
        enc, text = html_to_unicode(content_type or None, body, auto_detect_fun=_detect_encoding)
        if read_bom(body)[0] is None and _declaration_is_wrong(body, enc, text):
            guessed = _guess_encoding(body[:DETECT_SAMPLE_BYTES])
            LOGGER.debug("declared %s but the bytes say %s", enc, guessed)
            text = to_unicode(body, guessed)
        return text
    except Exception:
        LOGGER.debug("decode_html fell back to utf-8 with replacement", exc_info=True)
        return bytes(body).decode("utf-8", errors="replace")


# --------------------------------------------------------------------------- language


def _html_lang(value: str | None) -> str | None:
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    return primary if primary in ("fr", "ar", "en") else None


def _choose_language(
    declared: str | None, text: str, fallback_text: str, hint: str | None
) -> str | None:
    detected, strong = language_scores(text) if text else (None, False)
    if detected is None and fallback_text:
        detected, strong = language_scores(fallback_text)
    if declared and detected and detected != declared:
        # the page's lang attribute is often a CMS default: the text wins when it is clear
        return detected if strong else declared
    return declared or detected or _html_lang(hint)


# --------------------------------------------------------------------------- helpers

_WS_RE = re.compile(r"\s+")
# C0 controls (but tab, newline, carriage return), DEL, the noncharacters U+FFFE/U+FFFF and
# lone surrogates: no text has them, and one of them makes lxml and trafilatura drop the text
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_PARSER = lxml_html.HTMLParser(
    collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
)

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
_XP_H1 = XPath("//article//h1 | //*[@itemprop='headline' and not(self::meta)]")
_XP_H1_ANY = XPath("//h1")
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
_BOILERPLATE_LINE_RE = re.compile(
    r"^(?:[-–—\s]*(?:advertisement|publicité|publicite|annonce|sponsored|sponsorisé|"
    r"إعلان|اعلان|pub)[-–—\s]*"
    r"|spot_img(?:\s*spot_img)*"
    r"|\d{1,2}(?:[.,]\d)?\s*°?\s*[CF](?:\s+\S+){0,2}"  # weather widget: "21.9 C Casablanca"
    r")$",
    re.IGNORECASE,
)
_READ_ALSO_RE = re.compile(
    r"^(?:à lire aussi|a lire aussi|lire aussi|lire également|voir aussi|read also|read more|"
    r"also read|related|اقرأ أيضا|اقرأ أيضاً|إقرأ أيضا|اقرأ كذلك)\b",
    re.IGNORECASE,
)


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = _WS_RE.sub(" ", value.replace("\u00a0", " ")).strip()
    return text or None


def _sanitize(html: str) -> str:
    if len(html) > MAX_HTML_CHARS:
        html = html[:MAX_HTML_CHARS]
    html = _CONTROL_RE.sub("", html)
    # lxml refuses str input that carries an XML encoding declaration
    return _XML_DECL_RE.sub("", html, count=1)


def _parse(html: str):
    if not html or not html.strip():
        return None
    try:
        root = lxml_html.document_fromstring(html, parser=_PARSER)
    except (ParserError, ValueError, TypeError):
        return None
    _strip_controls(root)
    return root


def _strip_controls(root) -> None:
    """Remove the control characters that character references (`&#1;`, `&#27;`, `&#65535;`)
    put into the parsed tree: the raw text was cleaned before parsing, the references only
    become characters in it."""
    for el in root.iter():
        if el.text and _CONTROL_RE.search(el.text):
            el.text = _CONTROL_RE.sub("", el.text)
        if el.tail and _CONTROL_RE.search(el.tail):
            el.tail = _CONTROL_RE.sub("", el.tail)
        for name, value in el.attrib.items():
            if _CONTROL_RE.search(value):
                el.set(name, _CONTROL_RE.sub("", value))


# --------------------------------------------------------------------------- metadata


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


# --------------------------------------------------------------------------- main text


def _trafilatura_text(tree, url: str, fast: bool) -> str:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            tree, url=url or None, **dict(TRAFILATURA_OPTIONS, fast=fast)
        )
    except Exception:  # trafilatura must not break the crawl
        LOGGER.debug("trafilatura failed on %s", url, exc_info=True)
        return ""
    return (getattr(doc, "text", None) if doc is not None else None) or ""


def _main_text(tree, url: str, title: str | None, fast: bool = False) -> str:
    raw = _trafilatura_text(tree, url, fast=True)
    if len(raw) < RESCUE_BELOW_CHARS and not fast:
        raw = max(raw, _trafilatura_text(tree, url, fast=False), key=len)
    if not raw:
        return ""
    lines: list[str] = []
    for line in raw.split("\n"):
        line = _clean(line.replace("spot_img", " "))
        if not line:
            continue
        if _BOILERPLATE_LINE_RE.match(line):
            continue
        if len(line) < 250 and _READ_ALSO_RE.match(line):
            continue
        if not lines and title and line.casefold() == title.casefold():
            continue
        lines.append(line)
    return "\n".join(lines)


# --------------------------------------------------------------------------- entry point


def _languages_for_dates(declared: str | None, hint: str | None) -> list[str] | None:
    first = declared or _html_lang(hint)
    if first is None:
        return None
    return [first, *[lang for lang in ("fr", "ar", "en") if lang != first]]


def extract(
    html: str,
    url: str,
    *,
    feed_title: str | None = None,
    feed_date: datetime | None = None,
    language_hint: str | None = None,
) -> Extracted:
    """Title, author, date, language, canonical URL, lead and main text of an article page.

    Never raises; on unusable input the result has empty text and whatever the feed gave.
    """
    fallback = Extracted(
        title=_clean(feed_title),
        author=None,
        published_at=feed_date,
        published_local=None,
        language=_html_lang(language_hint),
        canonical_url=None,
        lead=None,
        text="",
    )
    try:
        if isinstance(html, bytes):
            html = decode_html(html)
        if not isinstance(html, str):
            return fallback
        url = url if isinstance(url, str) else ""
        if _looks_binary(html):
            LOGGER.info("binary content, not HTML: %s", url)
            return fallback
        html = _sanitize(html)
        tree = _parse(html)
        if tree is None:
            return fallback
        count = _count_elements(tree)
        if count > MAX_ELEMENTS:
            LOGGER.info("page with %d elements cut for extraction: %s", count, url)
            tree = _parse(html[: len(html) * MAX_ELEMENTS // count])
            if tree is None:
                return fallback
            count = _count_elements(tree)
        return _extract_tree(tree, url, feed_title, feed_date, language_hint, count)
    except Exception:  # extraction must never break the crawl
        LOGGER.warning("extraction failed for %s", url, exc_info=True)
        return fallback


def _count_elements(tree) -> int:
    return sum(1 for _ in tree.iter())


def _extract_tree(
    tree,
    url: str,
    feed_title: str | None,
    feed_date: datetime | None,
    language_hint: str | None,
    element_count: int = 0,
) -> Extracted:
    metas = _meta_map(tree)
    jsonld = _JsonLd(tree)
    site_names = [n for n in [metas.get("og:site_name"), metas.get("application-name")] if n]
    site_names += [n for n in jsonld.site_names() if n not in site_names]

    title = _title(tree, metas, jsonld, site_names) or _clean(feed_title)
    h1 = _main_h1(tree)
    declared = _html_lang(
        tree.get("lang")
        or tree.get("xml:lang")
        or metas.get("content-language")
        or metas.get("og:locale")
    )
    date_langs = _languages_for_dates(declared, language_hint)

    moment = page_date(tree, url, h1, metas, jsonld.dates_published(), feed_date, date_langs)

    author = _author(tree, metas, jsonld)
    lead = _lead(tree, metas, h1)
    canonical = _canonical(tree, metas, url)
    text = _main_text(tree, url, title, fast=element_count > FAST_ABOVE_ELEMENTS)
    language = _choose_language(
        declared, text, " ".join(filter(None, [title, lead])), language_hint
    )

    return Extracted(
        title=title,
        author=author,
        published_at=to_utc(moment) if moment else None,
        published_local=moment if moment and moment.tzinfo and moment is not feed_date else None,
        language=language,
        canonical_url=canonical,
        lead=lead,
        text=text,
    )
