"""veille's Scrapy settings with a command line's overrides, and Scrapy's own failure logs
quieted: what every crawl in this process (a listing crawl, one page) starts from."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.settings import Settings, default_settings


def quiet_scrapy_failures() -> None:
    """Leave failed downloads to veille's own one-line messages, without Scrapy's tracebacks."""
    for name in ("scrapy.downloadermiddlewares.robotstxt", "scrapy.downloadermiddlewares.retry"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def scrapy_settings(overrides: dict[str, Any]) -> Settings:
    """veille's Scrapy settings (crawler/settings.py) with the command line's overrides."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    # Scrapy 2.19's remote control (a code-execution server on loopback, its token under
    # ~/.local/state/scrapy) is left out of Scrapy's own list: named None in EXTENSIONS it
    # would still be imported, and aiohttp with it (Scrapy loads every class named there)
    settings.set(
        "EXTENSIONS_BASE",
        {
            name: order
            for name, order in default_settings.EXTENSIONS_BASE.items()
            if name != "scrapy.extensions.remote_control.RemoteControl"
        },
        priority="project",
    )
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    return settings
