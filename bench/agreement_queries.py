"""`veille agreements` on a database of N synthetic agreements: time per page and the plan.

    python -m bench.agreement_queries sqlite:////tmp/plan.sqlite3 50000
    python -m bench.agreement_queries "postgresql://...?options=-csearch_path%3Dbench" 50000

Fills an empty database (each agreement: one article, three curated signatories, one every
30 minutes), then runs a page of 20 for a few filters and prints its time and query plan.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime, timedelta

from crawler.db.agreement_queries import AgreementFilters, agreements_statement, find_agreements
from crawler.db.agreements import sync_curated
from storage.db import open_database, writing
from storage.models import Agreement, AgreementParty, AgreementRecord, Article, Source

START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=30)


def fill(url: str, n: int) -> None:
    """N agreements, each reported by one article and signed by three curated organisations."""
    engine = open_database(url)
    rnd = random.Random(1)
    with writing(engine) as c:
        ids = list(sync_curated(c).values())
        src = c.execute(
            Source.__table__.insert().values(name="bench", language="fr").returning(Source.id)
        ).scalar_one()
        at = [START + STEP * i for i in range(n)]
        c.execute(
            Article.__table__.insert(),
            [
                {"id": i + 1, "url": f"u{i}", "source_id": src, "text": "x", "fetched_at": at[i]}
                | {"language": "fr", "content_hash": str(i)}
                for i in range(n)
            ],
        )
        c.execute(
            Agreement.__table__.insert(),
            [
                {"id": i + 1, "types": ["convention"], "parties": [], "sectors": ["automobile"]}
                | {"amounts": [], "count": 1, "first_seen": at[i], "score": 0.9, "evidence": ""}
                for i in range(n)
            ],
        )
        c.execute(
            AgreementRecord.__table__.insert(),
            [
                {"agreement_id": i + 1, "article_id": i + 1, "position": 0, "parties": []}
                | {"organisation_ids": [], "types": [], "sectors": [], "amounts": []}
                | {"count": 1, "evidence": ""}
                for i in range(n)
            ],
        )
        c.execute(
            AgreementParty.__table__.insert(),
            [
                {"agreement_id": i + 1, "organisation_id": o}
                for i in range(n)
                for o in rnd.sample(ids, 3)
            ],
        )
        if c.dialect.name == "postgresql":
            c.exec_driver_sql("ANALYZE")


def main(url: str, n: int) -> None:
    fill(url, n)
    engine = open_database(url)
    last = START + STEP * n
    cases = {
        "(no filter)": AgreementFilters(),
        "--since 7d": AgreementFilters(since=last - timedelta(days=7)),
        "--party ONCF": AgreementFilters(parties=["ONCF"]),
        "--party وزارة الصناعة والتجارة --since": AgreementFilters(
            parties=["وزارة الصناعة والتجارة"], since=START + timedelta(days=100)
        ),
    }
    for label, f in cases.items():
        begin = time.perf_counter()
        rows = find_agreements(engine, f, 20)
        ms = (time.perf_counter() - begin) * 1000
        with engine.connect() as c:
            sql = str(
                agreements_statement(c, f, 20).compile(c, compile_kwargs={"literal_binds": True})
            )
            explain = "EXPLAIN QUERY PLAN " if c.dialect.name == "sqlite" else "EXPLAIN "
            plan = [" ".join(str(x) for x in r) for r in c.exec_driver_sql(explain + sql)]
        print(f"{label}: {len(rows)} rows in {ms:.1f} ms")
        for line in plan:
            print("    " + line)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50_000)
