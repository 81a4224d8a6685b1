"""`veille alerts add | list | show | remove | test | run | atom`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from alerts.schedule import DEFAULT_TZ, ScheduleError
from crawler.cli._common import UsageError, add_format, read_database, resolve_sectors
from crawler.cli.agreements import AGREEMENT_COLUMNS, AGREEMENT_KEYS, _agreement_table_row
from crawler.cli.output import write_rows

# the options of `veille agreements` an alert keeps, as AgreementFilters fields
FILTERS = {
    "party": "parties",
    "sector": "sectors",
    "type": "types",
    "min_amount": "min_amount",
    "min_score": "min_score",
    "lang": "languages",
    "source": "sources",
    "search": "search",
}


def _usage(exc: Exception) -> Exception:
    return UsageError(str(exc))


def stored_filters(args: argparse.Namespace) -> dict[str, Any]:
    """The filters given on the command line, checked, as the alert stores them."""
    out: dict[str, Any] = {}
    for option, name in FILTERS.items():
        value = getattr(args, option, None)
        if option == "sector":
            value = resolve_sectors(value or [])
        if option == "search" and value is not None:
            from storage.search import parse_search

            parse_search(value)
        if value not in (None, []):
            out[name] = value
    return out


def cmd_add(args: argparse.Namespace) -> int:
    from alerts.core import AlertError, NewAlert, add_alert
    from storage.db import open_database

    channels = [("webhook", u) for u in args.webhook]
    channels += [("email", a) for a in args.email] + [("notify", u) for u in args.notify]
    new = NewAlert(
        name=args.name,
        filters=stored_filters(args),
        schedule=args.schedule,
        tz=args.tz,
        channels=channels,
        secret=args.secret,
        backfill=args.backfill,
        source_health=args.source_health,
    )
    try:
        alert = add_alert(open_database(args.db), new)
    except (AlertError, ScheduleError) as exc:
        raise _usage(exc) from None
    what = "source health" if alert.source_health else (alert.filters or "every agreement")
    print(
        f"alert {alert.name!r} added: {what}; {alert.schedule} ({alert.tz}); "
        f"{len(channels)} channel(s)" + ("; stored agreements included" if args.backfill else "")
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from alerts.core import list_alerts

    rows = list_alerts(read_database(args))
    if args.format != "table":
        write_rows(rows, args.format, ())
        return 0
    table = [
        {
            **r,
            "channels": [f"{c['kind']}:{c['target']}" for c in r["channels"]],
            "error": next((c["error"] for c in r["channels"] if c["error"]), ""),
        }
        for r in rows
    ]
    columns = ("name", "schedule", "channels", "pending", "delivered", "failed", "error")
    write_rows(table, "table", columns, keys=("name",))
    return 0


def _alert(engine: Any, name: str) -> Any:
    from alerts.core import AlertError, get_alert

    try:
        return get_alert(engine, name)
    except AlertError as exc:
        raise _usage(exc) from None


def cmd_show(args: argparse.Namespace) -> int:
    from alerts.core import pending_preview

    engine = read_database(args)
    preview = pending_preview(engine, _alert(engine, args.name))
    if args.format == "json":
        write_rows([preview], "json", ())
        return 0
    print(f"alert {args.name!r} would send {len(preview['agreements'])} agreement(s) now")
    rows = [_agreement_table_row(r) for r in preview["agreements"]]
    write_rows(rows, "table", AGREEMENT_COLUMNS, keys=AGREEMENT_KEYS)
    for s in preview["sources"]:
        print(f"{s['source']}: {s['problem']}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from alerts.core import AlertError, remove_alert
    from storage.db import open_database

    try:
        remove_alert(open_database(args.db), args.name)
    except AlertError as exc:
        raise _usage(exc) from None
    print(f"alert {args.name!r} removed")
    return 0


def _report(report: list[dict[str, Any]]) -> int:
    for r in report:
        outcome = f"error: {r['error']}" if r["error"] else "delivered"
        print(f"{r['alert']}: {r['channel']}: {r['items']} item(s) {outcome}")
    return 1 if any(r["error"] for r in report) else 0


def cmd_test(args: argparse.Namespace) -> int:
    """One sample through each channel, outside the outbox: the newest matching agreement."""
    from alerts.channels import send
    from alerts.core import Delivery, channels_of, filters_of
    from crawler.db.agreement_queries import find_agreements

    engine = read_database(args)
    alert = _alert(engine, args.name)
    sample = find_agreements(engine, filters_of(alert), 1)
    sources = [{"source": "(sample)", "problem": "a test of this alert"}]
    delivery = Delivery(
        alert.name, sample, sources if alert.source_health else [], datetime.now(UTC), alert.secret
    )
    report = []
    with engine.connect() as conn:
        channels = channels_of(conn, alert.id)
    for ch in channels:
        try:
            send(ch.kind, ch.target, delivery)
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        report.append(
            {"alert": alert.name, "channel": ch.kind, "items": len(sample), "error": error}
        )
    return _report(report)


def cmd_run(args: argparse.Namespace) -> int:
    from alerts.core import AlertError, run_alerts
    from storage.db import open_database

    try:
        report = run_alerts(open_database(args.db), args.name)
    except AlertError as exc:
        raise _usage(exc) from None
    if not report:
        print("nothing due")
    return _report(report)


def cmd_atom(args: argparse.Namespace) -> int:
    from alerts.atom import atom_feed

    engine = read_database(args)
    sys.stdout.write(atom_feed(engine, _alert(engine, args.name)))
    return 0


def _filter_options(parser: argparse.ArgumentParser, agreements: argparse.ArgumentParser) -> None:
    """The filter options of `veille agreements`, the very same argparse actions (their
    types check the values alike)."""
    for action in agreements._actions:
        if action.dest in FILTERS:
            parser._add_action(action)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register `veille alerts` and its actions (after `veille agreements`, whose filter
    options it takes)."""
    alerts = sub.add_parser("alerts", parents=[common], help="saved searches pushed to you")
    actions = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")

    add = actions.add_parser("add", parents=[common], help="save an alert")
    add.add_argument("name", metavar="NAME")
    _filter_options(add, sub.choices["agreements"])
    add.add_argument(
        "--schedule",
        default="instant",
        metavar="WHEN",
        help='instant (after each crawl), "daily HH:MM" or "weekly DAY HH:MM"',
    )
    add.add_argument("--tz", default=DEFAULT_TZ, help=f"time zone of the schedule ({DEFAULT_TZ})")
    add.add_argument(
        "--webhook", action="append", default=[], metavar="URL", help="POST the items as JSON"
    )
    add.add_argument(
        "--email", action="append", default=[], metavar="ADDRESS", help="a digest by e-mail"
    )
    add.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="APPRISE_URL",
        help="any Apprise channel (Slack, Telegram, ntfy, Matrix...)",
    )
    add.add_argument("--secret", help="sign webhook bodies: X-Veille-Signature: sha256=<HMAC>")
    add.add_argument(
        "--backfill", action="store_true", help="also send the agreements already stored"
    )
    add.add_argument(
        "--source-health",
        action="store_true",
        help="alert on sources silent for longer than usual or failing for a day",
    )
    add.set_defaults(func=cmd_add)

    listing = actions.add_parser("list", parents=[common], help="alerts and their deliveries")
    add_format(listing)
    listing.set_defaults(func=cmd_list)

    for action, func, text in (
        ("show", cmd_show, "what the alert would send now"),
        ("remove", cmd_remove, "forget an alert"),
        ("test", cmd_test, "send one sample through each channel"),
        ("atom", cmd_atom, "the alert as an Atom feed"),
    ):
        p = actions.add_parser(action, parents=[common], help=text)
        p.add_argument("name", metavar="NAME")
        if action == "show":
            add_format(p, ("table", "json"))
        p.set_defaults(func=func)

    run = actions.add_parser("run", parents=[common], help="deliver what is due now")
    run.add_argument("name", nargs="?", metavar="NAME")
    run.set_defaults(func=cmd_run)


def print_status(engine: Any) -> None:
    """`veille status`: one line when alert deliveries fail or are being retried."""
    from alerts.core import delivery_problems

    problems = delivery_problems(engine)
    if problems["failed"] or problems["retrying"]:
        print(
            f"\nalerts: {problems['failed']} delivery(ies) given up, {problems['retrying']} "
            "being retried (see `veille alerts list`)"
        )
