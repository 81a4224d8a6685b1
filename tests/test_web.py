"""The web view (issue 17) on a crawled database, through Flask's test client: every page,
its JSON/CSV/Atom forms, facets that narrow, errors said plainly, feedback's guards."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from storage.db import open_database
from storage.models import Article, Source, appeared
from storage.times import utc
from tests.conftest import ROOT, veille
from tests.web_world import crawled
from web.app import create_app


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[tuple[str, Path]]:
    with crawled(request.param, tmp_path_factory.mktemp("web"), pg_ok) as found:
        yield found


@pytest.fixture
def client(site: tuple[str, Path]) -> FlaskClient:
    url, sources = site
    return create_app(url, sources=str(sources)).test_client()


def rows(client: FlaskClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get("/agreements.json" + query)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json  # type: ignore[assignment]
    return found


def test_every_page_answers(client: FlaskClient) -> None:
    agreements = rows(client)
    assert agreements, "the crawl stored agreements"
    first = agreements[0]
    org = first["organisations"][0]["id"]
    article = first["articles"][0]["id"]
    for path in (
        "/",
        "/agreements",
        f"/agreements/{first['id']}",
        "/organisations",
        f"/organisations/{org}",
        f"/articles/{article}",
        "/sources",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.content_type.startswith("text/html")
    for path in ("/agreements", "/organisations", f"/organisations/{org}", "/sources"):
        for fmt, mime in (
            ("json", "application/json"),
            ("csv", "text/csv"),
            ("atom", "application/atom+xml"),
        ):
            response = client.get(f"{path}.{fmt}")
            assert response.status_code == 200 and response.mimetype == mime, path
        listed = client.get(f"{path}.json").json
        feed = feedparser.parse(client.get(f"{path}.atom").data)
        assert not feed.bozo and len(feed.entries) == len(listed) > 0, path
        assert len(list(csv.DictReader(io.StringIO(client.get(f"{path}.csv").text)))) == len(listed)
    page = client.get("/").text
    assert f'href="/agreements/{first["id"]}"' in page
    assert "<svg" in page and "<rect" in page  # the timeline


@pytest.mark.parametrize("site", ["sqlite"], indirect=True)  # a write shows in its files
def test_reading_pages_never_write(site: tuple[str, Path], client: FlaskClient) -> None:
    url, _ = site
    files = sorted(Path(url.removeprefix("sqlite:///")).parent.glob("veille.sqlite3*"))
    before = {f.name: f.read_bytes() for f in files}
    first = rows(client)[0]
    for path in ("/", f"/agreements/{first['id']}", f"/articles/{first['articles'][0]['id']}"):
        assert client.get(path).status_code == 200
    assert {f.name: f.read_bytes() for f in files} == before


def test_lists_parse_as_json_csv_and_atom_with_the_same_rows(client: FlaskClient) -> None:
    agreements = rows(client)
    ids = [a["id"] for a in agreements]
    seen = [a["first_seen"] for a in agreements]
    assert seen == sorted(seen, reverse=True)  # newest first
    table = list(csv.DictReader(io.StringIO(client.get("/agreements.csv").text)))
    assert [int(r["id"]) for r in table] == ids
    feed = feedparser.parse(client.get("/agreements.atom").data)
    assert not feed.bozo, feed.bozo_exception
    assert [e.id for e in feed.entries] == [f"tag:veille,2025:agreement/{i}" for i in ids]
    assert set(agreements[0]) >= {"id", "types", "parties", "organisations", "articles", "count"}
    sources = client.get("/sources.json").json
    assert {s["source"] for s in sources} >= {"lematin", "hespress-ar", "dead"}
    dead = next(s for s in sources if s["source"] == "dead")
    assert dead["status"] == "failing" and dead["failures"] >= 1
    lematin = next(s for s in sources if s["source"] == "lematin")
    assert lematin["articles_30d"] >= 1 and lematin["last_success_at"]


def test_sources_count_each_source_s_last_30_days(
    site: tuple[str, Path], client: FlaskClient
) -> None:
    """/sources counts, per source, the articles that appeared in the last 30 days and those
    that report an agreement: the same figures as reading every stored article."""
    url, _ = site
    since = datetime.now(UTC) - timedelta(days=30)
    expected: dict[str, list[int]] = {}
    engine = open_database(url, readonly=True)
    with engine.connect() as conn:
        stored = conn.execute(
            select(Source.name, appeared(), Article.is_agreement).join(
                Source, Source.id == Article.source_id
            )
        ).all()
    engine.dispose()
    for source, when, is_agreement in stored:
        if utc(when) >= since:
            counts = expected.setdefault(source, [0, 0])
            counts[0] += 1
            counts[1] += bool(is_agreement)
    listed = {
        s["source"]: [s["articles_30d"], s["agreements_30d"]]
        for s in client.get("/sources.json").json
        if s["articles_30d"]
    }
    assert listed == expected and any(a for _, a in expected.values())


def test_facets_narrow_the_list(client: FlaskClient) -> None:
    everything = rows(client)
    auto = rows(client, "?sector=Automobile")  # spelled as people type it
    assert auto and len(auto) < len(everything)
    assert all("automobile" in a["sectors"] for a in auto)
    arabic = rows(client, "?lang=ar")
    assert arabic and all(any(x["language"] == "ar" for x in a["articles"]) for a in arabic)
    org = auto[0]["organisations"][0]
    signed = rows(client, f"?org={org['id']}")
    assert signed and all(org in a["organisations"] for a in signed)
    rich = rows(client, "?min_amount=1e9")
    assert all(a["id"] in {r["id"] for r in everything} for a in rich)
    small = rows(client, "?max_amount=1e9")
    assert not {a["id"] for a in rich} & {a["id"] for a in small}
    page = client.get("/agreements?sector=automobile").text
    assert "✕ automobile" in page  # the active facet, a click takes it off
    assert 'href="/agreements"' in page or "clear every filter" in page


def test_facet_counts_are_the_matches(client: FlaskClient) -> None:
    page = client.get("/agreements?lang=fr").text
    sectors = re.search(r'data-facet="sector">(.*?)</section>', page, re.S)
    assert sectors
    counted = re.findall(r'sector=([^"&]+)"[^>]*>([^<]+)</a> <span class="count">(\d+)', sectors[1])
    assert counted
    for value, _, n in counted:
        assert int(n) == len(rows(client, f"?lang=fr&sector={value}")), value


def test_source_and_language_counts_are_the_matches(client: FlaskClient) -> None:
    page = client.get("/agreements").text
    for facet, key in (("source", "source"), ("language", "lang")):
        group = re.search(rf'data-facet="{facet}">(.*?)</section>', page, re.S)
        assert group, facet
        counted = re.findall(rf'{key}=([^"&]+)"[^>]*>[^<]+</a> <span class="count">(\d+)', group[1])
        assert counted, facet
        for value, n in counted:
            assert int(n) == len(rows(client, f"?{key}={value}")), (facet, value)


def test_an_organisations_counterparties_are_those_it_signed_with(client: FlaskClient) -> None:
    signed: dict[int, list[set[int]]] = {}
    for a in rows(client, "?limit=500"):
        ids = {o["id"] for o in a["organisations"]}
        for i in ids:
            signed.setdefault(i, []).append(ids - {i})
    org = max(signed, key=lambda i: len(set().union(*signed[i])))
    expected = {other: sum(other in s for s in signed[org]) for other in set().union(*signed[org])}
    assert expected, "an organisation of the crawl signed with others"
    page = client.get(f"/organisations/{org}").text
    partners = re.search(r'<ul class="partners">(.*?)</ul>', page, re.S)
    assert partners
    shown = re.findall(
        r'/organisations/(\d+)"[^>]*>[^<]+</a> <span class="count">(\d+)', partners[1]
    )
    assert {int(i): int(n) for i, n in shown} == expected
    assert [int(n) for _, n in shown] == sorted((int(n) for _, n in shown), reverse=True)


def test_search_and_paging(client: FlaskClient) -> None:
    everything = rows(client)
    found = rows(client, "?q=Kénitra")
    assert found and len(found) < len(everything)
    first = client.get("/agreements.json?limit=2")
    assert len(first.json) == 2
    link = re.search(r"<([^>]+)>; rel=\"next\"", first.headers["Link"])
    assert link
    second = client.get(link.group(1))
    ids = [a["id"] for a in first.json + second.json]
    assert ids == [a["id"] for a in everything][:4]


@pytest.mark.parametrize(
    ("path", "code", "says"),
    [
        ("/agreements/999999", 404, "no agreement with id 999999"),
        ("/articles/999999", 404, "no article with id 999999"),
        ("/organisations/999999", 404, "no organisation with id 999999"),
        ("/nowhere", 404, "Not Found"),
        ("/agreements.xml", 404, "no .xml form"),
        ("/agreements?sector=bananes", 400, "is not a sector"),
        ("/agreements?min_score=2", 400, "is not between 0 and 1"),
        ("/agreements?min_amount=lots", 400, "is not a number"),
        ("/agreements?since=yesterday", 400, "is not a date"),
        ("/agreements?lang=de", 400, "languages are fr, ar, en"),
        ("/agreements?colour=red", 400, "unknown filter"),
        ("/agreements?q=-", 400, ""),
        ("/agreements?before=999999", 400, "no such agreement"),
    ],
)
def test_bad_requests_are_said_plainly(
    client: FlaskClient, path: str, code: int, says: str
) -> None:
    response = client.get(path)
    assert response.status_code == code, response.text[:500]
    assert says in response.text and "Traceback" not in response.text


def test_arabic_text_is_right_to_left_beside_french(client: FlaskClient) -> None:
    arabic = rows(client, "?lang=ar")[0]
    article = next(a for a in arabic["articles"] if a["language"] == "ar")
    page = client.get(f"/articles/{article['id']}").text
    assert re.search(r'<article class="text" dir="rtl" lang="ar">', page)
    listing = client.get("/agreements").text
    assert 'dir="rtl" lang="ar"' in listing and 'dir="ltr" lang="fr"' in listing


def test_the_evidence_is_highlighted_in_its_article(client: FlaskClient) -> None:
    agreement = rows(client, "?lang=fr")[0]
    page = client.get(f"/agreements/{agreement['id']}").text
    marked = re.search(r'<mark id="evidence">(.*?)</mark>', page, re.S)
    assert marked
    assert " ".join(marked.group(1).split())[:40] == " ".join(agreement["evidence"].split())[:40]


def test_health(site: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = site
    answer = create_app(url).test_client().get("/health")
    assert answer.status_code == 200 and answer.json["status"] == "ok"
    if not url.startswith("sqlite"):
        return
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(Path(url.removeprefix("sqlite:///")).read_bytes())
    app = create_app(f"sqlite:///{copy}")
    copy.write_bytes(b"not a database any more" * 200)
    gone = app.test_client().get("/health")
    assert gone.status_code == 503 and gone.json["status"] == "unavailable"


def _form_token(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def test_feedback_needs_the_csrf_token(client: FlaskClient) -> None:
    article = rows(client)[0]["articles"][0]["id"]
    refused = client.post(f"/articles/{article}/feedback", data={"verdict": "wrong"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    _form_token(client, f"/articles/{article}")
    forged = client.post(
        f"/articles/{article}/feedback", data={"verdict": "wrong", "csrf_token": "forged"}
    )
    assert forged.status_code == 403


def test_feedback_needs_the_password_when_the_server_has_one(site: tuple[str, Path]) -> None:
    url, _ = site
    client = create_app(url, password="s3cret").test_client()
    article = rows(client)[0]["articles"][0]["id"]
    token = _form_token(client, f"/articles/{article}")
    form = {"verdict": "wrong", "csrf_token": token}
    refused = client.post(f"/articles/{article}/feedback", data=form)
    assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"]
    wrong = base64.b64encode(b"amina:guess").decode()
    bad = client.post(
        f"/articles/{article}/feedback", data=form, headers={"Authorization": f"Basic {wrong}"}
    )
    assert bad.status_code == 401
    assert client.get(f"/articles/{article}").status_code == 200  # reading stays open
    right = base64.b64encode(b"amina:s3cret").decode()
    form["verdict"] = "correct"  # the rules' verdict kept: the other tests' lists stay as crawled
    kept = client.post(
        f"/articles/{article}/feedback", data=form, headers={"Authorization": f"Basic {right}"}
    )
    assert kept.status_code == 303
    assert "marked <strong>correct</strong> by amina" in client.get(f"/articles/{article}").text


def test_web_refuses_a_public_address_without_a_password(site: tuple[str, Path]) -> None:
    url, _ = site
    result = veille("web", "--db", url, "--host", "0.0.0.0", env={"VEILLE_WEB_PASSWORD": ""})
    assert result.returncode == 2
    assert result.stderr.startswith("veille: ") and len(result.stderr.splitlines()) == 1
    assert "VEILLE_WEB_PASSWORD" in result.stderr
    missing = veille("web", "--db", str(Path(url).parent / "nothing-here.sqlite3"))
    assert missing.returncode == 2 and missing.stderr.startswith("veille: no veille database")


def test_veille_web_serves_the_pages(site: tuple[str, Path]) -> None:
    url, _ = site
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "web", "--db", url, "--port", str(port)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answer = _get(port, "/health")
        assert answer[0] == 200 and json.loads(answer[1])["status"] == "ok"
    finally:
        server.terminate()
        server.wait(10)


def _get(port: int, path: str) -> tuple[int, str]:
    """One GET to the served view, retried while it starts."""
    import http.client

    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read().decode()
        except ConnectionRefusedError:
            time.sleep(0.1)
    raise AssertionError("veille web did not start")


# -- these write: they come last, the other tests read the crawl as it was -------------------


def test_a_mark_is_stored_shown_and_wins(client: FlaskClient) -> None:
    agreement = rows(client, "?sector=automobile")[0]
    article = agreement["articles"][0]["id"]
    token = _form_token(client, f"/agreements/{agreement['id']}")
    bad = client.post(
        f"/agreements/{agreement['id']}/feedback",
        data={
            "verdict": "correct",
            "sector": "bananes",
            "csrf_token": token,
            "article_id": article,
        },
    )
    assert bad.status_code == 400 and "not a sector" in bad.text
    marked = client.post(
        f"/articles/{article}/feedback",
        data={
            "verdict": "wrong",
            "note": "a plan, not a signature",
            "by": "amina",
            "csrf_token": token,
        },
    )
    assert marked.status_code == 303 and marked.location.endswith(f"/articles/{article}#feedback")
    page = client.get(f"/articles/{article}").text
    assert "marked <strong>wrong</strong> by amina" in page and "a plan, not a signature" in page
    assert '<strong id="verdict-by">analyst</strong>' in page
    assert "not an industrial agreement" in page
    assert agreement["id"] not in {a["id"] for a in rows(client, "?sector=automobile")} or any(
        x["id"] != article for x in agreement["articles"]
    )


def test_an_agreement_corrected_from_its_page(client: FlaskClient) -> None:
    agreement = rows(client, "?lang=en")[0]
    article = agreement["articles"][0]["id"]
    token = _form_token(client, f"/agreements/{agreement['id']}")
    form = {
        "verdict": "correct",
        "sector": "Aéronautique",
        "note": "tyres for aircraft",
        "csrf_token": token,
        "article_id": str(article),
    }
    done = client.post(f"/agreements/{agreement['id']}/feedback", data=form)
    assert done.status_code == 303, done.text[:500]
    corrected = next(a for a in rows(client, "?lang=en") if a["articles"][0]["id"] == article)
    assert corrected["sectors"] == ["aéronautique"] and corrected["verdict_by"] == "analyst"
    page = client.get(f"/agreements/{corrected['id']}").text
    assert "marked <strong>correct</strong>" in page and "tyres for aircraft" in page


def test_the_timeline_counts_per_week_or_month_and_sector() -> None:
    from datetime import date

    from web.timeline import timeline

    weeks = timeline(
        [
            (date(2025, 11, 3), ["automobile"]),  # a Monday
            (date(2025, 11, 9), ["automobile", "ferroviaire"]),  # its Sunday: counted once
            (date(2025, 11, 19), ["ferroviaire"]),
            (date(2025, 11, 20), []),
        ]
    )
    assert weeks and weeks.unit == "week"
    assert [(b.label, b.total) for b in weeks.bars] == [
        ("2025-11-03", 2),
        ("2025-11-10", 0),
        ("2025-11-17", 2),
    ]
    assert [(s[0], s[2]) for s in weeks.bars[2].segments] == [("ferroviaire", 1), ("autres", 1)]
    assert (weeks.bars[2].since, weeks.bars[2].until) == ("2025-11-17", "2025-11-23")
    months = timeline([(date(2024, 1, 31), ["automobile"]), (date(2025, 1, 1), ["automobile"])])
    assert months and months.unit == "month" and len(months.bars) == 13
    assert months.bars[-1].label == "2025-01" and months.bars[-1].until == "2025-01-31"
    assert timeline([]) is None
