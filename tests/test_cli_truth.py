"""The command line tells the truth: exit codes, failed sources named, failed articles listed,
read-only commands that never write, bad input in one line, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import open_database
from tests.conftest import FAST, ROOT, veille
from tests.server import FixtureServer, Route

RSS = "application/rss+xml; charset=utf-8"


def rss(base: str, *paths: str) -> bytes:
    items = "".join(
        f"<item><title>Article {p}</title><link>{base}{p}</link>"
        "<pubDate>Mon, 03 Nov 2025 09:00:00 GMT</pubDate></item>"
        for p in paths
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def sources_file(tmp_path: Path, **feeds: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        "".join(f'[[source]]\nname = "{n}"\nfeeds = ["{u}"]\n\n' for n, u in feeds.items()),
        encoding="utf-8",
    )
    return path


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]


@pytest.fixture
def broken_site(server: FixtureServer) -> FixtureServer:
    """/broken/feed answers, but every article it lists fails with 500."""
    server.add("/broken/feed", Route(rss(server.base, "/broken/a1", "/broken/a2"), RSS))
    for path in ("/broken/a1", "/broken/a2"):
        server.add(path, Route(b"oops", "text/plain", status=500, conditional=False))
    return server


def test_exit_codes_say_every_some_or_no_source_was_read(
    broken_site: FixtureServer, tmp_path: Path, db_url: str
) -> None:
    base = broken_site.base
    good = f"{base}/moroccoworldnews/feed/atom"
    cases = [
        ({"mwn": good, "broken": f"{base}/broken/feed"}, 0, "2 source(s) read"),
        ({"mwn": good, "nowhere": "http://127.0.0.1:9/feed"}, 1, "1 of 2 source(s)"),
        ({"nowhere": "http://127.0.0.1:9/feed", "gone": f"{base}/missing/feed"}, 2, "2 of 2"),
    ]
    for n, (feeds, code, said) in enumerate(cases):
        path = sources_file(tmp_path, **feeds)
        result = veille("crawl", "--db", db_url, "--sources", str(path), *FAST)
        no_traceback(result)
        assert result.returncode == code, (n, result.stdout, result.stderr[-2000:])
        summary = result.stdout.splitlines()[0]
        assert said in summary, summary
        status = {0: "ok", 1: "partial", 2: "failed"}[code]
        assert summary.startswith(f"crawl #{n + 1}: {status}")
        engine = open_database(db_url)
        with engine.connect() as conn:
            run = conn.execute(
                text("SELECT status, errors FROM crawl_runs ORDER BY id DESC LIMIT 1")
            ).one()
        engine.dispose()
        assert run.status == status
        errors = run.errors if isinstance(run.errors, list) else json.loads(run.errors)
        if code:
            unread = sorted(k for k, u in feeds.items() if u != good)
            assert errors[0] == f"no listing read for {len(unread)} source(s): {', '.join(unread)}"


def test_a_feed_whose_articles_all_fail_is_failing_and_its_errors_are_listed(
    broken_site: FixtureServer, tmp_path: Path, db_url: str
) -> None:
    base = broken_site.base
    path = sources_file(
        tmp_path, mwn=f"{base}/moroccoworldnews/feed/atom", broken=f"{base}/broken/feed"
    )
    result = veille("crawl", "--db", db_url, "--sources", str(path), *FAST)
    assert result.returncode == 0, result.stderr[-2000:]
    check = veille("sources", "--check", "--db", db_url, "--sources", str(path), "--format", "json")
    status = {r["source"]: r["status"] for r in json.loads(check.stdout)}
    assert status == {"mwn": "ok", "broken": "failing (2 article(s) failed)"}
    stats = json.loads(veille("stats", "--db", db_url, "--format", "json").stdout)[0]
    assert {f["source"]: f["status"] for f in stats["feeds"]}["broken"].startswith("failing")
    for command in ("stats", "status"):
        table = veille(command, "--db", db_url)
        assert "failing feeds:" in table.stdout and "/broken/feed" in table.stdout, command
    status_json = json.loads(veille("status", "--db", db_url, "--format", "json").stdout)[0]
    assert [f["source"] for f in status_json["failing_feeds"]] == ["broken"]
    errors = veille("errors", "--db", db_url, "--format", "jsonl")
    rows = [json.loads(line) for line in errors.stdout.splitlines()]
    assert sorted(r["url"].removeprefix(base) for r in rows) == ["/broken/a1", "/broken/a2"]
    assert all(r["source"] == "broken" and r["status"] == 500 for r in rows)
    assert all(r["error"] for r in rows)
    shown = veille("errors", "--db", db_url, env={"COLUMNS": "100"}).stdout.splitlines()
    assert len(shown) == 4 and all(len(line) <= 100 for line in shown)
    assert shown[0].endswith(("/broken/a1", "/broken/a2")) and "500" in shown[0]
    assert shown[1].startswith("    ") and "500" in shown[1]
    for args, expected in (
        (["--source", "BROKEN"], 2),
        (["--source", "mwn"], 0),
        (["--since", "2099-01-01"], 0),
        (["--since", "1h"], 2),
    ):
        out = veille("errors", "--db", db_url, "--format", "jsonl", *args)
        assert len(out.stdout.splitlines()) == expected, (args, out.stderr)


def test_an_interrupted_crawl_exits_130_and_is_recorded(
    server: FixtureServer, tmp_path: Path
) -> None:
    server.add("/slow/feed", Route(rss(server.base, "/slow/a1"), RSS, delay=20))
    path = sources_file(tmp_path, slow=f"{server.base}/slow/feed")
    db = tmp_path / "v.sqlite3"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler.cli",
            "crawl",
            "--db",
            str(db),
            "--sources",
            str(path),
            *FAST,
            "--set",
            "DOWNLOAD_TIMEOUT=5",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
    )
    deadline = time.monotonic() + 30
    while not server.requests_to("/slow/feed"):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err[-2000:])
    assert "Traceback" not in err
    assert out.startswith("crawl #1: interrupted")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM crawl_runs").fetchall() == [("interrupted",)]


BAD_INPUT = [
    (["query", "--db", "mysql://u:pw@h/x"], "SQLite and PostgreSQL only"),
    (["query", "--db", "postgresql://u:hunter2@host:notaport/x"], "not a database URL"),
    (["query", "--db", "postgresql://"], "no database name"),
    (["db", "upgrade", "--db", "/proc/self/nope/v.sqlite3"], "cannot create the database"),
    (["query", "--limit", "99999999999999999999"], "--limit"),
    (["query", "--since", "99999999d"], "too far back"),
    (["query", "--until", "9999-12-31"], None),
    (["serve", "--workers", "0"], "--workers"),
    (["serve", "--crawl-timeout", "-5"], "--crawl-timeout"),
    (["crawl", "--set", "DOWNLOAD_DELAY=abc"], "DOWNLOAD_DELAY"),
    (["crawl", "--set", "CONCURRENT_REQUESTS=-3"], "must not be negative"),
    (["extract", "http://[::1"], "not a usable URL"),
    (["extract", "http://h:99999/x"], "not a usable URL"),
    (["query", "--sector", "nonsense"], "veille sectors"),
    (["show", "0"], "ARTICLE_ID"),
    (["show", "12"], "no article with id 12"),
    (["query", "--db", "postgresql://127.0.0.1:5432/test?password=hunter2"], "no veille database"),
]


@pytest.mark.parametrize(("args", "said"), BAD_INPUT)
def test_bad_input_is_one_clear_line(args: list[str], said: str | None, tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite3"
    assert veille("db", "upgrade", "--db", str(db)).returncode == 0
    result = veille(*args, env={"VEILLE_DB": str(db), "HOME": str(tmp_path)})
    no_traceback(result)
    assert "hunter2" not in result.stdout + result.stderr
    if said is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2, result.stderr
    assert said in result.stderr
    message = [line for line in result.stderr.splitlines() if not line.startswith(" ")]
    assert message[-1].startswith(("veille: ", "veille ")), result.stderr


def test_an_unusable_home_is_said_plainly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "VEILLE_DB", "XDG_DATA_HOME")}
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "db", "upgrade"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**env, "HOME": "/proc/self/nowhere"},
    )
    no_traceback(result)
    assert result.returncode == 2 and "cannot create the database" in result.stderr


@pytest.mark.parametrize(
    "command", [["query", "--format", "jsonl"], ["query"], ["stats"], ["errors"], ["sectors"]]
)
def test_output_to_a_closed_pipe_ends_quietly(command: list[str], tmp_path: Path) -> None:
    db = tmp_path / "v.sqlite3"
    engine = open_database(str(db))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (name) VALUES ('s')"))
        for n in range(3000):
            conn.execute(
                text(
                    "INSERT INTO articles (url, source_id, title, text, fetched_at, content_hash,"
                    " agreement_types, sectors, parties, amounts, evidence, search_text)"
                    " VALUES (:u, 1, :t, '', '2025-11-03 08:00:00', 'h', '[]', '[]', '[]', '[]',"
                    " '[]', '')"
                ),
                {"u": f"https://s.ma/{n}", "t": f"Titre {n} " + "x" * 50},
            )
        conn.execute(
            text(
                "INSERT INTO url_failures (url, source_id, error, attempts, gone, last_attempt_at)"
                " VALUES ('https://s.ma/f', 1, 'HTTP 500', 1, 0, '2025-11-03 08:00:00')"
            )
        )
    engine.dispose()
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    writer = subprocess.run(
        [sys.executable, "-m", "crawler.cli", *command, "--db", str(db), "--limit", "3000"]
        if command[0] in ("query", "errors")
        else [sys.executable, "-m", "crawler.cli", *command, "--db", str(db)],
        cwd=ROOT,
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    reader.stdin.close()
    reader.wait()
    assert writer.stderr == ""
    assert writer.returncode in (0, 141)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # a password: PostgreSQL's
def test_a_password_in_the_query_string_is_never_shown(db_url: str) -> None:
    url = db_url + "&password=hunter2secret"  # trust authentication: accepted and unused
    assert veille("db", "upgrade", "--db", url).returncode == 0
    for command in (["stats"], ["status"], ["db", "upgrade"], ["query", "--sector", "x"]):
        result = veille(*command, "--db", url)
        assert "hunter2secret" not in result.stdout + result.stderr, command
    assert "password=***" in veille("stats", "--db", url).stdout


def test_progress_is_shown_on_a_terminal_only(server: FixtureServer, tmp_path: Path) -> None:
    import pty

    server.add("/slow/feed", Route(rss(server.base, "/slow/a1"), RSS, delay=2.5))
    path = sources_file(tmp_path, slow=f"{server.base}/slow/feed")
    outputs = {}
    for quiet in (False, True):
        leader, follower = pty.openpty()
        db = tmp_path / f"v{quiet}.sqlite3"
        args = ["crawl", "--db", str(db), "--sources", str(path), *FAST]
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", *args, *(["--quiet"] if quiet else [])],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=follower,
            env={**os.environ, "NO_PROXY": "127.0.0.1,localhost"},
        )
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        proc.wait(timeout=60)
        os.close(leader)
        outputs[quiet] = (seen.decode("utf-8", "replace"), proc.stdout.read().decode())
    loud, quiet_run = outputs[False], outputs[True]
    assert "requests " in loud[0] and "stored " in loud[0], loud
    assert "requests " not in quiet_run[0]
    assert "source " in loud[1] and "source " not in quiet_run[1]  # --quiet: no table
    assert quiet_run[1].startswith("crawl #1: ok")
    piped = veille("crawl", "--db", str(tmp_path / "p.sqlite3"), "--sources", str(path), *FAST)
    assert "requests " not in piped.stderr  # not a terminal: no progress


def test_a_password_never_goes_on_a_crawl_command_line() -> None:
    from types import SimpleNamespace

    import scheduler

    for url in (
        "postgresql://u:hunter2@127.0.0.1/test",
        "postgresql://u@127.0.0.1/test?password=hunter2",
        "postgresql://u@127.0.0.1/test",
    ):
        options = SimpleNamespace(db_url=url, sources_path="s.toml", settings=[])
        cmd, env = scheduler.Service._command(SimpleNamespace(options=options), "lematin")
        assert "hunter2" not in " ".join(cmd)
        assert env.get("VEILLE_DB") == url and "--db" not in cmd  # the URL never on a command line
