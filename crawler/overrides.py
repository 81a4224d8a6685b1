"""`--set NAME=VALUE`: Scrapy setting overrides, checked against the type of their default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class OverrideError(ValueError):
    """A `--set` value that the setting it names cannot take."""


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    """NAME=VALUE pairs as a dict; raises OverrideError on a pair without '=' or name."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise OverrideError(f"--set {pair!r}: expected NAME=VALUE")
        out[key.strip()] = value
    return out


def _getter(settings: Any, default: Any) -> Callable[[str], Any] | None:
    if isinstance(default, bool):
        return settings.getbool
    if isinstance(default, int):
        return settings.getint
    if isinstance(default, float):
        return settings.getfloat
    if isinstance(default, dict):
        return settings.getdict
    return None


def checked_overrides(pairs: list[str]) -> dict[str, str]:
    """The overrides, each value read the way Scrapy will read it (so `DOWNLOAD_DELAY=abc`
    is refused here, in one line, rather than in a Twisted traceback mid-crawl)."""
    from crawler.scrapy_setup import scrapy_settings  # Scrapy only for commands that crawl

    overrides = parse_pairs(pairs)
    defaults = scrapy_settings({})
    settings = scrapy_settings(overrides)
    for key, value in overrides.items():
        getter = _getter(settings, defaults.get(key))
        if getter is None:
            continue
        try:
            number = getter(key)
        except (ValueError, TypeError) as exc:
            raise OverrideError(f"--set {key}={value!r}: {type(exc).__name__}: {exc}") from exc
        if isinstance(number, int | float) and not isinstance(number, bool) and number < 0:
            raise OverrideError(f"--set {key}={value!r}: must not be negative")
    return overrides
