"""Article extraction from news pages.

One lxml parse per page: the metadata (JSON-LD, meta tags, <time>, bylines, page-text dates)
is read from that tree, and the same tree goes to trafilatura for the main text (trafilatura
works on its own copy). Nothing here raises on bad input: empty, truncated, binary or huge
pages give an ``Extracted`` with empty text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from lxml import html as lxml_html
from lxml.etree import ElementDefaultClassLookup, HTMLParser, ParserError, XPath

from crawler.core.common import LANGUAGES
from crawler.core.dates import to_utc
from crawler.core.extract.decoding import _looks_binary, decode_html
from crawler.core.extract.main_text import _main_text
from crawler.core.extract.metadata import (
    _author,
    _canonical,
    _clean,
    _html_lang,
    _JsonLd,
    _lead,
    _main_h1,
    _meta_map,
    _title,
)
from crawler.core.language import detect_language, language_scores
from crawler.core.page_dates import page_date

LOGGER = logging.getLogger(__name__)

__all__ = ["Extracted", "decode_html", "detect_language", "extract"]


# Bounds on pathological pages (a news article page is far below all three). Time is roughly
# linear in the number of elements: ~20 us/element in trafilatura's fast mode, twice that with
# its fallback extractors.
MAX_HTML_CHARS = 2_000_000  # characters kept before parsing


MAX_ELEMENTS = 60_000  # above this the page is cut (at the same proportion) and re-parsed


FAST_ABOVE_ELEMENTS = 15_000  # above this trafilatura runs without its fallback extractors


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


# C0 controls (but tab, newline, carriage return) and DEL, as bytes (UTF-8 writes each alone)
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# those, the noncharacters U+FFFE/U+FFFF and lone surrogates: no text has them, and one of
# them makes lxml and trafilatura drop the text
_CONTROL_RE = re.compile(
    "[" + re.escape(_CONTROL_BYTES.decode("ascii")) + "\ufffe\uffff\ud800-\udfff]"
)


_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)


# A numeric character reference that may stand for a control character, as lxml reads it
# (digits taken greedily, ";" optional): decimal up to 999 or 65534-5, hex up to FF or
# FFFE-F (lxml reads a surrogate or a value beyond U+10FFFF as U+FFFD)
_CONTROL_REF_RE = re.compile(
    r"&#(?:0*(\d{1,3}|6553[45])(?!\d)|[xX]0*([0-9a-fA-F]{1,2}|[fF]{3}[eEfF])(?![0-9a-fA-F]))"
)


# lxml.html's own parser picks each element's class (FormElement, InputElement...) with a
# Python function, called for every element object made: hundreds a page as trafilatura walks
# the tree. Nothing here needs more than HtmlElement, which this lookup gives in C.
_PARSER = HTMLParser(
    collect_ids=False, default_doctype=False, remove_comments=True, remove_pis=True
)
_PARSER.set_element_class_lookup(
    ElementDefaultClassLookup(
        element=lxml_html.HtmlElement,
        comment=lxml_html.HtmlComment,
        pi=lxml_html.HtmlProcessingInstruction,
        entity=lxml_html.HtmlEntity,
    )
)


def _has_controls(html: str) -> bool:
    """Whether `html` holds a character of _CONTROL_RE: the C0 controls looked for in its
    UTF-8 bytes, where deleting bytes runs in C at a fraction of what the regex costs to
    scan a page that holds none (nearly every page)."""
    if "\ufffe" in html or "\uffff" in html:
        return True
    try:
        raw = html.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return len(raw.translate(None, _CONTROL_BYTES)) != len(raw)


def _sanitize(html: str) -> str:
    if len(html) > MAX_HTML_CHARS:
        html = html[:MAX_HTML_CHARS]
    if _has_controls(html):
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
    if _has_control_refs(html):
        _strip_controls(root)
    return root


def _has_control_refs(html: str) -> bool:
    """Whether a character reference of `html` stands for a control character: the only
    way one gets into the tree once the raw text is sanitized."""
    for match in _CONTROL_REF_RE.finditer(html):
        digits, hex_digits = match.groups()
        if _CONTROL_RE.match(chr(int(digits) if digits else int(hex_digits, 16))):
            return True
    return False


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


def _languages_for_dates(declared: str | None, hint: str | None) -> list[str] | None:
    first = declared or _html_lang(hint)
    if first is None:
        return None
    return [first, *[lang for lang in LANGUAGES if lang != first]]


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


_XP_COUNT_NODES = XPath(
    "count(descendant-or-self::* | descendant::comment() | descendant::processing-instruction())"
)


def _count_elements(tree) -> int:
    """The nodes `tree.iter()` would give, counted inside libxml2 (no Python proxies)."""
    return int(_XP_COUNT_NODES(tree))


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
