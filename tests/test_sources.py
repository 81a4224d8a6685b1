"""The sources file: the bundled list is valid, and every mistake names its entry."""

from pathlib import Path

import pytest

from crawler.core.sources import (
    BUNDLED_SOURCES,
    SourcesError,
    load_sources,
    parse_duration,
    parse_sources,
    select,
)

GOOD = """
interval = "45m"

[[source]]
name = "lematin"
language = "fr"
feeds = ["https://lematin.ma/rssFeed/4"]
sitemaps = []
interval = "30m"
enabled = true

[[source]]
name = "hespress-ar"
language = "ar"
sitemaps = ["https://www.hespress.com/sitemap-news.xml"]
schedule = "0 7 * * *"

[[source]]
name = "old.one"
feeds = ["http://example.ma/feed"]
enabled = false
"""


def test_bundled_list_is_valid_and_broad() -> None:
    sources = load_sources(BUNDLED_SOURCES)
    assert len(sources) >= 20
    assert {s.language for s in sources} == {"fr", "ar", "en"}
    assert all(s.feeds or s.sitemaps for s in sources)
    assert len({s.name for s in sources}) == len(sources)


def test_good_file_parses_with_defaults() -> None:
    lematin, hespress, old = parse_sources(GOOD)
    assert lematin.interval == 30 * 60
    assert lematin.feeds == ("https://lematin.ma/rssFeed/4",)
    assert hespress.interval == 45 * 60  # the file's default
    assert hespress.schedule == "0 7 * * *"
    assert hespress.feeds == ()
    assert old.language is None and not old.enabled


def test_select_enabled_or_named() -> None:
    sources = parse_sources(GOOD)
    assert [s.name for s in select(sources, [])] == ["lematin", "hespress-ar"]
    assert [s.name for s in select(sources, ["old.one"])] == ["old.one"]
    with pytest.raises(SourcesError, match=r"unknown source.*nope"):
        select(sources, ["nope"])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            'name = "x"\nfeeds = ["https://a.ma/feed"]\ncolour = "red"',
            r"source 'x': unknown key\(s\) colour",
        ),
        (
            'name = "x"\nfeeds = ["ftp://a.ma/feed"]',
            r"source 'x', feeds: 'ftp://a.ma/feed' is not an http",
        ),
        ('name = "x"\nfeeds = ["not a url"]', r"source 'x', feeds: 'not a url'"),
        ('name = "x"\nfeeds = "https://a.ma/feed"', r"source 'x': 'feeds' must be a list"),
        ('name = "x y"\nfeeds = ["https://a.ma/feed"]', r"source #1: name 'x y'"),
        (
            'name = "x"\nlanguage = "de"\nfeeds = ["https://a.ma/feed"]',
            r"source 'x': language 'de'",
        ),
        ('name = "x"', r"source 'x': needs at least one feed or sitemap"),
        (
            'name = "x"\nfeeds = ["https://a.ma/f"]\ninterval = "30s"',
            r"source 'x': interval '30s' is shorter",
        ),
        (
            'name = "x"\nfeeds = ["https://a.ma/f"]\ninterval = "often"',
            r"source 'x': interval 'often'",
        ),
        ('name = "x"\nfeeds = ["https://a.ma/f"]\nschedule = "every day"', r"source 'x': schedule"),
        ('name = "x"\nfeeds = ["https://a.ma/f"]\nenabled = "yes"', r"source 'x': enabled"),
    ],
)
def test_bad_entries_are_named(entry: str, message: str) -> None:
    with pytest.raises(SourcesError, match=message):
        parse_sources(f"[[source]]\n{entry}\n")


def test_duplicate_name_is_reported_with_both_entries() -> None:
    text = '[[source]]\nname = "a"\nfeeds = ["https://a.ma/f"]\n' * 2
    with pytest.raises(SourcesError, match=r"source 'a': duplicate name \(entries #1 and #2\)"):
        parse_sources(text)


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="not valid TOML"):
        parse_sources("[[source]\nname=")
    with pytest.raises(SourcesError, match="cannot read"):
        load_sources(tmp_path / "missing.toml")


def test_durations() -> None:
    assert parse_duration("90s", "x") == 90
    assert parse_duration("2h", "x") == 7200
    assert parse_duration("1d", "x") == 86400
    assert parse_duration(600, "x") == 600
