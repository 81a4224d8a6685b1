"""The command line: extract, db upgrade, errors said plainly, no password in output."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

from tests.conftest import FAST, veille
from tests.server import FixtureServer
from tests.world import PAGES

SITE = "https://lenouvelliste.ma"


def saved_page(tmp_path: Path, name: str, gz: bool = False) -> Path:
    body = (PAGES / name).read_bytes().replace(b"{BASE}", SITE.encode())
    path = tmp_path / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(body) if gz else body)
    return path


def test_extract_saved_file(tmp_path: Path) -> None:
    for gz in (False, True):
        path = saved_page(tmp_path, "wp_fr_tagdiv.html", gz)
        result = veille("extract", str(path), "--url", f"{SITE}/economie/x/?utm_source=rss")
        assert result.returncode == 0, result.stderr
        page = json.loads(result.stdout)
        assert page["canonical_url"] == f"{SITE}/lenouvelliste/economie/made-in-morocco-accords"
        assert page["language"] == "fr"
        assert page["is_agreement"] is True
        assert page["evidence"] and "IMANOR" in page["text"]
        assert "spot_img" not in page["text"]
        assert page["published_at"] == "2025-11-04T08:00:00Z"
        assert page["published_local"] == "2025-11-04T08:00:00+00:00"


def test_extract_url_through_scrapy(server: FixtureServer) -> None:
    url = f"{server.base}/hespress/economie/tawqi-ittifaqiyat-istithmar-sinaat-sayarat-1456789.html"
    result = veille("extract", url, *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    page = json.loads(result.stdout)
    assert page["language"] == "ar"
    assert "اتفاقيات" in page["title"]
    assert [h.path for h in server.hits][:1] == ["/robots.txt"]  # robots.txt asked first


def test_extract_missing_file_and_dead_url(tmp_path: Path) -> None:
    missing = veille("extract", str(tmp_path / "nope.html"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    dead = veille("extract", "http://127.0.0.1:9/page.html", *FAST)
    assert dead.returncode == 2 and "could not fetch" in dead.stderr


def test_db_upgrade_and_password_never_shown() -> None:
    url = "postgresql://veille:hunter2secret@127.0.0.1:1/none"
    result = veille("db", "upgrade", "--db", url)
    assert result.returncode == 1
    assert "database error" in result.stderr
    assert "hunter2secret" not in result.stderr + result.stdout


def test_db_upgrade_creates_schema(tmp_path: Path) -> None:
    result = veille("db", "upgrade", "--db", str(tmp_path / "new.sqlite3"))
    assert result.returncode == 0
    assert (tmp_path / "new.sqlite3").exists()


def test_query_bad_inputs_are_clear(tmp_path: Path) -> None:
    db = str(tmp_path / "q.sqlite3")
    for args, message in (
        (["--since", "yesterday-ish"], "is not a date"),
        (["--search", "-only -negative"], "no word to look for"),
    ):
        result = veille("query", "--db", db, *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_sources_file_checks_source_names_and_lists_the_unstored(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    from storage.db import open_database
    from storage.models import Article, Source

    db = str(tmp_path / "s.sqlite3")
    engine = open_database(db)
    with Session(engine) as session:
        session.add(Source(id=1, name="gone", language="fr"))  # stored, no longer in the file
        session.flush()
        session.add(
            Article(
                url="https://gone.ma/a",
                source_id=1,
                title="A",
                text="Un texte.",
                fetched_at=datetime.now(UTC),
                content_hash="h",
                language="fr",
            )
        )
        session.commit()
    engine.dispose()
    path = tmp_path / "sources.toml"
    path.write_text('[[source]]\nname = "LeMatin"\nfeeds = ["https://lematin.ma/rss"]\n')
    for command in (["query"], ["agreements"], ["errors"]):
        typo = veille(*command, "--db", db, "--sources", str(path), "--source", "lemattin")
        assert typo.returncode == 2, (command, typo.stderr)
        assert typo.stderr.startswith("veille: --source 'lemattin': not in ")
        for name in ("lematin", "GONE"):  # the file's spelling or the database's, any case
            known = veille(*command, "--db", db, "--sources", str(path), "--source", name)
            assert known.returncode == 0, (command, name, known.stderr)
    gone = veille("query", "--db", db, "--source", "Gone", "--format", "jsonl")
    assert [json.loads(line)["source"] for line in gone.stdout.splitlines()] == ["gone"]
    stats = veille("stats", "--db", db, "--sources", str(path), "--format", "csv")
    counts = {r["source"]: r["articles"] for r in csv.DictReader(io.StringIO(stats.stdout))}
    assert counts == {"gone": "1", "LeMatin": "0"}
    plain = veille("stats", "--db", db, "--format", "csv", env={"VEILLE_SOURCES": ""})
    assert [r["source"] for r in csv.DictReader(io.StringIO(plain.stdout))] == ["gone"]
    ignored = veille("show", "1", "--db", db, "--sources", str(path))  # a file it never reads
    assert ignored.returncode == 2 and "unrecognized arguments: --sources" in ignored.stderr


def test_offline_is_told_from_the_errors_of_every_listing() -> None:
    from collections import Counter

    from crawler.runner import CrawlReport

    dns = "hespress: https://www.hespress.com/feed: CannotResolveHostError: DNS lookup failed"
    refused = "leseco: https://leseco.ma/feed/: DownloadConnectionRefusedError: refused"
    failed = {"hespress": Counter(listings_failed=1), "leseco": Counter(listings_failed=1)}
    assert CrawlReport(1, "ok", failed, [dns, refused]).offline
    assert not CrawlReport(
        1, "ok", failed, [dns, "leseco: https://leseco.ma/feed/: HTTP 403"]
    ).offline
    answered = {**failed, "leseco": Counter(listings_read=1)}
    assert not CrawlReport(1, "ok", answered, [dns]).offline
