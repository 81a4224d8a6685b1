"""Signatory names: organisation-like spans in the sentences about the deal."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

from .text import fold_word


def _words(text: str) -> list[str]:
    """Whitespace-separated word list (keeps long vocabularies readable)."""
    return text.split()


# The vocabulary lives in crawler/core/rules/parties.toml, next to the other rules.
_VOCABULARY = tomllib.loads(
    (Path(__file__).resolve().parent.parent / "rules" / "parties.toml").read_text(encoding="utf-8")
)
# Capitalised words that open sentences or name times, not organisations.
_STOP_CAPS = frozenset(fold_word(w) for w in _words(_VOCABULARY["stop_caps"]))
# Person titles: "Minister Delegate", "Président ..." name a person, not a signatory.
_TITLES = frozenset(fold_word(w) for w in _words(_VOCABULARY["titles"]))
# Capitalised vocabulary that is never a signatory on its own.
_NOT_NAMES = frozenset(_words(_VOCABULARY["not_names"]))
_LATIN_CONNECTORS = frozenset(_words(_VOCABULARY["latin_connectors"]))
_AND = frozenset(("et", "and", "&"))
_OF = frozenset(("de", "du", "des", "d'", "of", "for", "pour"))
_ARTICLES = frozenset(("le", "la", "les", "l'", "the"))
# Words before a capitalised name that make it a place, not a signatory.
_LOCATIVE = frozenset(_words(_VOCABULARY["locative"]))
_DEMONYM = re.compile(r"(?:north|south|east|west|central)?[a-z]+(?:ese|an|ish|ian|i|-based)")
_LATIN_TOKEN = re.compile(r"(?i:qu|[ldjnsc])'|[^\W_](?:[\w&\-]|'(?=s\b)|\.(?=\w))*|[()«»\",;:–]")
_ARABIC_TOKEN = re.compile(r"\"[^\"\n]{1,60}\"|«[^»\n]{1,60}»|\([^)\n]{1,40}\)|[\w\-]+|[،,.:;؛]")
_ACRONYM = re.compile(r"\(([A-Z][A-Za-z0-9&-]{1,9})\)")
_MAX_TOKENS = 14
_ACRONYM_AHEAD = re.compile(r"[^,;.()\n]{1,70}?\s\(([A-Z][A-Za-z0-9&-]{1,9})\)")


def _is_cap(token: str) -> bool:
    return token[0].isupper() or (token[0].isdigit() and any(c.isupper() for c in token))


class PartyContext:
    """Article-level knowledge the party filters need (set by the detector)."""

    def __init__(
        self,
        is_place: Callable[[str], bool],
        signs_after: Callable[[int], bool],
        lowercase_words: frozenset[str],
        events: frozenset[str] = frozenset(),
        cut: frozenset[str] = frozenset(),
    ) -> None:
        self.is_place = is_place
        self.signs_after = signs_after
        self.lowercase_words = lowercase_words
        self.events = events  # event nouns: "Journée ...", "... Forum" are not signatories
        self.cut = cut  # "pour", "for": a lowercase clause after them is not the name


def _keep(name: str, words: list[str], heads: frozenset[str], ctx: PartyContext, end: int) -> bool:
    """Filters: places, lone common nouns, nationality adjectives, lone generic heads."""
    content = [w for w in words if w not in _LATIN_CONNECTORS]
    if not content:
        return False
    if content[0] in ctx.events or content[-1] in ctx.events or content[0] in _TITLES:
        return False
    if ctx.is_place(fold_word(name)) and not ctx.signs_after(end):
        return False
    if len(content) == 1:
        word = content[0]
        if word in _NOT_NAMES or (word in heads and word not in ("gouvernement", "government")):
            return False
        if not name.isupper() and word in ctx.lowercase_words:  # "Automobile :" (a common noun)
            return False
        if name.isupper():  # an acronym ("CRI", "OCP"), never a nationality adjective
            return True
    return not all(_DEMONYM.fullmatch(w) for w in content if w not in heads) or any(
        w in heads for w in content
    )


def _cut_clause(
    span: list[tuple[int, int, str]], cut: frozenset[str]
) -> list[tuple[int, int, str]]:
    """'Cluster MTA pour accompagner l'émergence' -> 'Cluster MTA' (no capital after 'pour')."""
    for k, (_, _, tok) in enumerate(span):
        if k and fold_word(tok) in cut and not any(_is_cap(t) for _, _, t in span[k + 1 :]):
            return span[:k]
    return span


def latin_parties(
    text: str, start: int, end: int, heads: frozenset[str], stop: frozenset[str], ctx: PartyContext
) -> list[tuple[int, int]]:
    """Organisation spans (absolute offsets) in text[start:end], Latin script."""
    tokens = [(m.start(), m.end(), m.group()) for m in _LATIN_TOKEN.finditer(text, start, end)]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i][2]
        low = fold_word(tok)
        base = low[:-2] if low.endswith("'s") else low
        head_mode = low in heads
        if tok.endswith("'") or not (head_mode or (_is_cap(tok) and base not in _STOP_CAPS)):
            i += 1
            continue
        if i > 0 and fold_word(tokens[i - 1][2]) in _LOCATIVE and not head_mode:
            i += 1  # "à Jorf Lasfar", "in Tangier": a place
            while i < len(tokens) and _is_cap(tokens[i][2]):
                i += 1
            continue
        if tok.endswith("'s"):  # "Morocco's Ministry": the possessive ends the name
            i += 1
            continue
        j = last = i
        has_of = False
        joined = False  # one "et"/"and" inside a name ("ministère de l'Industrie et du Commerce")
        while j + 1 < len(tokens) and j + 1 - i < _MAX_TOKENS:
            nxt = tokens[j + 1][2]
            nlow = fold_word(nxt)
            if nxt == "(":
                if last == j and _ACRONYM.match(text, tokens[j + 1][0]):
                    k = j + 1
                    while k < len(tokens) - 1 and tokens[k][2] != ")":
                        k += 1
                    last = k
                break
            if nlow in _AND:
                after = fold_word(tokens[j + 2][2]) if j + 2 < len(tokens) else ""
                joins = after in ("de", "du", "des", "d'") or (
                    has_of and j + 2 < len(tokens) and _is_cap(tokens[j + 2][2])
                )
                if not joins or joined:
                    break
                joined = True
                j += 1
                continue
            if nlow in _LATIN_CONNECTORS:
                has_of = has_of or nlow in _OF
                j += 1
                continue
            if nxt.endswith("'s"):
                break
            if (_is_cap(nxt) and nlow not in _STOP_CAPS) or nlow in heads:
                head_mode = head_mode or nlow in heads
                j = last = j + 1
                continue
            if head_mode and nxt[0].isalpha() and nxt[0].islower() and nlow not in stop:
                j = last = j + 1
                continue
            break
        if head_mode and last + 1 < len(tokens) and tokens[last + 1][2] != "(":
            # "Association marocaine pour l'industrie et la construction automobile (AMICA)":
            # a head-noun name runs on to its acronym in parentheses
            tail = _ACRONYM_AHEAD.match(text, tokens[last][1], end)
            if tail and not any(c.isupper() for c in text[tokens[last][1] : tail.start(1) - 1]):
                k = last + 1
                while k < len(tokens) and tokens[k][1] <= tail.end():
                    k += 1
                last = k - 1
        span = _cut_clause(tokens[i : last + 1], ctx.cut)
        while span and fold_word(span[0][2]) in _ARTICLES:
            span = span[1:]
        if span:
            s_a, s_b = span[0][0], span[-1][1]
            words = [fold_word(t) for _, _, t in span if t[0].isalnum()]
            if _keep(text[s_a:s_b], words, heads, ctx, s_b):
                spans.append((s_a, s_b))
        i = last + 1
    return spans


def arabic_parties(
    text: str,
    start: int,
    end: int,
    heads: frozenset[str],
    stop: frozenset[str],
    signing: re.Pattern[str] | None,
) -> list[tuple[int, int]]:
    """Organisation spans in text[start:end], Arabic script (head noun + complement)."""
    tokens = [(m.start(), m.end(), m.group()) for m in _ARABIC_TOKEN.finditer(text, start, end)]
    spans: list[tuple[int, int]] = []
    alone_ok = {"الحكومة"}  # heads that name a signatory on their own

    def head_of(token: str) -> tuple[bool, int]:
        low = fold_word(token)
        if low in heads:
            return True, 0
        if low.startswith("و") and low[1:] in heads:
            return True, 1
        return False, 0

    i = 0
    while i < len(tokens):
        a, _, tok = tokens[i]
        is_head, skip = head_of(tok)
        if not is_head:
            i += 1
            continue
        head_low = fold_word(tok)[skip:]
        if i + 1 < len(tokens) and tokens[i + 1][2][0] in '"«':
            qa, qb, _ = tokens[i + 1]
            spans.append((qa + 1, qb - 1))
            i += 2
            continue
        last = i
        j = i + 1
        while j < len(tokens) and j - i < _MAX_TOKENS:
            tok_j = tokens[j][2]
            low_j = fold_word(tok_j)
            if tok_j in "،,.:;؛" or tok_j[0] in '"«':
                break
            if tok_j.startswith("("):
                last = j
                break
            if low_j in stop or head_of(tok_j)[0] or (signing and signing.fullmatch(low_j)):
                break
            if any(c.isdigit() for c in low_j) or (
                low_j.startswith("ب") and not low_j.startswith("بال")
            ):
                break
            last = j
            j += 1
        tail = [fold_word(t) for _, _, t in tokens[i + 1 : last + 1]]
        for k, w in enumerate(tail):
            if w in ("هذه", "هذا", "تلك", "ذلك"):  # a demonstrative ends the name
                last = i + k
                tail = tail[:k]
                break
        # "المجموعة الهندية" (the Indian group), "شركة إسبانية" (a Spanish company): a
        # description, not a name.
        anaphora = head_low.startswith("ال") and all(w.endswith(("ية", "ي")) for w in tail)
        anaphora = anaphora or (
            not head_low.startswith("ال")
            and bool(tail)
            and tail[0].endswith("ية")
            and not tail[0].startswith("ال")
        )
        if (tail and not anaphora) or head_low in alone_ok:
            spans.append((a + skip, tokens[last][1]))
        i = last + 1
    return spans
