"""The command line: extract, db upgrade, errors said plainly, no password in output."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import FAST, ROOT, veille
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


def test_extract_many_files_and_stdin_one_line_each(tmp_path: Path) -> None:
    pages = [
        saved_page(tmp_path, "wp_fr_tagdiv.html"),
        saved_page(tmp_path, "ar_cp1256.html", True),
    ]
    missing = tmp_path / "nope.html"
    alone = [json.loads(veille("extract", str(p)).stdout) for p in pages]
    result = veille("extract", str(pages[0]), str(missing), str(pages[1]))
    assert result.returncode == 1  # some could not be read
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.pop("file") for line in lines] == [str(pages[0]), str(pages[1])]
    assert lines == alone  # the same fields as one page alone, one line each
    assert result.stderr.strip() == f"veille: {missing}: cannot read: " + (
        f"[Errno 2] No such file or directory: '{missing}'"
    )
    url = f"{SITE}/economie/x/"
    piped = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "extract", "-", "--url", url],
        input=pages[0].read_bytes(),
        capture_output=True,
        cwd=ROOT,
    )
    assert piped.returncode == 0, piped.stderr
    (line,) = [json.loads(x) for x in piped.stdout.decode().splitlines()]
    assert line == {
        "file": "-",
        **json.loads(veille("extract", str(pages[0]), "--url", url).stdout),
    }
    nothing = veille("extract", str(missing), str(tmp_path / "nope.gz"))
    assert nothing.returncode == 2 and nothing.stdout == ""
    assert len(nothing.stderr.splitlines()) == 2


def test_extract_many_refuses_a_url_and_a_shared_address(tmp_path: Path) -> None:
    page = str(saved_page(tmp_path, "en_article.html"))
    for argv, said in (
        ([page, "https://example.ma/a"], "a URL is fetched alone"),
        ([page, page, "--url", "https://example.ma/a"], "--url gives the address of one"),
        (["-", "-"], "standard input (-) can be read only once"),
    ):
        result = veille("extract", *argv)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("veille: ") and said in result.stderr, result.stderr


def test_version_and_extract_load_no_crawler_or_database_code(tmp_path: Path) -> None:
    page = str(saved_page(tmp_path, "en_article.html"))
    for argv in (["--version"], ["extract", page], ["extract", page, page]):
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "crawler.cli", *argv],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        loaded = {line.split("|")[-1].strip() for line in run.stderr.splitlines()}
        assert "crawler.core.extract" in loaded or argv == ["--version"]
        assert not {"scrapy", "twisted", "sqlalchemy", "alembic"} & loaded, argv


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
