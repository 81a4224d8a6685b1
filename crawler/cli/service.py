"""`veille serve`: the scheduled service (scheduler.py), until SIGTERM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crawler.cli._common import (
    add_set,
    add_sources,
    positive_float,
    positive_int,
)
from crawler.core.sources import default_path, load_sources


def cmd_serve(args: argparse.Namespace) -> int:
    from crawler.service_log import setup_logging
    from scheduler import ServiceError, ServiceOptions, serve
    from storage.db import default_url

    sources_path = str(Path(args.sources or default_path()).resolve())
    load_sources(sources_path)
    setup_logging(args.log_file, args.verbose)
    options = ServiceOptions(
        db_url=args.db or default_url(),
        sources_path=sources_path,
        settings=args.set,
        workers=args.workers,
        crawl_timeout=args.crawl_timeout,
        grace=args.grace,
        kill_grace=args.kill_grace,
        interval_scale=args.interval_scale,
        run_now=args.run_now,
    )
    try:
        return serve(options)
    except ServiceError as exc:
        print(f"veille: {exc}", file=sys.stderr)
        return 1


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    serve = sub.add_parser("serve", parents=[common], help="the scheduled service, until SIGTERM")
    add_sources(serve, "the outlets polled")
    add_set(serve, "a Scrapy setting passed to every crawl (e.g. DOWNLOAD_DELAY=2)")
    serve.add_argument("--log-file", metavar="FILE", help="also log to this file")
    serve.add_argument(
        "--workers",
        type=positive_int(64),
        default=2,
        metavar="N",
        help="crawls at once (default 2)",
    )
    for flag, default, what in (
        ("--crawl-timeout", 1800, "time limit of one crawl, seconds"),
        ("--grace", 60, "on SIGTERM, how long running crawls may finish before being stopped"),
        ("--kill-grace", 30, "how long a stopped crawl may take before SIGKILL"),
    ):
        serve.add_argument(
            flag, type=positive_float, default=default, metavar="S", help=f"{what} ({default})"
        )
    serve.add_argument("--run-now", action="store_true", help="poll every source once at start")
    serve.add_argument(  # for tests and benchmarks: every interval times this factor
        "--interval-scale", type=positive_float, default=1.0, help=argparse.SUPPRESS
    )
    serve.set_defaults(func=cmd_serve)
