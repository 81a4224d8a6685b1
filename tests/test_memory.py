"""What a crawl keeps in memory stays bounded however many articles it reads (issue 18): the
memoised URL and word functions, SQLite's prepared statements, and the heap pages glibc
would keep after each page is freed (crawler/memory.py)."""

from __future__ import annotations

import ctypes
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import pytest
from scrapy import signals
from scrapy.signalmanager import SignalManager

import crawler.memory
from crawler.core.detection.text import fold_word as detection_fold_word
from crawler.core.organisations import fold_name
from crawler.core.urls import _site_of_host, canonicalize, site_of
from crawler.db.scratch import scratch_database
from crawler.memory import EVERY_ITEMS, ReleaseFreeMemory
from crawler.scrapy_setup import scrapy_settings
from storage.db import make_engine
from storage.search import UNMARKED, bare
from storage.search import fold_word as search_fold_word

CAP = 4096  # the most any of these caches may hold


def sqlite_memory_used() -> int:
    """Bytes SQLite has allocated in this process (every connection), or skip the test."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        if "libsqlite3" in line:
            lib = ctypes.CDLL(line.split()[-1])
            lib.sqlite3_memory_used.restype = ctypes.c_int64
            return lib.sqlite3_memory_used()
    pytest.skip("the sqlite3 module is not linked with a shared libsqlite3")


def test_canonicalize_remembers_a_bounded_number_of_urls() -> None:
    urls = [f"https://www.example.ma/economie/article-{i}/?utm_source=x" for i in range(3 * CAP)]
    assert [canonicalize(u) for u in urls][
        -1
    ] == f"https://www.example.ma/economie/article-{3 * CAP - 1}"
    assert canonicalize.cache_info().currsize <= CAP


def test_site_of_remembers_hosts_not_articles() -> None:
    _site_of_host.cache_clear()
    for i in range(3000):
        assert site_of(f"https://fr.le360.ma/economie/article-{i}") == "le360.ma"
    assert site_of("https://www.leseco.ma/a") == "leseco.ma"
    assert _site_of_host.cache_info().currsize == 2


@pytest.mark.parametrize("fold", [detection_fold_word, search_fold_word, fold_name])
def test_word_caches_stay_small_over_a_large_vocabulary(fold) -> None:
    words = [f"mot{i}é" for i in range(3 * CAP)]
    folded = [fold(w) for w in words]
    assert folded[-1] == fold.__wrapped__(words[-1])
    assert fold.cache_info().currsize <= CAP


def test_the_search_fold_s_character_table_stays_small_over_every_character() -> None:
    """A page may hold any of Unicode's characters: the table of those met stays bounded, and
    a character met after it is full is folded the same."""
    text = "".join(chr(c) for c in range(0x300, 0x300 + 3 * 8192))  # marks, Greek, Arabic...
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    assert bare(text) == "".join(
        c for c in decomposed if not unicodedata.combining(c) and c != "\u0640"
    )
    assert len(UNMARKED) <= 8192
    # marks first met once the table is full (past the text above), and a tatweel
    assert bare("e\ufe20\U0001d167\u0640") == "e"
    assert len(UNMARKED) <= 8192


def in_lists(conn: sqlite3.Connection, lengths: range) -> None:
    """One query per length of IN list: each is a prepared statement of its own."""
    for n in lengths:
        marks = ",".join("?" * n)
        conn.execute(f"SELECT name FROM t WHERE name IN ({marks})", [str(i) for i in range(n)])


def test_prepared_statements_of_a_crawl_database_stay_bounded(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        raw.execute("CREATE TABLE t (name TEXT)")
        before = sqlite_memory_used()
        in_lists(raw, range(300, 500))  # 200 statements of 20-60 KB: 8 MB if 128 were kept
        grown = sqlite_memory_used() - before
    engine.dispose()
    assert grown < 3 * 2**20


def test_prepared_statements_of_the_scratch_database_stay_bounded() -> None:
    db = scratch_database()
    db.execute("CREATE TABLE t (name TEXT)")
    before = sqlite_memory_used()
    in_lists(db, range(300, 500))
    assert sqlite_memory_used() - before < 2**20
    db.close()


FRAGMENT = """
from pathlib import Path
from crawler.memory import release_free_memory

def resident_kib():
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0])

# 40 MB of page-sized buffers in the heap, each followed by a small one that stays
pages = [(bytearray(100_000), bytearray(1_000)) for _ in range(400)]
kept = [small for _, small in pages]
del pages  # free, but the heap cannot shrink past the small ones
held = resident_kib()
release_free_memory()
print(held - resident_kib())
"""


def test_releasing_free_memory_gives_heap_holes_back() -> None:
    if crawler.memory._malloc_trim() is None:
        pytest.skip("no glibc malloc_trim here")
    # in a fresh process: this one's heap has holes of earlier tests the buffers would fill
    run = subprocess.run(
        [sys.executable, "-c", FRAGMENT], capture_output=True, text=True, check=True
    )
    assert int(run.stdout) > 20_000  # KiB given back of the 40 MB freed


def test_free_memory_is_released_every_batch_of_articles(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(crawler.memory, "release_free_memory", lambda: calls.append(1))
    crawl = SimpleNamespace(signals=SignalManager())
    extension = ReleaseFreeMemory.from_crawler(crawl)  # Scrapy holds it; signals are weak
    for n in range(2 * EVERY_ITEMS + 10):  # stored, dropped or failed: each counts
        signal = (signals.item_scraped, signals.item_dropped, signals.item_error)[n % 3]
        crawl.signals.send_catch_log(signal, item=None, response=None, spider=None)
    assert len(calls) == 2
    assert extension.seen == 2 * EVERY_ITEMS + 10


def test_the_crawl_settings_release_free_memory() -> None:
    assert "crawler.memory.ReleaseFreeMemory" in scrapy_settings({}).getdict("EXTENSIONS")
