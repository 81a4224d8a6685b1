"""When a page says it was published.

In order of trust: htmldate's reading of the URL and the markup, made precise by the page's
own structured markup (JSON-LD ``datePublished``, meta tags, ``<time>``) when that gives the
same day with a time of day; when htmldate has only a bare day (a URL's, or a header's
"today") or nothing: the structured markup, the date the feed or sitemap gave, a byline
with a time under the title (veille's French and Moroccan Arabic month names, Eastern
Arabic digits), htmldate's bare day, a date in the text, and last htmldate's search of the
whole text. Each gives the moment as written: with the offset the page gave, or naive
(Morocco time, see crawler.core.dates). `python -m bench.dates` measures it on real pages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from lxml.etree import XPath

from crawler.core.dates import parse_moment, search_moment

LOGGER = logging.getLogger(__name__)

# Page furniture whose dates are other articles': comments, related posts, sidebars.
NOT_IN_CHROME = (
    "not(ancestor::*[contains(@class,'comment') or contains(@id,'comment')"
    " or contains(@class,'related') or contains(@class,'sidebar') or self::aside])"
)

META_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "publishdate",
    "pubdate",
    "publish-date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dc.date",
    "dcterms.created",
    "date",
)
HTMLDATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
TEXT_NEAR_TITLE_CHARS = 1500

_XP_OUTER_ASIDES = XPath("//aside[not(ancestor::article)][not(.//h1)]")
_XP_TIME_PUBLISHED = XPath(
    "//*[@itemprop='datePublished'][@datetime or @content]"
    " | //time[@datetime][contains(@class,'published') or contains(@class,'entry-date')]"
    f"[{NOT_IN_CHROME}]"
)
_XP_TIME_ARTICLE = XPath(f"//article//time[@datetime][{NOT_IN_CHROME}]")
_XP_TIME_ANY = XPath(f"//time[@datetime][{NOT_IN_CHROME}]")
_XP_TIME_AFTER = XPath(f"following::time[@datetime][{NOT_IN_CHROME}][1]")
_XP_TEXT_AFTER = XPath(
    "following::text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]"
    f"[{NOT_IN_CHROME}]"
)
_XP_BODY_TEXT = XPath(
    "//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)"
    " and not(ancestor::nav) and not(ancestor::footer) and not(ancestor::aside)]"
)


def _first_moment(values: Iterator[str | None]) -> datetime | None:
    for value in values:
        if value:
            moment = parse_moment(value)
            if moment is not None:
                return moment
    return None


def _time_values(tree, h1) -> Iterator[str | None]:
    candidates = list(_XP_TIME_PUBLISHED(tree)[:3])
    if h1 is not None:
        candidates.extend(_XP_TIME_AFTER(h1))
    candidates.extend(_XP_TIME_ARTICLE(tree)[:3])
    candidates.extend(_XP_TIME_ANY(tree)[:1])
    return (el.get("datetime") or el.get("content") for el in candidates)


def from_markup(tree, h1, metas: dict[str, str], jsonld_dates: list[str]) -> datetime | None:
    """The publication time the page's structured markup states."""
    return (
        _first_moment(iter(jsonld_dates))
        or _first_moment(metas.get(key) for key in META_KEYS)
        or _first_moment(_time_values(tree, h1))
    )


@contextmanager
def asides_detached(tree) -> Iterator[None]:
    """The page without the asides outside its article (other articles' dates, which
    htmldate's oldest-date rule would take) for the time of the block: they are dropped
    from the tree as lxml's ``drop_tree`` does (their tail text stays) and put back after,
    so that the page is not copied for it (htmldate copies it when it reads further than
    the header). Pruning blocks by class name ("sidebar", "comments") lost more dates than
    it saved on bench.dates' real pages: layouts give such names to their main column."""
    matched = _XP_OUTER_ASIDES(tree)
    chosen = set(matched)
    # an aside inside another one goes with it
    outermost = [a for a in matched if not any(p in chosen for p in a.iterancestors())]
    undo = []
    try:
        for aside in outermost:
            parent, previous = aside.getparent(), aside.getprevious()
            if parent is None:
                continue
            before = parent.text if previous is None else previous.tail
            undo.append((aside, parent, parent.index(aside), previous, before))
            aside.drop_tree()
        yield
    finally:
        for aside, parent, index, previous, before in reversed(undo):
            if previous is None:
                parent.text = before
            else:
                previous.tail = before
            parent.insert(index, aside)


def from_htmldate(tree, url: str, extensive: bool) -> datetime | None:
    """htmldate's original publication date of the page with its `asides_detached`: markup
    and URL, or (`extensive`) the text too."""
    from htmldate import find_date

    try:
        with asides_detached(tree):
            found = find_date(
                tree,
                url=url or None,
                original_date=True,
                extensive_search=extensive,
                outputformat=HTMLDATE_FORMAT,
            )
    except Exception:  # htmldate must not break extraction
        LOGGER.debug("htmldate failed on %s", url, exc_info=True)
        return None
    return parse_moment(found) if found else None


def near_title(h1, languages: list[str] | None) -> datetime | None:
    """A date written just after the title (a byline's "Publié le 18/03/2025 à 17:45")."""
    if h1 is None:
        return None
    chunks: list[str] = []
    size = 0
    for text in _XP_TEXT_AFTER(h1):
        chunks.append(text)
        size += len(text)
        if size > TEXT_NEAR_TITLE_CHARS:
            break
    return search_moment(" ".join(chunks), languages)


def from_text(tree, h1, languages: list[str] | None) -> datetime | None:
    """A date written just after the title, else early in the page's text."""
    return near_title(h1, languages) or search_moment(
        " ".join(_XP_BODY_TEXT(tree)[:2000]), languages
    )


def has_time(moment: datetime) -> bool:
    """True unless the moment is a bare day (midnight, no offset)."""
    return moment.tzinfo is not None or (moment.hour, moment.minute, moment.second) != (0, 0, 0)


def page_date(
    tree,
    url: str,
    h1,
    metas: dict[str, str],
    jsonld_dates: list[str],
    feed_date: datetime | None,
    languages: list[str] | None,
) -> datetime | None:
    """The page's publication moment, as written (offset kept, or naive); see the module."""
    found = from_htmldate(tree, url, extensive=False)
    markup = from_markup(tree, h1, metas, jsonld_dates)
    if found is not None and markup is not None and markup.date() == found.date():
        return markup  # the same day, with the time of day and offset the markup gives
    if found is not None and (markup is not None or has_time(found)):
        return found
    # htmldate found nothing, or only a bare day (the URL's, or a header's "today")
    byline = near_title(h1, languages)
    return (
        markup
        or feed_date
        or (byline if byline is not None and has_time(byline) else None)
        or found
        or byline
        or from_text(tree, h1, languages)
        or from_htmldate(tree, url, extensive=True)
    )
