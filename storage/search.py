"""One search syntax for both databases: the text is indexed folded, the query folded the same
way, then written as SQLite FTS5 MATCH or as a PostgreSQL tsquery.

Folding: lower case; accents and Arabic diacritics (harakat, tatweel) dropped; the Arabic alef
forms (أ إ آ ٱ) read as ا, ة as ه, ى as ي; a leading Arabic article (ال, وال, بال, فال, كال, لل)
taken off a word of more than it. Words are runs of letters and digits.

Query syntax: words (all must appear), "a phrase", OR between alternatives, -word or -"a phrase"
to exclude, word* for a prefix.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

WORDS = re.compile(r"[^\W_]+")
QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
LIGATURES = (("œ", "oe"), ("æ", "ae"))  # casefold writes ß as ss already
ARABIC_ARTICLES = ("وال", "بال", "فال", "كال", "لل", "ال")
DROPPED = {"\u0640"}  # tatweel


class QueryError(ValueError):
    """A filter the user gave that cannot be run (a search with no word...), with why."""


class _Unmarked(dict[int, int | None]):
    """str.translate's table that drops combining marks and tatweel, filled as characters are
    first met (up to 8,192 of them, whatever a hostile page holds): the lookups stay in C,
    where a Python test of each character was 2.6x slower."""

    def __missing__(self, code: int) -> int | None:
        c = chr(code)
        kept = None if unicodedata.combining(c) or c in DROPPED else code
        if len(self) < 8192:
            self[code] = kept
        return kept


UNMARKED = _Unmarked()


def bare(text: str) -> str:
    """Lower case, compatibility forms decomposed, accents, diacritics and tatweel dropped."""
    low = text.casefold()
    for ligature, letters in LIGATURES:  # str.replace, where str.translate looked up each character
        low = low.replace(ligature, letters)
    return unicodedata.normalize("NFKD", low).translate(UNMARKED)


@lru_cache(maxsize=4096)  # the words that recur; 65,536 held 10 MB that a backfill filled
def fold_word(word: str) -> str:
    """One bare word as it is indexed and looked for: Arabic letters unified, article off."""
    word = word.translate(ARABIC_LETTERS)
    for article in ARABIC_ARTICLES:
        if word.startswith(article) and len(word) - len(article) >= 2:
            return word[len(article) :]
    return word


def fold_words(text: str) -> list[str]:
    """The folded words of a text, in order."""
    return [fold_word(w) for w in WORDS.findall(bare(text))]


def fold(text: str | None) -> str:
    """A text as it is indexed: its folded words separated by single spaces."""
    return " ".join(fold_words(text or ""))


def searchable(*parts: str | None) -> str:
    """What the full-text index holds for an article: title, lead and text, folded."""
    return "\n".join(fold(p) for p in parts if p)


@dataclass
class Term:
    """A word, a prefix or a phrase: folded words that must appear in a row."""

    words: list[str]
    prefix: bool = False


@dataclass
class Search:
    """Alternatives (OR) of terms that must all appear, and terms that must not."""

    alternatives: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)


def parse_search(user_text: str) -> Search:
    """The user's search read once, for either database (QueryError if it has no word)."""
    search = Search(alternatives=[[]])
    for negate, phrase, word in QUERY_TOKEN.findall(user_text):
        if word == "OR":
            if search.alternatives[-1]:
                search.alternatives.append([])
            continue
        if word.startswith("-") and len(word) > 1:
            negate, word = "-", word[1:]
        prefix = bool(word) and word.endswith("*")
        words = fold_words(phrase or word)
        if not words:
            continue
        term = Term(words, prefix and len(words) == 1)
        (search.excluded if negate else search.alternatives[-1]).append(term)
    search.alternatives = [a for a in search.alternatives if a]
    if not search.alternatives:
        raise QueryError(f"search {user_text!r} has no word to look for")
    return search


def fts5_match(search: Search) -> str:
    """The search as an FTS5 MATCH expression; every word quoted, so none is FTS5 syntax."""

    def term(t: Term) -> str:
        return '"' + " ".join(t.words) + '"' + ("*" if t.prefix else "")

    query = " OR ".join("(" + " AND ".join(term(t) for t in a) + ")" for a in search.alternatives)
    for t in search.excluded:
        query = f"({query}) NOT {term(t)}"
    return query


def tsquery(search: Search) -> str:
    """The search as PostgreSQL to_tsquery('simple', ...) text: 'a' <-> 'b', :*, &, |, !."""

    def term(t: Term) -> str:
        quoted = " <-> ".join(f"'{w}'" for w in t.words)
        return quoted + (":*" if t.prefix else "")

    query = " | ".join("(" + " & ".join(term(t) for t in a) + ")" for a in search.alternatives)
    for t in search.excluded:
        query = f"({query}) & !({term(t)})"
    return query
