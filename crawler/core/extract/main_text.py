"""The main text of an article page: trafilatura on the parsed tree, boilerplate lines dropped."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from crawler.core.extract.metadata import _clean

LOGGER = logging.getLogger(__name__)

# trafilatura: precision over recall, no comments/tables/links/images. Its main extractor
# runs alone ("fast"); the fallback extractors (readability, jusText) cost as much again on
# every page, so they only run where the main one found less than RESCUE_BELOW_CHARS.
RESCUE_BELOW_CHARS = 400
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "precision": True,
    "comments": False,
    "tables": False,
    "links": False,
    "images": False,
    "formatting": False,
    "with_metadata": False,
    "dedup": False,  # trafilatura's dedup cache is process-wide: it would drop reprints
}


@lru_cache(maxsize=2)
def _options(fast: bool) -> Any:
    """trafilatura's options (its ``Extractor``), made once: made per call, they read its
    configuration file every time. Without the page's URL: with links left out,
    trafilatura only puts it in its log messages."""
    from trafilatura.settings import Extractor

    return Extractor(output_format="python", fast=fast, **TRAFILATURA_OPTIONS)


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


@lru_cache(maxsize=1)
def _cleaned_tags() -> tuple[str, ...]:
    """The elements trafilatura's cleaning deletes with veille's options, less those it
    reads before deleting them (forms and MathML, the head's JSON-LD)."""
    from trafilatura.settings import MANUALLY_CLEANED

    tables = () if TRAFILATURA_OPTIONS["tables"] else ("table", "td", "th", "tr")
    return tuple(t for t in [*MANUALLY_CLEANED, *tables] if t not in ("form", "math", "head"))


def _drop_cleaned(tree) -> None:
    """Delete up front what trafilatura deletes in its cleaning anyway (scripts, menus,
    footers, forms' fields...), so that its XPath passes and copies of the raw tree walk
    fewer elements. Kept for it: JSON-LD (it looks for forum posts) and anything holding an
    h1 (its raw-tree prune asks)."""
    for el in list(tree.iter(_cleaned_tags())):
        if el.tag == "script" and el.get("type") == "application/ld+json":
            continue
        if el.find(".//h1") is None:
            el.drop_tree()


def _trafilatura_text(tree, url: str, fast: bool) -> str:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(tree, options=_options(fast))
    except Exception:  # trafilatura must not break the crawl
        LOGGER.debug("trafilatura failed on %s", url, exc_info=True)
        return ""
    return (getattr(doc, "text", None) if doc is not None else None) or ""


def _main_text(tree, url: str, title: str | None, fast: bool = False) -> str:
    _drop_cleaned(tree)  # in place: the main text is the page tree's last reader
    raw = _trafilatura_text(tree, url, fast=True)
    if len(raw) < RESCUE_BELOW_CHARS and not fast:
        raw = max(raw, _trafilatura_text(tree, url, fast=False), key=len)
    if not raw:
        return ""
    lines: list[str] = []
    for piece in raw.split("\n"):
        line = _clean(piece.replace("spot_img", " "))
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
