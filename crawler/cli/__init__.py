"""The `veille` command: one module per command family (`crawl`, `query`, `agreements`,
`alerts`, `feedback`, `service`, `reading`, `pages`, `web`), the options they share in
`_common`, the parser and entry point in `app`."""

from crawler.cli._common import (
    EXIT_INTERRUPTED,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_SOME_FAILED,
    ShowAndExit,
    UsageError,
    parse_when,
)
from crawler.cli.agreements import cmd_agreements, cmd_organisations
from crawler.cli.app import build_parser, main, prepare, report_failure
from crawler.cli.crawl import cmd_crawl
from crawler.cli.pages import cmd_db, cmd_db_describe, cmd_extract, cmd_reclassify
from crawler.cli.query import cmd_query
from crawler.cli.reading import (
    cmd_errors,
    cmd_sectors,
    cmd_show,
    cmd_sources,
    cmd_stats,
    cmd_status,
)
from crawler.cli.service import cmd_serve
from crawler.cli.web import cmd_web

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NOTHING",
    "EXIT_OK",
    "EXIT_PIPE",
    "EXIT_SOME_FAILED",
    "ShowAndExit",
    "UsageError",
    "build_parser",
    "cmd_agreements",
    "cmd_crawl",
    "cmd_db",
    "cmd_db_describe",
    "cmd_errors",
    "cmd_extract",
    "cmd_organisations",
    "cmd_query",
    "cmd_reclassify",
    "cmd_sectors",
    "cmd_serve",
    "cmd_show",
    "cmd_sources",
    "cmd_stats",
    "cmd_status",
    "cmd_web",
    "main",
    "parse_when",
    "prepare",
    "report_failure",
]
