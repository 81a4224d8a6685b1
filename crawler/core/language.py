"""The cheap language detector: Arabic script, else French or English by stopwords."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

_ARABIC_RANGES = (
    (0x0600, 0x06FF),
    (0x0750, 0x077F),
    (0x08A0, 0x08FF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)
# runs of letters only (not the digits, signs and marks of those blocks): the letters are
# counted as the runs' lengths, a match per word rather than one per letter
_ARABIC_LETTERS = re.compile(
    "["
    + "".join(chr(c) for lo, hi in _ARABIC_RANGES for c in range(lo, hi + 1) if chr(c).isalpha())
    + "]+"
)
_LATIN_LETTERS = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+")
# The stopwords live in crawler/core/rules/stopwords.toml, next to the other rules.
_STOPWORDS = tomllib.loads(
    (Path(__file__).resolve().parent / "rules" / "stopwords.toml").read_text(encoding="utf-8")
)
_FR_STOPWORDS = frozenset(_STOPWORDS["fr"].split())
_EN_STOPWORDS = frozenset(_STOPWORDS["en"].split())
_LONGEST_STOPWORD = max(map(len, _FR_STOPWORDS | _EN_STOPWORDS))
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
LANG_SAMPLE_CHARS = 6000


def language_scores(text: str) -> tuple[str | None, bool]:
    """(language, strong): the cheap detector's guess and whether the evidence is strong."""
    sample = text[:LANG_SAMPLE_CHARS]
    arabic = sum(map(len, _ARABIC_LETTERS.findall(sample)))
    if arabic >= 10:  # else the Latin letters cannot make it Arabic: not counted
        letters = arabic + sum(map(len, _LATIN_LETTERS.findall(sample)))
        if arabic / letters >= 0.4:
            return "ar", arabic >= 60 and arabic / letters >= 0.6
    # a word longer than every stopword cannot lowercase into one: lowercasing never shortens
    words = [w.lower() for w in _WORD_RE.findall(sample) if len(w) <= _LONGEST_STOPWORD]
    fr = sum(map(_FR_STOPWORDS.__contains__, words))
    en = sum(map(_EN_STOPWORDS.__contains__, words))
    if fr + en < 4:
        return None, False
    if fr >= 2 * en:
        return "fr", fr >= 8 and fr >= 3 * en
    if en >= 2 * fr:
        return "en", en >= 8 and en >= 3 * fr
    return None, False


def detect_language(text: str) -> str | None:
    """'ar' for Arabic script, else 'fr' or 'en' by stopword counts; None when unsure."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return language_scores(text)[0]
    except Exception:
        return None
