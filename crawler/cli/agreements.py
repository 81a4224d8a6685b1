"""`veille agreements` and `veille organisations`: agreements merged across outlets."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from crawler.cli._common import (
    UsageError,
    add_format,
    add_sources,
    known_sources,
    number_in,
    parse_when,
    positive_int,
    read_database,
    resolve_sectors,
    when,
)
from crawler.cli.output import write_rows
from crawler.core.common import LANGUAGES


def _rates_note() -> str:
    from crawler.core.agreements import RATES_FILE, rates

    shown = ", ".join(f"1 {c} = {r:g} MAD" for c, r in rates().items() if c != "MAD")
    return f"{shown} ({RATES_FILE.name})"


AGREEMENT_COLUMNS = ("id", "first_seen", "types", "mad", "outlets", "who")


AGREEMENT_KEYS = ("id", "first_seen")


def _agreement_table_row(row: dict[str, Any]) -> dict[str, Any]:
    """An agreement row with the table's derived columns: names, value in MAD, outlets."""
    from crawler.core.agreements import largest_in_mad

    return {
        **row,
        "first_seen": (row["first_seen"] or "")[:10],
        "who": [o["name"] for o in row["organisations"]] or row["parties"],
        "mad": largest_in_mad(row["amounts"]),
        "outlets": list(dict.fromkeys(a["source"] for a in row["articles"])),
    }


def cmd_agreements(args: argparse.Namespace) -> int:
    from crawler.db.agreement_queries import AgreementFilters, find_agreements

    engine = read_database(args)
    filters = AgreementFilters(
        since=parse_when(args.since) if args.since else None,
        until=parse_when(args.until, end_of_day=True) if args.until else None,
        parties=args.party,
        sectors=resolve_sectors(args.sector),
        types=args.type,
        min_amount=args.min_amount,
        min_score=args.min_score,
        languages=args.lang,
        sources=known_sources(engine, args),
        search=args.search,
    )
    limit = args.limit if args.limit is not None else (20 if args.format == "table" else None)
    rows = find_agreements(engine, filters, limit)
    if args.format == "table":
        write_rows(
            [_agreement_table_row(r) for r in rows], "table", AGREEMENT_COLUMNS, keys=AGREEMENT_KEYS
        )
        if args.min_amount is not None:
            print(f"amounts compared in MAD: {_rates_note()}", file=sys.stderr)
    else:
        write_rows(rows, args.format, ())
    return 0


def cmd_organisations(args: argparse.Namespace) -> int:
    from crawler.db.agreement_queries import list_organisations, organisation_detail

    engine = read_database(args)
    if args.name is None:
        limit = args.limit if args.limit is not None else (20 if args.format == "table" else None)
        rows = list_organisations(engine, args.search, limit)
        columns = ("id", "agreements", "kind", "curated", "name")
        write_rows(rows, args.format, columns, keys=("id",))
        return 0
    org = organisation_detail(engine, args.name)
    if org is None:
        raise UsageError(f"no organisation goes by {args.name!r} (try --search)")
    if args.format != "table":
        write_rows([org], args.format if args.format != "csv" else "json", ())
        return 0
    print(f"{org['name']}  ({org['kind']}{', curated' if org['curated'] else ''}, id {org['id']})")
    print("aliases: " + "; ".join(f"{a['alias']} [{a['language'] or '-'}]" for a in org["aliases"]))
    print(f"\n{len(org['agreements'])} agreement(s), oldest first:")
    rows = [_agreement_table_row(r) for r in org["agreements"]]
    write_rows(rows, "table", AGREEMENT_COLUMNS, keys=AGREEMENT_KEYS)
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    agreements = sub.add_parser(
        "agreements", parents=[common], help="the agreements, merged across outlets"
    )
    add_sources(agreements, "--source names are checked against it")
    agreements.add_argument(
        "--since", type=when, metavar="D", help="first seen from (2025-11-03, an ISO time, 7d)"
    )
    agreements.add_argument(
        "--until", type=when, metavar="D", help="same forms; a bare date includes that day"
    )
    agreements.add_argument(
        "--party",
        action="append",
        default=[],
        metavar="NAME",
        help="a signatory, by any of its names in any language (ONCF, وزارة الصناعة...)",
    )
    agreements.add_argument(
        "--sector", action="append", default=[], metavar="S", help="`veille sectors` lists them"
    )
    agreements.add_argument(
        "--type", action="append", default=[], metavar="T", help="convention, contrat-programme..."
    )
    agreements.add_argument(
        "--min-amount",
        type=number_in(0, 1e15),
        metavar="MAD",
        help=f"largest amount at least this many dirhams; {_rates_note()}",
    )
    agreements.add_argument("--min-score", type=number_in(0, 1), metavar="X", help="0..1")
    agreements.add_argument(
        "--lang",
        action="append",
        default=[],
        choices=LANGUAGES,
        help="this language only (repeatable)",
    )
    agreements.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="this source only (repeatable)",
    )
    agreements.add_argument(
        "--search", metavar="TEXT", help="full-text search in the articles that report it"
    )
    agreements.add_argument("--limit", type=positive_int(), metavar="N", help="at most N rows")
    add_format(agreements)
    agreements.set_defaults(func=cmd_agreements)

    organisations = sub.add_parser(
        "organisations", parents=[common], help="signatories and their agreements"
    )
    organisations.add_argument(
        "name", nargs="?", metavar="NAME", help="show one organisation: aliases, agreements"
    )
    organisations.add_argument("--search", metavar="NAME", help="names containing this")
    organisations.add_argument("--limit", type=positive_int(), metavar="N", help="at most N rows")
    add_format(organisations)
    organisations.set_defaults(func=cmd_organisations)
