"""Whole crawls of the realistic mirror of Moroccan outlets (../shared/mirror), scored by its
own scorer: the world where a crawl is judged, next to the unit tests' fixture server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, veille

SHARED = ROOT.parent / "shared"
MIRROR = SHARED / "mirror"
CORPUS = SHARED / "corpus" / "dev"

if not (MIRROR / "mirror.py").exists() or not CORPUS.is_dir():
    if os.environ.get("CI"):
        raise RuntimeError(f"the mirror ({MIRROR}) and corpus ({CORPUS}) are required in CI")
    pytest.skip(
        f"the loopback mirror is not here ({MIRROR}): a clone outside the project",
        allow_module_level=True,
    )


@dataclass
class Mirror:
    """A running mirror and the files of one evaluation."""

    process: subprocess.Popen
    port: int
    out: Path
    db: str  # the database the crawls write

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def crawl(self) -> subprocess.CompletedProcess:
        """`veille crawl` of the mirror's sources, through the mirror as a proxy."""
        return veille(
            "crawl",
            "--db",
            self.db,
            "--sources",
            str(self.out / "sources.toml"),
            timeout=600,
            env={"http_proxy": self.proxy, "no_proxy": "", "NO_PROXY": ""},
        )

    def advance(self, n: int) -> None:
        """Reveal the next n articles (a test-tool admin call, not a crawl request)."""
        with urllib.request.urlopen(f"{self.proxy}/__admin/clock?advance={n}") as answer:
            answer.read()

    def score(self) -> dict:
        """Stop the mirror, export the stored rows, and score them."""
        self.process.terminate()
        self.process.wait(timeout=30)
        rows = veille("query", "--db", self.db, "--format", "jsonl", "--with-text", timeout=300)
        assert rows.returncode == 0, rows.stderr[-2000:]
        (self.out / "crawl.jsonl").write_text(rows.stdout, encoding="utf-8")
        scored = subprocess.run(
            [
                sys.executable,
                str(MIRROR / "score.py"),
                "--manifest",
                str(self.out / "manifest.json"),
                "--log",
                str(self.out / "requests.jsonl"),
                "--output",
                str(self.out / "crawl.jsonl"),
                "--json",
                str(self.out / "score.json"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert scored.returncode == 0, scored.stderr[-2000:]
        print(scored.stdout)  # the whole score, shown when a test fails
        return json.loads((self.out / "score.json").read_text())

    def phases(self) -> list[dict[str, int]]:
        """Article and feed requests of each crawl phase (split at the clock moves)."""
        phases = [{"article": 0, "feed": 0, "feed_304": 0}]
        for line in (self.out / "requests.jsonl").read_text().splitlines():
            record = json.loads(line)
            if record.get("kind") == "admin":
                phases.append({"article": 0, "feed": 0, "feed_304": 0})
            elif record.get("kind") in ("article", "amp"):
                phases[-1]["article"] += 1
            elif record.get("kind") in ("rss", "atom", "sitemap"):
                phases[-1]["feed"] += 1
                phases[-1]["feed_304"] += record.get("status") == 304
        return phases


@pytest.fixture
def mirror(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Mirror]:
    """The mirror of the development corpus, started with the test's flags."""
    flags: list[str] = request.param
    process = subprocess.Popen(
        [
            sys.executable,
            str(MIRROR / "mirror.py"),
            "--corpus",
            str(CORPUS),
            "--port",
            "0",
            "--log",
            str(tmp_path / "requests.jsonl"),
            "--manifest",
            str(tmp_path / "manifest.json"),
            "--write-sources",
            str(tmp_path / "sources.toml"),
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("ready "):
        process.kill()
        pytest.fail(
            f"the mirror did not start: {line} {process.stderr.read() if process.stderr else ''}"
        )
    yield Mirror(process, int(line.split()[1]), tmp_path, f"sqlite:///{tmp_path / 'v.sqlite3'}")
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.mark.parametrize("mirror", [["--feed-items", "200"]], indirect=True)
def test_clean_mirror_is_crawled_whole_and_politely(mirror: Mirror, db_url: str) -> None:
    mirror.db = db_url  # SQLite and PostgreSQL
    crawled = mirror.crawl()
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    score = mirror.score()
    assert score["coverage"]["ratio"] >= 0.99, score["coverage"]["missing"]
    assert score["duplicates"]["extra_rows"] == 0
    assert score["rows"]["unmapped"] == 0
    assert score["log"]["crawl_delay_violations"] == 0
    assert score["log"]["robots_violations"] == 0
    assert score["log"]["hostile_requests"] == 0
    sites = len(json.loads((mirror.out / "manifest.json").read_text())["sites"])
    assert score["log"]["robots_txt_requests"] == sites  # once per site: one crawler


@pytest.mark.parametrize(
    "mirror",
    [
        [
            "--feed-items",
            "200",
            "--faults",
            "--hostile",
            "--fail-rate",
            "0.2",
            "--fail-always",
            "2",
            "--seed",
            "11",
        ]
    ],
    indirect=True,
)
def test_faulty_and_hostile_mirror_loses_nothing_reachable(mirror: Mirror) -> None:
    crawled = mirror.crawl()
    assert crawled.returncode == 0, crawled.stderr[-3000:]
    score = mirror.score()
    assert score["coverage"]["ratio"] >= 0.98, score["coverage"]["missing"]
    assert score["duplicates"]["extra_rows"] == 0
    assert score["stored_unreachable"]["count"] == 0


@pytest.mark.parametrize("mirror", [["--feed-items", "200", "--clock", "70"]], indirect=True)
def test_incremental_crawls_ask_only_for_what_is_new(mirror: Mirror) -> None:
    for step in (None, 0, 20):  # first crawl; nothing new; 20 new articles
        if step is not None:
            mirror.advance(step)
        crawled = mirror.crawl()
        assert crawled.returncode == 0, crawled.stderr[-3000:]
    first, repeat, third = mirror.phases()
    assert first["article"] >= 70
    assert repeat["article"] == 0
    assert repeat["feed"] == first["feed"] and repeat["feed_304"] == repeat["feed"]
    assert third["article"] == 20
    score = mirror.score()
    assert score["duplicates"]["extra_rows"] == 0
    assert score["coverage"]["ratio"] >= 0.99, score["coverage"]["missing"]
