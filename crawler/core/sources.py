"""The sources file: outlets, their feeds and sitemaps, and how often to poll them."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from crawler.core import common
from crawler.core.urls import url_problem

BUNDLED_SOURCES = Path(__file__).resolve().parent / "sources.toml"  # package data
NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")  # 100: the sources.name column
LANGUAGES = common.LANGUAGES
DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
KEYS = {"name", "language", "feeds", "sitemaps", "interval", "enabled", "schedule"}
DEFAULT_INTERVAL = 30 * 60
MIN_INTERVAL = 60


class SourcesError(ValueError):
    """A sources file that cannot be used, with the entry at fault named."""


@dataclass(frozen=True)
class Source:
    """One outlet of the sources file."""

    name: str
    language: str | None
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    interval: int = DEFAULT_INTERVAL
    enabled: bool = True
    schedule: str | None = None


def default_path() -> Path:
    """`VEILLE_SOURCES`, else the bundled sources.toml."""
    return Path(os.environ.get("VEILLE_SOURCES") or BUNDLED_SOURCES)


def parse_duration(value: object, where: str) -> int:
    """Seconds in '90s', '30m', '6h', '1d' (or a bare number of seconds)."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (m := DURATION.match(value)):
        seconds = int(m.group(1)) * UNITS[m.group(2)]
    else:
        raise SourcesError(f"{where}: interval {value!r} is not a duration like '30m' or '6h'")
    if seconds < MIN_INTERVAL:
        raise SourcesError(f"{where}: interval {value!r} is shorter than one minute")
    return seconds


def _check_url(url: object, where: str) -> str:
    if not isinstance(url, str):
        raise SourcesError(f"{where}: {url!r} is not a URL string")
    problem = url_problem(url)
    if problem is not None:
        raise SourcesError(f"{where}: {url!r} is not an http(s) URL ({problem})")
    return url.strip()


def _url_list(entry: dict, key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if isinstance(value, str) or not isinstance(value, list):
        raise SourcesError(f"{where}: '{key}' must be a list of URLs")
    return tuple(_check_url(u, f"{where}, {key}") for u in value)


def _check_schedule(value: object, where: str) -> str | None:
    if value is None:
        return None
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(str(value))
    except ValueError as exc:
        raise SourcesError(f"{where}: schedule {value!r} is not a cron expression: {exc}") from exc
    return str(value)


def parse_source(entry: object, index: int, defaults: dict) -> Source:
    """Validate one [[source]] table."""
    where = f"source #{index}"
    if not isinstance(entry, dict):
        raise SourcesError(f"{where}: expected a table")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise SourcesError(
            f"{where}: name {name!r} must be 1 to 100 letters, digits, '.', '-' or '_'"
        )
    where = f"source '{name}'"
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise SourcesError(f"{where}: unknown key(s) {', '.join(unknown)}")
    language = entry.get("language")
    if language is not None and language not in LANGUAGES:
        raise SourcesError(f"{where}: language {language!r} is not one of fr, ar, en")
    feeds = _url_list(entry, "feeds", where)
    sitemaps = _url_list(entry, "sitemaps", where)
    if not feeds and not sitemaps:
        raise SourcesError(f"{where}: needs at least one feed or sitemap")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise SourcesError(f"{where}: enabled must be true or false")
    interval = parse_duration(entry.get("interval", defaults["interval"]), where)
    schedule = _check_schedule(entry.get("schedule", defaults["schedule"]), where)
    return Source(name, language, feeds, sitemaps, interval, enabled, schedule)


def parse_sources(text: str, origin: str = "sources file") -> list[Source]:
    """All sources of a TOML document, validated; the first problem raises SourcesError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourcesError(f"{origin}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"source", "interval", "schedule"})
    if unknown:
        raise SourcesError(f"{origin}: unknown top-level key(s) {', '.join(unknown)}")
    defaults = {
        "interval": data.get("interval", DEFAULT_INTERVAL),
        "schedule": _check_schedule(data.get("schedule"), f"{origin}, top level"),
    }
    entries = data.get("source", [])
    if not isinstance(entries, list):
        raise SourcesError(f"{origin}: 'source' must be an array of tables ([[source]])")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    listed_by: dict[str, str] = {}  # feed or sitemap URL -> the source that lists it
    for index, entry in enumerate(entries, 1):
        source = parse_source(entry, index, defaults)
        if source.name in seen:
            raise SourcesError(
                f"source '{source.name}': duplicate name (entries #{seen[source.name]} and #{index})"
            )
        seen[source.name] = index
        for url in (*source.feeds, *source.sitemaps):
            owner = listed_by.setdefault(url, source.name)
            if owner != source.name:  # one feed row has one source: the other would never run
                raise SourcesError(
                    f"source '{source.name}': {url} is already a feed of source '{owner}'"
                )
        sources.append(source)
    return sources


def load_sources(path: Path | str | None = None) -> list[Source]:
    """Read and validate a sources file (default: see default_path)."""
    path = Path(path) if path else default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourcesError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SourcesError(f"{path}: not UTF-8: {exc}") from exc
    return parse_sources(text, str(path))


def select(sources: list[Source], names: list[str] | None) -> list[Source]:
    """The enabled sources, or exactly the named ones (enabled or not)."""
    if not names:
        return [s for s in sources if s.enabled]
    by_name = {s.name: s for s in sources}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SourcesError(f"unknown source(s): {', '.join(missing)}")
    return [by_name[n] for n in names]
