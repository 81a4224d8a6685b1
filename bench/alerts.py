"""Alert matching after a crawl, over N stored agreements (issue #16; target: at most 1 s).

    python -m bench.alerts sqlite:////tmp/alerts.sqlite3 100000
    python -m bench.alerts "postgresql://...?options=-csearch_path%3Dbench" 100000

Fills an empty database with bench.agreement_queries' synthetic agreements, saves five
instant alerts whose outboxes already hold every earlier match (a long-lived database),
adds 50 agreements as a crawl would, and times the matching and queuing of all five alerts.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from sqlalchemy import func, insert, select

from alerts.core import NewAlert, add_alert, all_alerts, match, new_matches
from alerts.models import Alert, AlertChannel, AlertOutbox
from bench.agreement_queries import START, STEP, fill
from storage.db import open_database, writing
from storage.models import Agreement

NEW = 50
ALERTS = {
    "every": {},
    "oncf": {"parties": ["ONCF"]},
    "automotive-100mdh": {"sectors": ["automobile"], "min_amount": 1e8},
    "conventions": {"types": ["convention"], "min_score": 0.5},
    "french": {"languages": ["fr"], "sources": ["bench"]},
}


def main(url: str, n: int) -> None:
    fill(url, n - NEW)
    engine = open_database(url)
    for name, filters in ALERTS.items():
        add_alert(engine, NewAlert(name, filters, channels=[("webhook", "http://127.0.0.1:9/")]))
    with writing(engine) as c:  # created before every agreement, they delivered each match
        c.execute(Agreement.__table__.update().values(amount_mad=2e8))
        c.execute(  # and they matched every agreement stored so far
            Alert.__table__.update().values(
                watermark=0, scanned_agreement=n - NEW, scanned_record=n - NEW
            )
        )
    with writing(engine) as c:
        for alert in all_alerts(engine):
            (channel,) = c.scalars(select(AlertChannel.id).where(AlertChannel.alert_id == alert.id))
            alert.scanned_agreement = 0  # (not written: everything stored so far)
            ids = new_matches(c, alert)
            if ids:
                c.execute(
                    insert(AlertOutbox),
                    [
                        {"channel_id": channel, "item": f"agreement:{i}", "agreement_id": i}
                        | {"attempts": 1, "next_attempt_at": START, "failed": False}
                        | {"created_at": START, "delivered_at": START}
                        for i in ids
                    ],
                )
        c.execute(
            Agreement.__table__.insert(),
            [
                {"id": n - NEW + i + 1, "types": ["convention"], "parties": []}
                | {"sectors": ["automobile"], "amounts": [], "count": 1, "score": 0.9}
                | {"first_seen": START + STEP * (n + i), "evidence": "", "amount_mad": 3e8}
                for i in range(NEW)
            ],
        )
        if c.dialect.name == "postgresql":
            c.exec_driver_sql("ANALYZE")
    alerts = all_alerts(engine)
    begin = time.perf_counter()
    queued = {a.name: match(engine, a) for a in alerts}
    seconds = time.perf_counter() - begin
    with engine.connect() as c:
        total = c.scalar(select(func.count()).select_from(Agreement))
        outbox = c.scalar(select(func.count()).select_from(AlertOutbox))
    print(f"{engine.dialect.name}: {total} agreements, {outbox} outbox rows")
    print(f"matched and queued {len(alerts)} alerts in {seconds * 1000:.0f} ms: {queued}")
    print(f"per alert: {seconds * 1000 / len(alerts):.0f} ms; {timedelta(seconds=seconds)}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
