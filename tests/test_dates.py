"""crawler.core.dates: machine and human dates in French, Arabic and English, always UTC-aware."""

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.core.dates import parse_date, search_date


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Morocco (Africa/Casablanca) is UTC+1, except during Ramadan (UTC+0):
# 2024-03-10..2024-04-14, 2025-02-23..2025-04-06 in the tz database.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO 8601 with offsets and Z
        ("2025-11-04T09:00:00+01:00", utc(2025, 11, 4, 8, 0)),
        ("2025-11-04T08:00:00Z", utc(2025, 11, 4, 8, 0)),
        ("2025-11-04T08:00:00+00:00", utc(2025, 11, 4, 8, 0)),
        ("2025-11-04T09:00:00.000+0100", utc(2025, 11, 4, 8, 0)),
        ("2024-09-12T12:40:00-04:00", utc(2024, 9, 12, 16, 40)),
        # ISO naive -> Morocco time
        ("2025-11-04T09:00:00", utc(2025, 11, 4, 8, 0)),
        ("2025-11-04 09:00", utc(2025, 11, 4, 8, 0)),
        ("2025-11-04", utc(2025, 11, 3, 23, 0)),
        ("2025-03-18T17:45:00", utc(2025, 3, 18, 17, 45)),  # Ramadan: UTC+0
        # RFC 822 (feeds)
        ("Tue, 04 Nov 2025 08:00:00 +0000", utc(2025, 11, 4, 8, 0)),
        ("Tue, 04 Nov 2025 09:00:00 +0100", utc(2025, 11, 4, 8, 0)),
        ("Tue, 04 Nov 2025 08:00:00 GMT", utc(2025, 11, 4, 8, 0)),
        ("Tue, 4 Nov 2025 08:00:00 -0000", utc(2025, 11, 4, 8, 0)),
        ("Tue, 04 Nov 2025 09:00:00", utc(2025, 11, 4, 8, 0)),  # no zone: Morocco
        ("04 Nov 2025 09:00:00 +0100", utc(2025, 11, 4, 8, 0)),
    ],
)
def test_machine_formats(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mardi 4 novembre 2025", utc(2025, 11, 3, 23, 0)),
        ("4 novembre 2025", utc(2025, 11, 3, 23, 0)),
        ("le 4 nov. 2025 à 10h30", utc(2025, 11, 4, 9, 30)),
        ("4 nov 2025 10:30", utc(2025, 11, 4, 9, 30)),
        ("Publié le 18/03/2025 à 10:45", utc(2025, 3, 18, 10, 45)),  # Ramadan: UTC+0
        ("18/03/2025", utc(2025, 3, 18, 0, 0)),
        ("18.03.2025", utc(2025, 3, 18, 0, 0)),
        ("Mis à jour le 18 mars 2025 à 10h45", utc(2025, 3, 18, 10, 45)),
        ("1er janvier 2025", utc(2024, 12, 31, 23, 0)),
        ("lundi, 3 novembre 2025 - 18:02", utc(2025, 11, 3, 17, 2)),
        ("Jeudi 20 Mars 2025", utc(2025, 3, 20, 0, 0)),
        ("15 août 2025", utc(2025, 8, 14, 23, 0)),
        ("15 aout 2025", utc(2025, 8, 14, 23, 0)),
        ("3 décembre 2025 à 9h05", utc(2025, 12, 3, 8, 5)),
        ("18 mars 2025 10:45 GMT+1", utc(2025, 3, 18, 9, 45)),
    ],
)
def test_french_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("abbr", "month"),
    [
        ("janv.", 1),
        ("févr.", 2),
        ("fevr.", 2),
        ("mars", 3),
        ("avr.", 4),
        ("mai", 5),
        ("juin", 6),
        ("juil.", 7),
        ("août", 8),
        ("sept.", 9),
        ("oct.", 10),
        ("nov.", 11),
        ("déc.", 12),
    ],
)
def test_french_month_abbreviations(abbr, month):
    dt = parse_date(f"12 {abbr} 2025 à 14h00")
    assert dt is not None
    assert (dt.year, dt.month, dt.day) == (2025, month, 12)


MOROCCAN_MONTHS = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "ماي",
    "يونيو",
    "يوليوز",
    "غشت",
    "شتنبر",
    "أكتوبر",
    "نونبر",
    "دجنبر",
]


@pytest.mark.parametrize(("month", "name"), list(enumerate(MOROCCAN_MONTHS, start=1)))
def test_all_moroccan_month_names(month, name):
    dt = parse_date(f"15 {name} 2024 - 12:00")
    assert dt is not None
    assert (dt.year, dt.month, dt.day) == (2024, month, 15)
    # Morocco is UTC+1 outside Ramadan; 15 March 2024 fell in Ramadan (UTC+0)
    assert dt.hour == (12 if month == 3 else 11)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("الأربعاء 20 نونبر 2024 - 13:00", utc(2024, 11, 20, 12, 0)),
        ("الأربعاء 20 نوفمبر 2024 - 13:00", utc(2024, 11, 20, 12, 0)),
        ("نشر في 20 نونبر 2024", utc(2024, 11, 19, 23, 0)),
        ("20 دجنبر 2024", utc(2024, 12, 19, 23, 0)),
        ("10 يوليوز 2025 الساعة 17:20", utc(2025, 7, 10, 16, 20)),
        # Eastern Arabic digits
        ("الأربعاء ٢٠ نونبر ٢٠٢٤ - ١٣:٠٠", utc(2024, 11, 20, 12, 0)),
        ("٢٠ شتنبر ٢٠٢٥", utc(2025, 9, 19, 23, 0)),
        ("٢٠٢٥-٠٩-٢٠", utc(2025, 9, 19, 23, 0)),
        # Persian digits and Algerian / Levantine month names
        ("۵ جانفي ۲۰۲۵", utc(2025, 1, 4, 23, 0)),
        ("5 تشرين الثاني 2025", utc(2025, 11, 4, 23, 0)),
        ("5 أيار 2025", utc(2025, 5, 4, 23, 0)),
    ],
)
def test_arabic_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("September 12, 2024", utc(2024, 9, 11, 23, 0)),
        ("Sep 12, 2024 4:40 pm", utc(2024, 9, 12, 15, 40)),
        ("Posted on September 12, 2024 at 16:40", utc(2024, 9, 12, 15, 40)),
        ("12 September 2024", utc(2024, 9, 11, 23, 0)),
    ],
)
def test_english_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "hello world 42",
        "4 novembre",  # no year: not completed from today
        "novembre 2025",  # no day
        "2025",
        "il y a 2 heures",  # relative: depends on when the page was read
        "hier",
        "منذ ساعتين",
        "31/02/2025",
        "9999-12-31",
        "0001-01-01T00:00:00+01:00",
        "12345678901",
        "\x00\xff\ufffd",
    ],
)
def test_garbage_gives_none(text):
    assert parse_date(text) is None


def test_non_string_gives_none():
    assert parse_date(None) is None  # type: ignore[arg-type]
    assert parse_date(20251104) is None  # type: ignore[arg-type]


def test_results_are_utc_aware():
    for text in (
        "2025-11-04",
        "mardi 4 novembre 2025",
        "20 نونبر 2024",
        "Tue, 04 Nov 2025 08:00:00 +0000",
    ):
        dt = parse_date(text)
        assert dt is not None
        assert dt.tzinfo is not None
        assert dt.utcoffset().total_seconds() == 0


def test_languages_argument():
    assert parse_date("4 novembre 2025", languages=["fr"]) == utc(2025, 11, 3, 23, 0)
    assert parse_date("20 نونبر 2024", languages=["ar"]) == utc(2024, 11, 19, 23, 0)
    assert parse_date("20 نونبر 2024", languages=["ar-MA"]) == utc(2024, 11, 19, 23, 0)


def test_search_date_finds_first_date_in_text():
    text = "Accueil Économie Par MAP Publié le 18/03/2025 à 17:45 Mis à jour le 18/03/2025 à 19:02"
    assert search_date(text) == utc(2025, 3, 18, 17, 45)
    assert search_date("عبد الرحيم العلوي | الأربعاء 20 نونبر 2024 - 13:00 | 3 تعليقات") == utc(
        2024, 11, 20, 12, 0
    )
    assert search_date("no date here, only 21.9 C and 1,8 milliard") is None
    assert search_date("") is None


def test_long_input_is_searched_not_parsed_whole():
    text = "x " * 1000 + "le 4 novembre 2025"
    assert parse_date(text) is None or parse_date(text) == utc(2025, 11, 3, 23, 0)
    assert parse_date("Publié par la rédaction " * 3 + "le 4 novembre 2025") == utc(
        2025, 11, 3, 23, 0
    )


@given(st.text(max_size=120))
@settings(max_examples=200, deadline=None)
def test_property_never_raises(text):
    dt = parse_date(text)
    assert dt is None or (dt.tzinfo is not None and dt.utcoffset().total_seconds() == 0)
