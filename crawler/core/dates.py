"""Date parsing for feeds and pages (French, Arabic, English).

``parse_date`` returns a timezone-aware UTC datetime or None; ``parse_moment`` the same moment
as written (with the offset it gave, or naive). Machine formats (ISO 8601,
RFC 822) are parsed directly; human dates go through dateparser after the Moroccan (and
other Maghreb / Levantine) Arabic month names are mapped to the ones dateparser knows and
Eastern Arabic digits are turned into ASCII digits. Strings with surrounding words
("Publié le 18/03/2025 à 10:45", "نشر في ...") are handled by locating the date inside them.

A date without a timezone is Morocco local time (Africa/Casablanca: UTC+1, UTC+0 during
Ramadan), so a date-only string means midnight in Morocco: "4 novembre 2025" is
2025-11-03T23:00:00Z.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from crawler.core.common import ARABIC_DIGITS_TABLE, LANGUAGES

__all__ = [
    "MOROCCO_TZ",
    "find_date_strings",
    "normalize_date_text",
    "parse_date",
    "parse_moment",
    "search_date",
    "search_moment",
    "to_utc",
]

MOROCCO_TZ = ZoneInfo("Africa/Casablanca")
DEFAULT_LANGUAGES: tuple[str, ...] = LANGUAGES

MIN_YEAR, MAX_YEAR = 1990, 2100
MAX_INPUT_CHARS = 300  # parse_date input; longer strings are searched, not parsed whole

_DIGITS = ARABIC_DIGITS_TABLE

# Arabic month names dateparser does not know -> the (Egyptian/standard) names it knows.
_AR_MONTHS: dict[str, str] = {
    # Moroccan
    "يناير": "يناير",
    "فبراير": "فبراير",
    "مارس": "مارس",
    "أبريل": "أبريل",
    "ابريل": "أبريل",
    "إبريل": "أبريل",
    "ماي": "مايو",
    "يونيو": "يونيو",
    "يوليوز": "يوليو",
    "غشت": "أغسطس",
    "شتنبر": "سبتمبر",
    "أكتوبر": "أكتوبر",
    "اكتوبر": "أكتوبر",
    "نونبر": "نوفمبر",
    "دجنبر": "ديسمبر",
    # Algerian / Tunisian
    "جانفي": "يناير",
    "فيفري": "فبراير",
    "أفريل": "أبريل",
    "افريل": "أبريل",
    "جوان": "يونيو",
    "جويلية": "يوليو",
    "أوت": "أغسطس",
    # Levantine / Iraqi
    "كانون الثاني": "يناير",
    "شباط": "فبراير",
    "آذار": "مارس",
    "نيسان": "أبريل",
    "أيار": "مايو",
    "حزيران": "يونيو",
    "تموز": "يوليو",
    "آب": "أغسطس",
    "أيلول": "سبتمبر",
    "تشرين الأول": "أكتوبر",
    "تشرين الثاني": "نوفمبر",
    "كانون الأول": "ديسمبر",
}
_AR_MONTH_RE = re.compile(
    r"(?<!\w)(" + "|".join(sorted(map(re.escape, _AR_MONTHS), key=len, reverse=True)) + r")(?!\w)"
)

_FR_MONTHS = (
    "janvier février fevrier mars avril mai juin juillet août aout septembre octobre "
    "novembre décembre decembre janv févr fevr avr juil sept oct nov déc dec"
)
_EN_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_STD_AR_MONTHS = "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر"
_MONTH_WORDS = sorted(
    {*_FR_MONTHS.split(), *_EN_MONTHS.split(), *_STD_AR_MONTHS.split(), *_AR_MONTHS},
    key=len,
    reverse=True,
)
_MONTH = r"(?:" + "|".join(map(re.escape, _MONTH_WORDS)) + r")\.?"
_TIME = (
    r"(?:\s*(?:à|a|at|vers|-|–|—|,|\||،|الساعة)?\s*"
    r"\d{1,2}\s*(?::|h|H)\s*\d{2}(?::\d{2})?(?:\s*(?:am|pm|AM|PM))?)?"
)
_DATE_IN_TEXT_RE = re.compile(
    r"(?<![\w/.-])(?:"
    # 2025-11-04T09:00:00+01:00, 2025-11-04 09:00
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    # 4 novembre 2025 [à 10h30], 1er nov. 2025, 20 نونبر 2024 - 13:00
    rf"|\d{{1,2}}(?:er|ER)?\s+{_MONTH}\s*,?\s+\d{{4}}{_TIME}"
    # September 12, 2024 [4:40 pm]
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\s*,?\s+\d{{4}}{_TIME}"
    # 18/03/2025 [à 10:45], 18.03.2025, 18-03-2025
    rf"|\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{4}}{_TIME}"
    r")(?![\w])",
    re.IGNORECASE,
)

_ISO_RE = re.compile(r"^\d{4}-?\d{2}-?\d{2}(?:[T ].*)?$")
_RFC822_RE = re.compile(r"^(?:[A-Za-z]{3},?\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}")
_HOUR_H_RE = re.compile(r"(?<=\d)\s*[hH]\s*(\d{2})(?!\d)")
_FIRST_RE = re.compile(r"(?<=\b1)er\b", re.IGNORECASE)
_SPACES_RE = re.compile(r"\s+")

_DATEPARSER_SETTINGS = {
    "PREFER_DATES_FROM": "past",
    # never complete a partial date ("4 novembre", "2025") from the current date
    "REQUIRE_PARTS": ["day", "month", "year"],
    # absolute dates only: "il y a 2 heures" depends on when the page was read
    "PARSERS": ["absolute-time"],
    "DATE_ORDER": "DMY",
}


@lru_cache(maxsize=16)
def _parser(languages: tuple[str, ...]):
    from dateparser.date import DateDataParser

    return DateDataParser(languages=list(languages), settings=_DATEPARSER_SETTINGS)


def normalize_date_text(text: str) -> str:
    """ASCII digits, known Arabic month names, '1er' -> '1', '10h30' -> '10:30', single spaces."""
    text = text.translate(_DIGITS).replace("\u00a0", " ").replace("\u202f", " ")
    text = _AR_MONTH_RE.sub(lambda m: _AR_MONTHS[m.group(1)], text)
    text = _FIRST_RE.sub("", text)
    text = _HOUR_H_RE.sub(r":\1", text)
    return _SPACES_RE.sub(" ", text).strip()


def to_utc(dt: datetime) -> datetime | None:
    """The moment in UTC (a naive time is Morocco's); None outside the years news can have."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=MOROCCO_TZ)
    try:
        dt = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if not MIN_YEAR <= dt.year <= MAX_YEAR:
        return None
    return dt


def _parse_machine(text: str) -> datetime | None:
    if _ISO_RE.match(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    if _RFC822_RE.match(text):
        try:
            dt = email.utils.parsedate_to_datetime(text)
            # RFC 2822 "-0000" means UTC with no local-time information; no zone at all
            # (or an unknown name such as "CET") stays naive and is read as Morocco time
            if dt.tzinfo is None and text.rstrip().endswith("-0000"):
                dt = dt.replace(tzinfo=UTC)
            return dt
        except (TypeError, ValueError, IndexError):
            pass
    return None


def _parse_human(text: str, languages: tuple[str, ...]) -> datetime | None:
    try:
        return _parser(languages).get_date_data(text).date_obj
    except Exception:  # dateparser raises assorted errors on odd input
        return None


def _languages(languages: list[str] | None) -> tuple[str, ...]:
    if not languages:
        return DEFAULT_LANGUAGES
    langs = tuple(dict.fromkeys(lang.lower()[:2] for lang in languages if lang))
    return langs or DEFAULT_LANGUAGES


def find_date_strings(text: str) -> Iterator[str]:
    """Date-looking substrings of a (normalized) text, in order of appearance."""
    for match in _DATE_IN_TEXT_RE.finditer(text):
        yield match.group(0).strip(" -–—,|،")


def parse_date(text: str, languages: list[str] | None = None) -> datetime | None:
    """Timezone-aware UTC datetime of `parse_moment`, or None."""
    moment = parse_moment(text, languages)
    return to_utc(moment) if moment is not None else None


def parse_moment(text: str, languages: list[str] | None = None) -> datetime | None:
    """The date and time a string gives, with the offset it gives (naive if none), or None.

    Accepts ISO 8601, RFC 822, and human dates in French ('mardi 4 novembre 2025',
    'le 4 nov. 2025 à 10h30', 'Publié le 18/03/2025 à 10:45'), Arabic (Moroccan month
    names, Eastern Arabic digits) and English. Naive dates are Morocco time. Incomplete
    dates ('4 novembre', 'novembre 2025') and relative ones ('il y a 2 heures') give None.
    Never raises.
    """
    if not isinstance(text, str):
        return None
    try:
        clean = normalize_date_text(text[: MAX_INPUT_CHARS * 4])
        if not clean or not any(c.isdigit() for c in clean):
            return None
        langs = _languages(languages)
        dt = None
        if len(clean) <= MAX_INPUT_CHARS:
            dt = _parse_machine(clean) or _parse_human(clean, langs)
        if dt is None:
            for candidate in find_date_strings(clean):
                dt = _parse_machine(candidate) or _parse_human(candidate, langs)
                if dt is not None:
                    break
        return dt if dt is not None and to_utc(dt) is not None else None
    except Exception:  # a bad date must never break extraction
        return None


def search_date(
    text: str, languages: list[str] | None = None, max_chars: int = 5000
) -> datetime | None:
    """UTC datetime of `search_moment`, or None."""
    moment = search_moment(text, languages, max_chars)
    return to_utc(moment) if moment is not None else None


def search_moment(
    text: str, languages: list[str] | None = None, max_chars: int = 5000
) -> datetime | None:
    """First parseable date written in a longer text (page text near the title, a byline),
    as written (with its offset, or naive)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        clean = normalize_date_text(text[:max_chars])
        langs = _languages(languages)
        for candidate in find_date_strings(clean):
            dt = _parse_machine(candidate) or _parse_human(candidate, langs)
            if dt is not None and to_utc(dt) is not None:
                return dt
    except Exception:
        return None
    return None
