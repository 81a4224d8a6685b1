"""Alerts (issue #16) against real servers on loopback: a webhook receiver, an SMTP server
(aiosmtpd), the Atom feed read by feedparser, a run killed between sending and marking, and
an agreement reported by three outlets sent once. SQLite and PostgreSQL."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import text, update

from alerts.core import is_due
from alerts.models import Alert
from alerts.schedule import ScheduleError, parse_schedule
from storage.db import open_database
from storage.models import Feed
from tests import world
from tests.conftest import ROOT, veille
from tests.server import FixtureServer
from tests.test_agreements import ONCF, OUTLETS, _feed, _page, crawl, outlets, rows

SECRET = "s3cret"
LESECO = (
    "Le groupe Alstom et l'Office national des chemins de fer (ONCF) ont signé lundi une "
    "convention d'investissement de 1,2 milliard de dirhams pour construire à Fès une usine "
    "de composants ferroviaires.\n"
    "Le site emploiera à terme 600 personnes, selon le constructeur français."
)
THREE = (
    OUTLETS
    + """
[[source]]
name = "leseco"
language = "fr"
feeds = ["{BASE}/leseco/feed"]
"""
)


# -- real servers -------------------------------------------------------------------------------


class Receiver:
    """A webhook receiver on 127.0.0.1: answers the statuses it is given in turn (then 200),
    keeps every request; `on_post` runs before the answer (to kill the sender, say)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.on_post: Callable[[], None] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                if receiver.on_post is not None:
                    receiver.on_post()
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *_: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


class Mailbox:
    """An SMTP server (aiosmtpd) in a thread on 127.0.0.1, keeping the messages it gets."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                mailbox.messages.append(email.message_from_bytes(envelope.content, policy=default))
                return "250 OK"

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{port}"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.controller.stop()


ENV = {"VEILLE_ALERT_RETRY_SECONDS": "0"}  # a failed delivery is due again at once


def alerts(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return veille("alerts", *args, env={**ENV, **(env or {})})


def three_outlets(server: FixtureServer, tmp_path: Path) -> Path:
    """The two outlets of test_agreements, and a third telling the rail ceremony again."""
    outlets(server, tmp_path)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    path = "/leseco/ferroviaire-conventions-rabat"
    title = "Alstom investit 1,2 milliard de dirhams à Fès"
    server.add(path, _page(title, LESECO, "fr", at))
    server.add("/leseco/feed", _feed(server.base, [(title, path, at)]))
    return world.sources_file(tmp_path, server.base, THREE)


def alstom(db: str) -> dict[str, Any]:
    (row,) = [r for r in rows("agreements", db, "--party", "Alstom")]
    return row


# -- pure: schedules --------------------------------------------------------------------------


def test_schedules_and_their_last_time() -> None:
    daily = parse_schedule("daily 7:30")
    assert (daily.spec, daily.tz) == ("daily 07:30", "Africa/Casablanca")
    now = datetime(2025, 11, 5, 6, 0, tzinfo=UTC)  # 07:00 in Casablanca (UTC+1)
    assert daily.last_tick(now) == datetime(2025, 11, 4, 6, 30, tzinfo=UTC)
    weekly = parse_schedule("weekly Monday 08:00", "UTC")
    assert weekly.spec == "weekly mon 08:00"
    assert weekly.last_tick(now) == datetime(2025, 11, 3, 8, 0, tzinfo=UTC)  # a Wednesday
    assert weekly.cron() == {"hour": 8, "minute": 0, "timezone": "UTC", "day_of_week": "mon"}
    for bad, tz in (("daily 25:00", "UTC"), ("weekly xyz 07:00", "UTC"), ("hourly", "UTC")):
        with pytest.raises(ScheduleError):
            parse_schedule(bad, tz)
    with pytest.raises(ScheduleError):
        parse_schedule("instant", "Mars/Olympus")


def test_a_digest_missed_several_times_is_due_once() -> None:
    created = datetime(2025, 11, 1, tzinfo=UTC)
    alert = Alert(schedule="daily 07:30", tz="UTC", created_at=created, last_run_at=None)
    now = datetime(2025, 11, 5, 9, 0, tzinfo=UTC)  # four times missed
    assert is_due(alert, now)
    alert.last_run_at = now
    assert not is_due(alert, now + timedelta(hours=20))
    assert is_due(alert, now + timedelta(hours=23))
    assert is_due(Alert(schedule="instant", tz="UTC", created_at=created), now)


# -- end to end -------------------------------------------------------------------------------


def test_webhook_signed_retried_once_and_one_item_for_three_outlets(
    server: FixtureServer, tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    sources = three_outlets(server, tmp_path)
    assert veille("db", "upgrade", "--db", db_url).returncode == 0
    added = alerts("add", "rail", "--db", db_url, "--party", "ONCF", "--webhook", receiver.url)
    assert added.returncode == 0, added.stderr
    assert alerts("remove", "rail", "--db", db_url).returncode == 0
    added = alerts(
        "add", "rail", "--db", db_url, "--party", ONCF, "--webhook", receiver.url,
        "--secret", SECRET,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    crawl(db_url, sources)
    row = alstom(db_url)
    assert sorted(a["source"] for a in row["articles"]) == ["alyaoum", "lavie", "leseco"]

    receiver.statuses = [500]
    first = alerts("run", "--db", db_url)
    assert first.returncode == 1 and "answered 500" in first.stdout
    (listed,) = json.loads(alerts("list", "--db", db_url, "--format", "json").stdout)
    assert listed["retrying"] == 1 and listed["delivered"] == 0
    assert "500" in listed["channels"][0]["error"]
    assert "being retried" in veille("status", "--db", db_url).stdout

    second = alerts("run", "--db", db_url)
    assert second.returncode == 0, second.stdout + second.stderr
    assert alerts("run", "--db", db_url).stdout.strip() == "nothing due"
    assert len(receiver.requests) == 2
    headers, body = receiver.requests[1]
    assert headers["Content-Type"] == "application/json"
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Veille-Signature"] == expected
    sent = json.loads(body)
    assert list(sent) == ["alert", "sent_at", "agreements"] and sent["alert"] == "rail"
    datetime.fromisoformat(sent["sent_at"])
    oncf = rows("agreements", db_url, "--party", ONCF)
    assert sent["agreements"] == sorted(oncf, key=lambda r: r["first_seen"])
    assert [r["id"] for r in sent["agreements"]].count(row["id"]) == 1  # three outlets, one item
    (listed,) = json.loads(alerts("list", "--db", db_url, "--format", "json").stdout)
    assert (listed["delivered"], listed["retrying"], listed["failed"]) == (len(oncf), 0, 0)

    # a later crawl finds nothing new: nothing more is sent
    crawl(db_url, sources)
    assert alerts("run", "--db", db_url).stdout.strip() == "nothing due"
    assert len(receiver.requests) == 2


def test_stored_agreements_only_with_backfill(
    server: FixtureServer, tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    crawl(db_url, outlets(server, tmp_path))
    assert alerts("add", "late", "--db", db_url, "--webhook", receiver.url).returncode == 0
    assert alerts("show", "late", "--db", db_url, "--format", "json").returncode == 0
    preview = json.loads(alerts("show", "late", "--db", db_url, "--format", "json").stdout)
    assert preview[0]["agreements"] == []
    assert alerts("run", "--db", db_url).stdout.strip() == "nothing due"
    back = alerts("add", "all", "--db", db_url, "--backfill", "--webhook", receiver.url)
    assert back.returncode == 0
    preview = json.loads(alerts("show", "all", "--db", db_url, "--format", "json").stdout)
    stored = rows("agreements", db_url)
    assert {r["id"] for r in preview[0]["agreements"]} == {r["id"] for r in stored}
    assert alerts("run", "all", "--db", db_url).returncode == 0
    (body,) = receiver.bodies()
    assert {r["id"] for r in body["agreements"]} == {r["id"] for r in stored}
    # a sample through each channel, outside the outbox
    assert alerts("test", "late", "--db", db_url).returncode == 0
    assert len(receiver.bodies()[1]["agreements"]) == 1
    assert alerts("run", "--db", db_url).stdout.strip() == "nothing due"
    assert alerts("remove", "late", "--db", db_url).returncode == 0
    gone = alerts("show", "late", "--db", db_url)
    assert gone.returncode == 2 and "no alert named 'late'" in gone.stderr


def test_email_digest_text_and_html_with_arabic_right_to_left(
    server: FixtureServer, tmp_path: Path, db_url: str, mailbox: Mailbox
) -> None:
    assert veille("db", "upgrade", "--db", db_url).returncode == 0
    added = alerts(
        "add", "rail", "--db", db_url, "--lang", "ar", "--min-amount", "1e8",
        "--schedule", "daily 07:30", "--email", "analyste@example.ma",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    crawl(db_url, outlets(server, tmp_path))
    env = {"VEILLE_SMTP_URL": mailbox.url, "VEILLE_MAIL_FROM": "veille@example.ma"}
    assert alerts("run", "--db", db_url, env=env).stdout.strip() == "nothing due"  # not 07:30 yet
    engine = open_database(db_url)
    with engine.begin() as conn:  # the service was down for three days: one digest, not three
        conn.execute(update(Alert).values(created_at=datetime.now(UTC) - timedelta(days=3)))
    engine.dispose()
    sent = alerts("run", "--db", db_url, env=env)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert alerts("run", "--db", db_url, env=env).stdout.strip() == "nothing due"
    (message,) = mailbox.messages
    assert message["To"] == "analyste@example.ma" and "veille@example.ma" in message["From"]
    assert message["Subject"] == "veille · rail: 2 agreement(s)"
    assert message.get_content_type() == "multipart/alternative"
    body = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (body, html):
        assert "Alstom" in part and "Sonasid" in part
        assert "1,200 MDH" in part and "450 MDH" in part
        assert "ferroviaire" in part and "convention" in part
        assert server.base + "/lavie/rail-deux-conventions" in part
        assert server.base + "/alyaoum/sikak-hadidia-ittifaqiyatan" in part
    assert "1,2 milliard de dirhams dans une usine" in body  # the evidence sentence
    assert 'lang="ar" dir="rtl"' in html and "توقيع اتفاقيتين" in html


def test_atom_feed_parses_and_keeps_its_ids(
    server: FixtureServer, tmp_path: Path, db_url: str
) -> None:
    sources = outlets(server, tmp_path)
    assert veille("db", "upgrade", "--db", db_url).returncode == 0
    assert alerts("add", "feed", "--db", db_url, "--webhook", "http://127.0.0.1:9/").returncode == 0
    crawl(db_url, sources)
    first = alerts("atom", "feed", "--db", db_url)
    assert first.returncode == 0, first.stderr
    parsed = feedparser.parse(first.stdout)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10" and parsed.feed.id == "tag:veille,2025:alert/feed"
    stored = rows("agreements", db_url)
    ids = [e.id for e in parsed.entries]
    assert ids == [f"tag:veille,2025:agreement/{r['id']}" for r in stored]
    alstom_entry = next(e for e in parsed.entries if "Alstom" in e.title)
    assert {link.href for link in alstom_entry.links} >= {
        server.base + "/lavie/rail-deux-conventions",
        server.base + "/alyaoum/sikak-hadidia-ittifaqiyatan",
    }
    crawl(db_url, sources)
    again = feedparser.parse(alerts("atom", "feed", "--db", db_url).stdout)
    assert [e.id for e in again.entries] == ids


def test_a_run_killed_between_sending_and_marking_sends_at_most_one_duplicate(
    server: FixtureServer, tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    assert veille("db", "upgrade", "--db", db_url).returncode == 0
    assert alerts("add", "all", "--db", db_url, "--webhook", receiver.url).returncode == 0
    crawl(db_url, outlets(server, tmp_path))
    child = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "alerts", "run", "--db", db_url],
        cwd=ROOT,
        env={**os.environ, **ENV, "NO_PROXY": "127.0.0.1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    receiver.on_post = lambda: os.kill(child.pid, signal.SIGKILL)  # received, never marked
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    receiver.on_post = None
    assert len(receiver.requests) == 1
    rerun = alerts("run", "--db", db_url)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert alerts("run", "--db", db_url).stdout.strip() == "nothing due"
    first, second = receiver.bodies()
    assert [r["id"] for r in first["agreements"]] == [r["id"] for r in second["agreements"]]
    assert len(first["agreements"]) == len(rows("agreements", db_url))


def test_source_health_alert_once_per_episode(
    server: FixtureServer, tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    crawl(db_url, outlets(server, tmp_path))
    added = alerts("add", "health", "--db", db_url, "--source-health", "--webhook", receiver.url)
    assert added.returncode == 0, added.stderr
    assert alerts("run", "--db", db_url).stdout.strip() == "nothing due"
    engine = open_database(db_url)
    with engine.begin() as conn:
        source_id, name = conn.execute(text("SELECT id, name FROM sources ORDER BY id")).first()
        two_days_ago = datetime.now(UTC) - timedelta(days=2)
        conn.execute(
            update(Feed)
            .where(Feed.source_id == source_id)
            .values(consecutive_failures=30, last_success_at=two_days_ago)
        )
    engine.dispose()
    assert alerts("run", "--db", db_url).returncode == 0
    assert alerts("run", "--db", db_url).stdout.strip() == "nothing due"
    (body,) = receiver.bodies()
    assert body["agreements"] == []
    (problem,) = body["sources"]
    assert problem["source"] == name and "every poll failed since" in problem["problem"]


def test_the_service_delivers_instant_alerts_and_stores_digest_jobs(
    server: FixtureServer, tmp_path: Path, db_url: str, receiver: Receiver
) -> None:
    from tests.test_service import Service, wait_for

    sources = outlets(server, tmp_path)
    assert veille("db", "upgrade", "--db", db_url).returncode == 0
    assert alerts("add", "now", "--db", db_url, "--webhook", receiver.url).returncode == 0
    digest = ("add", "morning", "--db", db_url, "--schedule", "weekly mon 08:00", "--tz", "UTC")
    assert alerts(*digest, "--webhook", receiver.url + "/digest").returncode == 0
    service = Service(db_url, sources, tmp_path / "service.log", "--run-now")
    try:
        engine = open_database(db_url)

        def delivered() -> bool:
            with engine.connect() as conn:
                stored = conn.scalar(text("SELECT count(*) FROM agreements"))
            sent = [r["id"] for b in receiver.bodies() for r in b["agreements"]]
            return stored == 3 and len(set(sent)) == 3

        wait_for("the instant alert", delivered, service, timeout=90)
        with engine.connect() as conn:
            jobs = set(conn.scalars(text("SELECT id FROM apscheduler_jobs")))
        assert {"alert:morning", "alerts:tick"} <= jobs
    finally:
        assert service.stop() == 0
    sent = [r["id"] for b in receiver.bodies() for r in b["agreements"]]
    assert len(sent) == len(set(sent)) == 3  # each agreement once, across both crawls
    assert {h["Content-Type"] for h, _ in receiver.requests} == {"application/json"}
    engine.dispose()


def test_apprise_url_through_its_json_service(
    server: FixtureServer, tmp_path: Path, receiver: Receiver
) -> None:
    db = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    assert veille("db", "upgrade", "--db", db).returncode == 0
    apprise_url = receiver.url.replace("http://", "json://")
    assert alerts("add", "chat", "--db", db, "--notify", apprise_url).returncode == 0
    crawl(db, outlets(server, tmp_path))
    sent = alerts("run", "--db", db)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    (body,) = receiver.bodies()
    assert body["title"] == "veille · chat: 3 agreement(s)"
    assert "Alstom" in body["message"] and "Sonasid" in body["message"]
    assert alerts("run", "--db", db).stdout.strip() == "nothing due"
    receiver.statuses = [500]
    bad = alerts("test", "chat", "--db", db)
    assert bad.returncode == 1 and "did not accept" in bad.stdout
