"""`veille web`: the web view of the database, served by waitress."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Any

from crawler.cli._common import UsageError, add_sources, positive_int

PASSWORD_VARIABLE = "VEILLE_WEB_PASSWORD"


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_web(args: argparse.Namespace) -> int:
    password = os.environ.get(PASSWORD_VARIABLE) or None
    if not is_loopback(args.host) and password is None:
        raise UsageError(
            f"--host {args.host} is reachable from other machines: set {PASSWORD_VARIABLE} "
            "so that feedback needs a password"
        )
    from waitress import serve

    from storage.db import default_url
    from web.app import create_app

    app = create_app(args.db or default_url(), password=password, sources=args.sources)
    print(f"veille web: http://{args.host}:{args.port}/ (Ctrl-C stops it)", file=sys.stderr)
    serve(app, host=args.host, port=args.port, threads=4, ident="veille")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    web = sub.add_parser("web", parents=[common], help="the web view: agreements, facets, feedback")
    add_sources(web, "the outlets of the sources page")
    web.add_argument(
        "--host",
        default="127.0.0.1",
        help=f"address to listen on (127.0.0.1); another than loopback needs ${PASSWORD_VARIABLE}",
    )
    web.add_argument(
        "--port", type=positive_int(65535), default=8080, help="port to listen on (8080)"
    )
    web.set_defaults(func=cmd_web)
