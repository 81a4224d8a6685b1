"""veille's Scrapy settings with a command line's overrides, and Scrapy's own failure logs
quieted: what every crawl in this process (a listing crawl, one page) starts from."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.settings import Settings


def quiet_scrapy_failures() -> None:
    """Leave failed downloads to veille's own one-line messages, without Scrapy's tracebacks."""
    for name in ("scrapy.downloadermiddlewares.robotstxt", "scrapy.downloadermiddlewares.retry"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def scrapy_settings(overrides: dict[str, Any]) -> Settings:
    """veille's Scrapy settings (crawler/settings.py) with the command line's overrides."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    return settings
