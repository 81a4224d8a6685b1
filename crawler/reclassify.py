"""Re-run detection over stored articles after the rules change, in batches; their agreement
records are written again (merged across outlets as a crawl would). Articles an analyst
marked are left as the analyst decided."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import Engine, bindparam, func, or_, select, update

from crawler.core.detection import RULES_VERSION, detect
from crawler.db.agreements import forget_records, reported_row, store_records
from storage.db import writing
from storage.models import ANALYST, Article

FIELDS = ("is_agreement", "score", "agreement_types", "sectors", "parties", "amounts", "evidence")


@dataclass
class ReclassifyReport:
    """How many articles were looked at, and how many verdicts changed."""

    examined: int = 0
    flipped: int = 0  # is_agreement changed
    changed: int = 0  # any field of the verdict changed
    kept: int = 0  # marked by an analyst: left as the analyst decided


def progress_bar(out: TextIO = sys.stderr, width: int = 30) -> Callable[[int, int], None]:
    """A one-line progress bar, redrawn in place."""

    def draw(done: int, total: int) -> None:
        filled = width * done // total if total else width
        out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            out.write("\n")
        out.flush()

    return draw


def reclassify(
    engine: Engine,
    *,
    everything: bool = False,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> ReclassifyReport:
    """Re-detect articles classified by other rules (or all of them), one transaction a batch;
    an article an analyst marked keeps the analyst's verdict and records (crawler.db.feedback)."""
    stale = or_(Article.rules_version.is_(None), Article.rules_version != RULES_VERSION)
    by_rules = Article.verdict_by != ANALYST
    where = [by_rules] if everything else [by_rules, stale]
    columns = [Article.id, Article.title, Article.lead, Article.text, Article.language]
    columns += [Article.published_at, Article.fetched_at]
    columns += [getattr(Article, f) for f in FIELDS]
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(Article).where(*where)) or 0
        kept = select(func.count()).select_from(Article).where(*where[1:], ~by_rules)
        report = ReclassifyReport(kept=conn.scalar(kept) or 0)
    last_id = 0
    table = Article.__table__
    while True:
        with writing(engine) as conn:
            rows = conn.execute(
                select(*columns)
                .where(Article.id > last_id, *where)
                .order_by(Article.id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            updates = []
            reports = []
            for row in rows:
                verdict = detect(row.title or "", row.lead or "", row.text, row.language).as_dict()
                old = {f: getattr(row, f) for f in FIELDS}
                new = {f: verdict[f] for f in FIELDS}
                report.flipped += bool(old["is_agreement"]) != bool(new["is_agreement"])
                report.changed += old != new
                updates.append({"b_id": row.id, "rules_version": RULES_VERSION, **new})
                records = verdict["agreements"] if verdict["is_agreement"] else []
                reports.append(reported_row(row, verdict["score"], records))
            conn.execute(update(table).where(table.c.id == bindparam("b_id")), updates)
            forget_records(conn, [row.id for row in rows])
            store_records(conn, reports)
        report.examined += len(rows)
        last_id = rows[-1].id
        if progress:
            progress(report.examined, total)
    if progress and report.examined < total:
        progress(total, total)
    return report
